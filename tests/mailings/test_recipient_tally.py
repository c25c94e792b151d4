"""Drives' rows by status: PostgreSQL's ledger (kept by triggers) always sums to a direct
count; SQLite, keeping no ledger, counts directly."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from contacts.services.erasure import contact_erase
from mailings.models import Mailing, Recipient, RecipientTally
from mailings.selectors import recipient_counts
from mailings.services import (
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_start,
    mailings_sweep,
    recipient_settle_unknown,
)
from mailings.services.drive import mailing_send_again
from mailings.services.tally import recipient_tally_compact
from mailings.services.unsubscribe import unsubscribe_confirm
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain

pytestmark = pytest.mark.usefixtures("fast_sending")


def direct(mailing_ids) -> dict[int, dict[str, int]]:
    counts = {pk: dict.fromkeys(Recipient.Status.values, 0) for pk in mailing_ids}
    for mailing_id, status, n in (
        Recipient.objects.filter(mailing_id__in=mailing_ids)
        .order_by()
        .values_list("mailing_id", "status")
        .annotate(n=Count("pk"))
    ):
        counts[mailing_id][status] = n
    return counts


def assert_tally_right(*drives: Mailing) -> None:
    ids = [drive.pk for drive in drives]
    assert recipient_counts(mailing_ids=ids) == direct(ids)


@pytest.fixture
def supporters(school_a):
    return ConsentedContactFactory.create_batch(10, school=school_a)


def test_the_tally_follows_a_drive_through_its_whole_life(
    make_drive, volunteer, organiser, supporters
):
    first = mailing_start(actor=volunteer, mailing=make_drive(name="First"))
    second = mailing_start(actor=volunteer, mailing=make_drive(name="Second"))
    assert recipient_counts(mailing_ids=[first.pk])[first.pk]["queued"] == 10
    assert_tally_right(first, second)

    drain(first)  # claims, sends and settles every batch
    assert recipient_counts(mailing_ids=[first.pk])[first.pk]["sent"] == 10
    assert_tally_right(first, second)

    mailing_pause(actor=volunteer, mailing=second)
    mailing_resume(actor=volunteer, mailing=second)
    # A crash mid-send: rows left "sending" past their lease become unknown.
    Recipient.objects.filter(mailing=second, batch=0).update(
        status=Recipient.Status.SENDING, lease_until=timezone.now() - timedelta(minutes=5)
    )
    mailings_sweep()
    assert_tally_right(first, second)
    unknown = Recipient.objects.filter(mailing=second, status=Recipient.Status.UNKNOWN)
    assert unknown.count() == 3

    # An ESP event proves one was sent; reconciliation proves another never was.
    recipient_settle_unknown(recipient=unknown.first(), message_id="<m1@esp>")
    unknown.filter(pk=unknown.last().pk).update(esp_check=Recipient.EspCheck.NOT_SENT)
    mailing_send_again(actor=organiser, mailing=second)
    assert_tally_right(first, second)

    # A supporter unsubscribes (their queued rows are skipped), another is erased.
    queued = Recipient.objects.filter(mailing=second, status=Recipient.Status.QUEUED)
    unsubscribe_confirm(recipient=queued.first(), one_click=True)
    contact_erase(contact=queued.last().contact, actor=organiser)
    assert_tally_right(first, second)
    assert recipient_counts(mailing_ids=[second.pk])[second.pk]["skipped"] >= 1

    mailing_cancel(actor=volunteer, mailing=second)
    assert_tally_right(first, second)
    assert recipient_counts(mailing_ids=[second.pk])[second.pk]["cancelled"] >= 7

    Mailing.objects.filter(pk=first.pk).delete()
    assert_tally_right(first, second)
    assert sum(recipient_counts(mailing_ids=[first.pk])[first.pk].values()) == 0


def test_any_statement_is_counted_even_raw_sql(make_drive, volunteer, supporters):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    table = Recipient._meta.db_table

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = 'failed' WHERE mailing_id = %s AND batch = 1",  # noqa: S608
            [drive.pk],
        )
        cursor.execute(f"DELETE FROM {table} WHERE mailing_id = %s AND batch = 2", [drive.pk])  # noqa: S608

    assert_tally_right(drive)
    assert recipient_counts(mailing_ids=[drive.pk])[drive.pk] | {} == {
        **dict.fromkeys(Recipient.Status.values, 0),
        "queued": 4,
        "failed": 3,
    }


def test_folding_up_the_ledger_keeps_every_sum_and_drops_the_zeros(
    make_drive, volunteer, supporters
):
    kept = mailing_start(actor=volunteer, mailing=make_drive(name="Kept"))
    drain(kept)
    gone = mailing_start(actor=volunteer, mailing=make_drive(name="Gone"))
    gone_id = gone.pk
    Mailing.objects.filter(pk=gone_id).delete()
    before = recipient_counts(mailing_ids=[kept.pk, gone_id])
    lines = RecipientTally.objects.count()

    folded = recipient_tally_compact()

    assert recipient_counts(mailing_ids=[kept.pk, gone_id]) == before
    assert RecipientTally.objects.count() == lines - folded
    if connection.vendor == "postgresql":
        # One line per drive and status left: the deleted drive's sum to nothing.
        assert list(RecipientTally.objects.values_list("mailing_id", "status", "n")) == [
            (kept.pk, "sent", 10)
        ]
    else:
        assert lines == folded == 0
    assert recipient_tally_compact() == 0


def test_the_sweeper_folds_the_ledger(make_drive, volunteer, supporters):
    drain(mailing_start(actor=volunteer, mailing=make_drive()))
    lines = RecipientTally.objects.count()

    folded = mailings_sweep()["tally_lines_folded"]

    if connection.vendor == "postgresql":
        assert lines > 1 and folded == lines - 1
        assert RecipientTally.objects.count() == 1
    else:
        assert lines == folded == 0


def test_the_ledger_triggers_are_in_a_migrated_postgresql_database_only(db):
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'mailings_recipient'::regclass"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'mailings_recipient'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {name for (name,) in cursor.fetchall()}
    ledger = {f"mailings_recipient_tally_{kind}" for kind in ("insert", "update", "delete")}
    if connection.vendor == "postgresql":
        assert ledger <= names
    else:
        assert not ledger & names


def test_the_tally_follows_a_big_drive_listed_in_steps_and_a_step_rolled_back(
    make_drive, volunteer, supporters, monkeypatch
):
    from mailings.services import mailing_snapshot_continue
    from mailings.services import snapshot as snapshot_services

    monkeypatch.setattr(snapshot_services, "SNAPSHOT_AHEAD_ROWS", 4)
    monkeypatch.setattr(snapshot_services, "SNAPSHOT_STEP_ROWS", 4)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    assert_tally_right(drive)
    real_bound = snapshot_services.listing_bound

    def cancelled_meanwhile(**kwargs):
        # The drive is cancelled while a step lists: the step's rows are rolled back.
        Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.CANCELLED)
        return real_bound(**kwargs)

    monkeypatch.setattr(snapshot_services, "listing_bound", cancelled_meanwhile)
    assert mailing_snapshot_continue(mailing_id=drive.pk) == 0
    assert Recipient.objects.filter(mailing=drive).count() == 3
    assert_tally_right(drive)

    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.SENDING)
    monkeypatch.setattr(snapshot_services, "listing_bound", real_bound)
    while mailing_snapshot_continue(mailing_id=drive.pk):
        assert_tally_right(drive)
    drain(drive)
    assert Recipient.objects.filter(mailing=drive).count() == 10
    assert_tally_right(drive)
