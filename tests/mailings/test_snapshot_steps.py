"""A big drive lists its first batch when it starts, sends it at once, and lists the
rest in steps behind it (mailings/services/snapshot.py): nobody is listed twice or left
out, and the drive cannot finish, nor be left unfinished, while it is listing."""

import pytest
from django.utils import timezone

import mailings.tasks
from contacts.models import ConsentRecord, Contact
from contacts.services import consent_withdraw
from mailings.models import Mailing, Recipient
from mailings.services import (
    mailing_batch_send,
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_snapshot_continue,
    mailing_start,
    mailings_sweep,
)
from mailings.services import snapshot as snapshot_services
from tests.factories import ConsentedContactFactory, ContactFactory
from tests.mailings.conftest import sent_to

pytestmark = pytest.mark.usefixtures("fast_sending")  # batches of 3


@pytest.fixture
def steps(monkeypatch):
    """Drives over 4 mailable supporters list ahead, 5 supporters per step."""
    monkeypatch.setattr(snapshot_services, "SNAPSHOT_AHEAD_ROWS", 4)
    monkeypatch.setattr(snapshot_services, "SNAPSHOT_STEP_ROWS", 5)


@pytest.fixture
def queue(monkeypatch):
    """What would be queued for the consumers, in order, instead of queueing it."""
    queued = []
    monkeypatch.setattr(mailings.tasks, "mailing_batch_task", lambda m, b: queued.append(("b", b)))
    monkeypatch.setattr(mailings.tasks, "mailing_snapshot_task", lambda m: queued.append(("list",)))
    return queued


@pytest.fixture
def audience(school_a):
    """12 mailable supporters with 3 who may not be emailed among them (no consent)."""
    people = []
    for n in range(15):
        if n % 5 == 2:
            ContactFactory(school=school_a, district=school_a.district)
        else:
            people.append(ConsentedContactFactory(school=school_a))
    return people


def _list_all(mailing, capture) -> int:
    steps = 0
    mailing.refresh_from_db()
    while mailing.is_listing:
        with capture(execute=True):
            mailing_snapshot_continue(mailing_id=mailing.pk)
        mailing.refresh_from_db()
        steps += 1
    return steps


def _send(mailing, batches) -> None:
    for batch in batches:
        mailing_batch_send(mailing_id=mailing.pk, batch=batch)


