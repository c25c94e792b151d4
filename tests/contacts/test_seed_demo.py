"""seed_demo: a deterministic, fictional, union-shaped membership; refused where unsafe."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import F

from campaign.models import AuditEvent, Campaign, TeamMember
from campaign.roles import Role
from contacts.demo import DISTRICTS, ascii_fold, plan_districts, stream
from contacts.models import ConsentRecord, Contact, District, School, Suppression, Tag, name_key
from contacts.services import suppression_add
from contacts.suppression import address_hash
from tests.factories import ContactFactory

SMALL = {"contacts": 300, "schools": 20, "districts": 4}
RESERVED_DOMAINS = ("@example.org", "@example.com", "@example.net")


def seed_demo(*args: str, **options) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, **{**SMALL, **options})
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Contact.objects.order_by("pk").values_list(
            "first_name", "last_name", "email", "mobile", "school__urn", "district__name", "role"
        )
    )


def wipe() -> None:
    Contact.objects.all().delete()
    School.objects.all().delete()
    District.objects.all().delete()


@pytest.fixture
def seeded(db) -> str:
    return seed_demo()


@pytest.mark.django_db
def test_creates_exactly_the_requested_numbers(seeded):
    assert District.objects.count() == 4
    assert School.objects.count() == 20
    assert Contact.objects.count() == 300
    assert Campaign.objects.filter(is_active=True).count() == 1
    assert set(Tag.objects.values_list("name", flat=True)) == {
        "caucus",
        "phone-banker",
        "new-starter",
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.SEED)
    assert event.actor is None
    assert event.counts["contacts"] == 300
    assert event.counts["consent_records"] == ConsentRecord.objects.count()
    assert event.counts["tag_links"] == Contact.tags.through.objects.count() > 0
    assert "Seeded 300 supporters in 20 schools and 4 districts" in seeded


@pytest.mark.django_db
def test_every_district_has_a_school_and_schools_have_unique_urns_and_keys(seeded):
    assert not District.objects.filter(schools=None).exists()
    urns = list(School.objects.values_list("urn", flat=True))
    assert len(set(urns)) == 20
    assert all(re.fullmatch(r"\d{6}", urn) for urn in urns)
    for school in School.objects.all():
        assert school.name_key == name_key(school.name)


@pytest.mark.django_db
def test_same_seed_gives_the_same_data_and_another_seed_different_data():
    seed_demo()
    first = snapshot()
    schools = list(School.objects.order_by("pk").values_list("name", "urn"))
    wipe()
    seed_demo()
    assert snapshot() == first
    assert list(School.objects.order_by("pk").values_list("name", "urn")) == schools
    wipe()
    seed_demo(seed=2)
    assert [row[2] for row in snapshot()] != [row[2] for row in first]


@pytest.mark.django_db
def test_names_are_diverse_with_accents_and_apostrophes(seeded):
    names = [c.full_name for c in Contact.objects.all()]
    assert any(not name.isascii() for name in names)
    assert any("'" in name for name in names)
    assert len(set(names)) > 200


@pytest.mark.django_db
def test_emails_are_unique_lowercase_and_fictional(seeded):
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(set(emails)) == len(emails) == 300
    for email in emails:
        assert email.endswith(RESERVED_DOMAINS)
        assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+\.\d+@example\.(org|com|net)", email), email


@pytest.mark.django_db
def test_every_contact_carries_its_address_hash_so_suppression_applies(seeded):
    for email, email_hash in Contact.objects.values_list("email", "email_hash"):
        assert email_hash == address_hash(email)
    consented = Contact.objects.mailable().first()
    suppression_add(email=consented.email, reason=Suppression.Reason.COMPLAINT)
    assert not Contact.objects.mailable().filter(pk=consented.pk).exists()


@pytest.mark.django_db
def test_mobiles_are_only_in_ofcoms_drama_range(seeded):
    mobiles = [m for m in Contact.objects.values_list("mobile", flat=True) if m]
    assert all(re.fullmatch(r"\+447700900\d{3}", m) for m in mobiles)
    assert 0.6 < len(mobiles) / 300 < 0.8


@pytest.mark.django_db
def test_a_contacts_district_is_its_schools_district(seeded):
    assert not Contact.objects.filter(district=None).exists()
    with_school = Contact.objects.exclude(school=None)
    assert with_school.count() > 250
    assert not with_school.exclude(district_id=F("school__district_id")).exists()


@pytest.mark.django_db
def test_consent_mix_is_as_designed(seeded):
    mailable = Contact.objects.mailable()
    assert 0.78 < mailable.count() / 300 < 0.92
    withdrawn = ConsentRecord.objects.exclude(withdrawn_at=None)
    assert withdrawn.exists()
    assert not withdrawn.filter(withdrawn_how="").exists()
    assert not mailable.filter(consents__in=withdrawn).exists()
    assert Contact.objects.filter(consents=None).exists()
    # As consent_withdraw does: a withdrawn address is suppressed for good.
    withdrawn_emails = Contact.objects.filter(consents__in=withdrawn).values_list(
        "email", flat=True
    )
    hashes = set(Suppression.objects.values_list("address_hash", flat=True))
    assert {address_hash(e) for e in withdrawn_emails} == hashes
    record = ConsentRecord.objects.filter(withdrawn_at=None).first()
    assert record.wording and record.version and record.source
    assert record.method in {"web_form", "paper_form", "in_person"}


@pytest.mark.django_db
def test_if_empty_does_nothing_when_supporters_exist():
    ContactFactory()
    out = seed_demo("--if-empty")
    assert "already exist" in out
    assert Contact.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SEED).exists()


@pytest.mark.django_db
def test_refuses_a_database_with_supporters_without_if_empty():
    ContactFactory()
    with pytest.raises(CommandError, match="seed_demo only fills an empty database"):
        seed_demo()
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_demo_logins_are_refused_unless_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed_demo("--users")
    assert not Contact.objects.exists()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_demo_logins_cover_every_role_in_debug(settings):
    settings.DEBUG = True
    out = seed_demo("--users")
    first, second = District.objects.order_by("pk")[:2]
    members = {m.user.username: m for m in TeamMember.objects.select_related("user")}
    assert set(members) == {"organiser", "volunteer", "lead_a", "lead_b"}
    assert members["organiser"].role == Role.ORGANISER
    assert members["volunteer"].role == Role.VOLUNTEER
    assert members["lead_a"].role == Role.LEAD
    assert members["lead_b"].role == Role.LEAD
    assert set(members["volunteer"].districts.all()) == {first, second}
    assert list(members["lead_a"].districts.all()) == [first]
    assert list(members["lead_b"].districts.all()) == [second]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    for user in get_user_model().objects.all():
        assert user.check_password("turnout-demo")
    assert "lead_b" in out and "turnout-demo" in out
    assert AuditEvent.objects.get(action=AuditEvent.Action.SEED).counts["users"] == 5


@pytest.mark.django_db
def test_output_off_a_terminal_is_plain_lines(seeded):
    assert "\x1b[" not in seeded
    assert "contacts: 300 written" in seeded


def test_district_names_stay_unique_beyond_the_list():
    plans = plan_districts(stream(1, "districts"), len(DISTRICTS) * 2 + 5)
    names = [p.name.casefold() for p in plans]
    assert len(set(names)) == len(names)
    assert all(p.region for p in plans)


def test_ascii_fold_keeps_emails_readable():
    assert ascii_fold("Ó Súilleabháin") == "osuilleabhain"
    assert ascii_fold("O'Neill") == "oneill"
    assert ascii_fold("Łukasz") == "lukasz"
    assert ascii_fold("王") == "wang"


@pytest.mark.django_db
def test_demo_logins_need_two_districts(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="two districts"):
        seed_demo("--users", districts=1)
    assert not District.objects.exists()
