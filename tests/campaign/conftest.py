"""The production-topology test needs PostgreSQL and Redis: it runs in `.ci/run`'s
PostgreSQL + Redis pass and is deselected on the embedded default (SQLite, SqliteHuey),
where there is no Redis for two consumers to share. Deselected, not skipped: the run
says so at its end."""

from __future__ import annotations

from django.conf import settings

DESELECTED: list = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "topology: needs DATABASE_URL on PostgreSQL and REDIS_URL (CI's second pass)"
    )


def topology_services() -> bool:
    engine = settings.DATABASES["default"]["ENGINE"]
    return engine.endswith("postgresql") and bool(settings.REDIS_URL)


def pytest_collection_modifyitems(config, items):
    if topology_services():
        return
    keep = [item for item in items if item.get_closest_marker("topology") is None]
    DESELECTED[:] = [item for item in items if item.get_closest_marker("topology") is not None]
    if DESELECTED:
        config.hook.pytest_deselected(items=DESELECTED)
        items[:] = keep


def pytest_terminal_summary(terminalreporter):
    if DESELECTED:
        terminalreporter.write_line(
            f"{len(DESELECTED)} production-topology test deselected: it runs on PostgreSQL "
            "+ Redis (DATABASE_URL=postgres://…, REDIS_URL=redis://…), as .ci/run's second pass does."
        )
