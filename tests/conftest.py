"""Fixed people and places every test can name.

District A and District B each have a school with supporters; the organiser sees
everything, the volunteer is assigned District A, each lead leads one district.
"""

from pathlib import Path

import pytest
from django.conf import settings
from xdist.scheduler import LoadScopeScheduling

from campaign.models import TeamMember
from campaign.roles import Role
from tests.factories import (
    CampaignFactory,
    ConsentedContactFactory,
    ContactFactory,
    DistrictFactory,
    SchoolFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"


class _BrowserTestsTogether(LoadScopeScheduling):
    """Every browser test in one work unit, every other test a unit of its own."""

    def _split_scope(self, nodeid: str) -> str:
        return "tests/browser" if nodeid.startswith("tests/browser/") else nodeid


def pytest_xdist_make_scheduler(config, log):
    """With ``-n`` (``--dist loadgroup``), the browser tests run back to back on one
    worker: their Playwright fixtures live for the package (see tests/browser/conftest.py),
    so spreading them would start a browser per worker and run two live servers' queue
    consumers at once. xdist's own loadgroup reads an ``xdist_group`` mark by rewriting
    node ids, which pytest 9 no longer honours; this scheduler groups by path instead."""
    if config.getvalue("dist") == "loadgroup":
        return _BrowserTestsTogether(config, log)
    return None


def pytest_collection_modifyitems(config, items):
    deselect_topology_without_services(config, items)


def _team_user(username: str, role: Role, districts=(), all_districts=False, **extra):
    user = UserFactory(username=username, is_staff=True, **extra)
    member = TeamMember.objects.create(user=user, role=role, all_districts=all_districts)
    member.districts.set(districts)
    return user


@pytest.fixture
def district_a(db):
    return DistrictFactory(name="District A")


@pytest.fixture
def district_b(db):
    return DistrictFactory(name="District B")


@pytest.fixture
def school_a(district_a):
    return SchoolFactory(name="Alder Primary School", urn="100001", district=district_a)


@pytest.fixture
def school_b(district_b):
    return SchoolFactory(name="Birch Academy", urn="100002", district=district_b)


@pytest.fixture
def contact_a(school_a):
    return ConsentedContactFactory(
        first_name="Siân", last_name="O'Neill", email="sian.oneill@example.org", school=school_a
    )


@pytest.fixture
def contact_b(school_b):
    return ConsentedContactFactory(
        first_name="Tomasz", last_name="Nowak", email="tomasz.nowak@example.org", school=school_b
    )


@pytest.fixture
def unconsented_contact_a(school_a):
    return ContactFactory(
        first_name="Aoife", last_name="Ní Bhriain", email="aoife@example.org", school=school_a
    )


@pytest.fixture
def organiser(db):
    return _team_user("organiser", Role.ORGANISER)


@pytest.fixture
def volunteer(district_a):
    return _team_user("volunteer", Role.VOLUNTEER, districts=[district_a])


@pytest.fixture
def lead_a(district_a):
    return _team_user("lead_a", Role.LEAD, districts=[district_a])


@pytest.fixture
def lead_b(district_b):
    return _team_user("lead_b", Role.LEAD, districts=[district_b])


@pytest.fixture
def campaign(db):
    return CampaignFactory()


@pytest.fixture
def client_for(client):
    """Log the test client in as a given user: ``client_for(lead_a)``."""

    def login(user):
        client.force_login(user)
        return client

    return login


# --- The production-topology test (tests/campaign/test_topology.py) -------------------
# It needs PostgreSQL and Redis: it runs in .ci/run's PostgreSQL + Redis pass and is
# deselected on the embedded default (SQLite, SqliteHuey), where there is no Redis for
# two consumers to share. Deselected, never skipped, and the run says so at its end
# (here, not in tests/campaign/, so the xdist controller, which collects nothing, says so).
TOPOLOGY_TEST = Path(__file__).resolve().parent / "campaign" / "test_topology.py"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "topology: needs DATABASE_URL on PostgreSQL and REDIS_URL (CI's second pass)"
    )


def topology_services() -> bool:
    engine = settings.DATABASES["default"]["ENGINE"]
    return engine.endswith("postgresql") and bool(settings.REDIS_URL)


def deselect_topology_without_services(config, items) -> None:
    if topology_services():
        return
    dropped = [item for item in items if item.get_closest_marker("topology") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.get_closest_marker("topology") is None]


def _topology_in_scope(config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == TOPOLOGY_TEST or path in TOPOLOGY_TEST.parents:
            return True
    return False


def pytest_terminal_summary(terminalreporter, config):
    if not topology_services() and _topology_in_scope(config):
        terminalreporter.write_line(
            "The production-topology test was deselected: it runs on PostgreSQL + Redis "
            "(DATABASE_URL=postgres://…, REDIS_URL=redis://…), as .ci/run's second pass does."
        )