def test_a_big_drive_lists_and_queues_its_first_batch_then_the_listing(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        drive = mailing_start(actor=volunteer, mailing=make_drive())

    assert drive.status == Mailing.Status.SENDING
    assert drive.is_listing
    assert drive.recipient_count == 3
    assert drive.batch_count == 1
    assert drive.audience_size == 12
    assert drive.snapshot_after == audience[2].pk
    assert queue == [("b", 0), ("list",)]


def test_listing_in_steps_lists_every_mailable_supporter_once_in_numbered_batches(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    assert _list_all(drive, django_capture_on_commit_callbacks) == 2  # 5, then the last 4

    rows = list(Recipient.objects.filter(mailing=drive).order_by("contact_id"))
    assert [r.contact_id for r in rows] == [c.pk for c in audience]
    assert drive.recipient_count == 12
    # 3 + 5 + 4 supporters: batches of 3 within each step, numbered on from the last.
    assert [r.batch for r in rows] == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4]
    assert drive.batch_count == 5
    assert queue == [("b", 1), ("b", 2), ("list",), ("b", 3), ("b", 4)]


def test_a_listing_drive_is_not_finished_when_its_first_batch_is_sent(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    _send(drive, [0])
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING

    _list_all(drive, django_capture_on_commit_callbacks)  # the last step finishes it if done
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING
    _send(drive, range(1, drive.batch_count))
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.DONE
    assert sent_to() == sorted(c.email for c in audience)


def test_the_last_listing_step_finishes_a_drive_whose_batches_all_ended_meanwhile(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    with django_capture_on_commit_callbacks(execute=True):
        mailing_snapshot_continue(mailing_id=drive.pk)
    drive.refresh_from_db()
    _send(drive, range(drive.batch_count))
    # Everyone listed so far is sent; the last step lists the rest.
    consent_withdraw(
        contacts=Contact.objects.filter(pk__in=[c.pk for c in audience[8:]]),
        how=ConsentRecord.WithdrawnHow.REQUEST,
    )

    _list_all(drive, django_capture_on_commit_callbacks)

    drive.refresh_from_db()
    assert drive.recipient_count == 8
    assert drive.status == Mailing.Status.DONE


def test_a_cancelled_drive_lists_nobody_more(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_cancel(actor=volunteer, mailing=drive)

    with django_capture_on_commit_callbacks(execute=True):
        assert mailing_snapshot_continue(mailing_id=drive.pk) == 0

    drive.refresh_from_db()
    assert not drive.is_listing
    assert drive.status == Mailing.Status.CANCELLED
    assert Recipient.objects.filter(mailing=drive).count() == 3
    assert not Recipient.objects.filter(mailing=drive, status=Recipient.Status.QUEUED).exists()


def test_a_paused_drive_goes_on_listing_and_its_resume_sends_everyone(
    steps, queue, audience, make_drive, volunteer, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_pause(actor=volunteer, mailing=drive)
    queue.clear()

    _list_all(drive, django_capture_on_commit_callbacks)
    assert ("b", 1) not in queue  # nothing is sent while paused
    assert queue == [("list",)]

    with django_capture_on_commit_callbacks(execute=True):
        mailing_resume(actor=volunteer, mailing=drive)
    assert queue[1:] == [("b", b) for b in range(5)]
    _send(drive, range(5))
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.DONE
    assert sent_to() == sorted(c.email for c in audience)


def test_listing_tasks_queued_twice_list_everyone_once(
    steps, queue, audience, make_drive, volunteer
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    # The sweeper queued the listing again while the first task was still queued: each
    # run lists on from where the drive's listing stands, and a run after the end
    # lists nobody.
    runs = [mailing_snapshot_continue(mailing_id=drive.pk) for _ in range(4)]

    assert runs == [5, 4, 0, 0]
    drive.refresh_from_db()
    assert not drive.is_listing
    rows = Recipient.objects.filter(mailing=drive)
    assert sorted(rows.values_list("contact_id", flat=True)) == [c.pk for c in audience]
    assert drive.recipient_count == 12
    assert sorted(set(rows.values_list("batch", flat=True))) == list(range(drive.batch_count))


def test_the_sweeper_queues_again_the_listing_of_a_stalled_drive(
    steps, queue, audience, make_drive, volunteer, settings, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    _send(drive, [0])  # the listing task was lost with its consumer
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.MAILING_STALL_SECONDS + 1)
    Mailing.objects.filter(pk=drive.pk).update(progress_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        mailings_sweep()

    assert ("list",) in queue
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING


def test_a_small_drive_is_listed_whole_when_it_starts(
    steps, queue, school_a, make_drive, volunteer, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(4, school=school_a)

    with django_capture_on_commit_callbacks(execute=True):
        drive = mailing_start(actor=volunteer, mailing=make_drive())

    assert not drive.is_listing
    assert drive.recipient_count == 4
    assert queue == [("b", 0), ("b", 1)]


def test_the_live_page_says_the_rest_of_the_audience_is_being_listed(
    steps, queue, audience, make_drive, volunteer, client_for, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    client = client_for(volunteer)

    listing = client.get(f"/drives/{drive.pk}/").content.decode()
    _list_all(drive, django_capture_on_commit_callbacks)
    listed = client.get(f"/drives/{drive.pk}/").content.decode()

    assert "Listing the rest of the audience (about 12 supporters)" in listing
    assert "Listing the rest" not in listed
