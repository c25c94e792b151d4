"""A big snapshot refreshes the recipient table's planner statistics on PostgreSQL
(SQLite's planner does not go astray without them, so nothing is queued there)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailings.services import mailing_start
from mailings.services import snapshot as snapshot_services
from mailings.tasks import recipient_statistics_task
from tests.factories import ConsentedContactFactory

pytestmark = pytest.mark.usefixtures("fast_sending")


def test_a_big_snapshot_queues_the_statistics_ahead_of_its_batches(
    make_drive, volunteer, school_a, monkeypatch, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(3, school=school_a)
    monkeypatch.setattr(snapshot_services, "STATISTICS_AFTER_ROWS", 3)

    with django_capture_on_commit_callbacks() as callbacks:
        mailing_start(actor=volunteer, mailing=make_drive())

    if connection.vendor == "postgresql":
        assert callbacks[0] is recipient_statistics_task
        assert len(callbacks) == 2  # then the batches
    else:
        assert recipient_statistics_task not in callbacks
        assert len(callbacks) == 1


def test_a_small_snapshot_queues_only_its_batches(
    make_drive, volunteer, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(3, school=school_a)

    with django_capture_on_commit_callbacks() as callbacks:
        mailing_start(actor=volunteer, mailing=make_drive())

    assert recipient_statistics_task not in callbacks
    assert len(callbacks) == 1


def test_the_refresh_gives_the_planner_the_drive_rows(make_drive, volunteer, school_a):
    ConsentedContactFactory.create_batch(5, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    assert drive.recipient_count == 5

    with CaptureQueriesContext(connection) as queries:
        snapshot_services.recipient_statistics_refresh()

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'mailings_recipient'")
            assert cursor.fetchone()[0] == 5
    else:
        assert len(queries) == 0
