"""Ending a drive leaves nothing queued; nobody is sent a message the ESP already
reported; the review list says how long it is; one unbuildable message fails alone."""

import json
import logging

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from mailings.models import Mailing, Recipient
from mailings.selectors import mailing_progress
from mailings.services import (
    mailing_batch_send,
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_start,
    mailings_sweep,
    recipients_requeue,
)
from mailings.services.tracking import tracking_event_record
from tests.factories import ConsentedContactFactory
from tests.mailings.backends import ScriptedBackend
from tests.mailings.conftest import drain, sent_to

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def scripted(settings):
    settings.EMAIL_BACKEND = "tests.mailings.backends.ScriptedBackend"
    ScriptedBackend.script = []
    yield ScriptedBackend.script
    ScriptedBackend.script = []


def esp_500():
    return AnymailAPIError("Internal server error", status_code=500)


def read_timeout():
    kind = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, requests.ReadTimeout), {})
    return kind("Error posting: read timed out")


def queued_or_sending(drive) -> int:
    counts = mailing_progress(mailing=drive)
    return counts["queued"] + counts["sending"]


# --- Fault 1: a cancelled drive kept rows "queued" forever ---------------------------


def test_cancelling_while_a_failing_call_is_in_flight_leaves_no_row_queued(
    make_drive, volunteer, school_a, scripted, settings
):
    settings.MAILING_BATCH_SIZE = 100
    ConsentedContactFactory.create_batch(250, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    def cancel_then_fail(addresses):
        # The organiser cancels while this call is at the ESP; the ESP then answers 500.
        mailing_cancel(actor=volunteer, mailing=drive)
        return esp_500()

    scripted.extend([cancel_then_fail] + [lambda addresses: esp_500()] * 10)
    drain(drive)
    assert drive.status == Mailing.Status.CANCELLED
    assert queued_or_sending(drive) == 0
    counts = mailing_progress(mailing=drive)
    assert counts["cancelled"] == 250 and counts["sent"] == 0
    released = Recipient.objects.filter(mailing=drive, attempts=1)
    assert released.count() > 0  # the in-flight call's rows, cancelled by the release
    assert set(released.values_list("status", flat=True)) == {"cancelled"}
    assert "ESP answered HTTP 500" in released.first().error
    assert mail.outbox == []


def test_a_cancel_during_total_esp_failure_leaves_zero_queued_rows_after_one_sweep(
    make_drive, volunteer, school_a, scripted, settings
):
    settings.MAILING_BATCH_SIZE = 20
    ConsentedContactFactory.create_batch(60, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    scripted.extend([lambda addresses: esp_500()] * 50)  # every call fails
    for batch in range(drive.batch_count):
        mailing_batch_send(mailing_id=drive.pk, batch=batch)
    assert mailing_progress(mailing=drive)["queued"] == 60  # held for their retries
    # The cancel lands while a retry's call is in flight (its rows are "sending"): the
    # race PostgreSQL allows between a release and the cancel's UPDATE.
    Recipient.objects.filter(mailing=drive, batch=1).update(
        status=Recipient.Status.SENDING,
        claim="in-flight",
        lease_until=timezone.now() + timezone.timedelta(seconds=60),
    )
    mailing_cancel(actor=None, mailing=drive, reason="The ballot has closed")
    Recipient.objects.filter(mailing=drive, claim="in-flight").update(
        status=Recipient.Status.QUEUED, lease_until=None
    )  # released as if the drive were still sending
    swept = mailings_sweep()
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.CANCELLED
    assert queued_or_sending(drive) == 0
    assert swept["stragglers"] == 20
    assert mailing_progress(mailing=drive)["cancelled"] == 60


def test_the_sweeper_reports_queued_rows_of_a_finished_drive_loudly(
    make_drive, volunteer, school_a, caplog
):
    ConsentedContactFactory.create_batch(4, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.CANCELLED)
    with caplog.at_level(logging.ERROR, logger="mailings.services.drive"):
        assert mailings_sweep()["stragglers"] == 4
    assert f"Drive {drive.pk} was cancelled with 4 rows still queued" in caplog.text
    assert mailings_sweep()["stragglers"] == 0


def test_a_paused_drive_holds_rows_released_by_a_transient_error_for_its_resume(
    make_drive, volunteer, school_a, scripted, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(3, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    def pause_then_fail(addresses):
        mailing_pause(actor=volunteer, mailing=drive)
        return esp_500()

    scripted.append(pause_then_fail)
    with django_capture_on_commit_callbacks() as callbacks:
        result = mailing_batch_send(mailing_id=drive.pk, batch=0)
    assert result.retry_in is None and callbacks == []  # no retry for a paused drive
    mailings_sweep()
    assert mailing_progress(mailing=drive)["queued"] == 3  # held, not cancelled
    mailing_resume(actor=volunteer, mailing=drive)
    drain(drive)
    assert drive.status == Mailing.Status.DONE and len(sent_to()) == 3


def test_a_send_again_racing_the_finish_reopens_the_drive_instead_of_stranding_rows(
    make_drive, volunteer, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(3, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    Recipient.objects.filter(mailing=drive).update(status=Recipient.Status.QUEUED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert mailings_sweep()["stragglers"] == 3
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING and len(callbacks) == 1


# --- Fault 2: "Send again" re-sent people whose delivery had since been proven ------


def delivered(row: Recipient, n: int) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(
        event_type="delivered",
        timestamp=timezone.now(),
        event_id=f"delivered-{row.pk}-{n}",
        message_id=f"<late-{row.pk}@mg.example>",
        recipient=row.email,
        metadata={"mailing_id": str(row.mailing_id), "recipient_id": str(row.pk)},
        esp_event={},
    )


def test_send_again_never_resends_rows_whose_delivery_was_proven_after_the_requeue(
    make_drive, volunteer, organiser, school_a, scripted, settings
):
    settings.MAILING_BATCH_SIZE = 50
    ConsentedContactFactory.create_batch(50, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    scripted.append(read_timeout())  # the ESP accepted them, but answered too late
    drain(drive)
    unknown = list(Recipient.objects.filter(mailing=drive, status=Recipient.Status.UNKNOWN))
    assert len(unknown) == 50 and mail.outbox == []
    # "Send again" while no consumer runs…
    assert recipients_requeue(actor=organiser, recipients=unknown) == 50
    # …then the ESP's signed "delivered" webhooks arrive; the rows are queued now.
    for n, row in enumerate(unknown):
        assert tracking_event_record(event=delivered(row, n), esp_name="Mailgun").stored
    assert mailing_progress(mailing=drive)["queued"] == 50
    drain(drive)  # a consumer starts
    assert mail.outbox == []  # no second copies
    rows = Recipient.objects.filter(mailing=drive)
    assert set(rows.values_list("status", "esp_check")) == {("sent", "sent")}
    assert all(r.esp_message_id.startswith("<late-") for r in rows)
    assert drive.status == Mailing.Status.DONE


def test_a_retry_is_checked_against_delivery_events_for_the_address_too(
    make_drive, volunteer, school_a, scripted
):
    ConsentedContactFactory.create_batch(3, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    scripted.append(esp_500())
    mailing_batch_send(mailing_id=drive.pk, batch=0)
    row = Recipient.objects.filter(mailing=drive).first()
    event = delivered(row, 0)
    event.metadata = {}  # matched by the message id + address only
    Recipient.objects.filter(pk=row.pk).update(esp_message_id=event.message_id)
    tracking_event_record(event=event, esp_name="Mailgun")
    drain(drive)
    assert row.email not in sent_to() and len(sent_to()) == 2
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT and "already reported" in row.error


# --- Fault 3: mailing_status --json silently capped "review" at 1,000 rows ----------


@pytest.fixture
def drive_with_unknown_rows(make_drive, volunteer, campaign):
    drive = make_drive()
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.DONE)
    Recipient.objects.bulk_create(
        Recipient(
            mailing=drive,
            email=f"unsure{i}@example.org",
            email_hash=f"h{i}",
            status=Recipient.Status.UNKNOWN,
            error="ESP did not answer in time; the message may have been accepted",
        )
        for i in range(1203)
    )
    return drive


def status_json(capsys, drive, *extra) -> dict:
    call_command("mailing_status", str(drive.pk), "--json", *extra)
    return json.loads(capsys.readouterr().out)


def test_mailing_status_review_gives_the_total_and_says_when_it_is_cut(
    capsys, drive_with_unknown_rows
):
    review = status_json(capsys, drive_with_unknown_rows)["review"]
    assert review["total"] == 1203
    assert len(review["rows"]) == 1000 and review["truncated"] is True
    assert review["next_offset"] == 1000


def test_mailing_status_review_pages_through_every_row_once(capsys, drive_with_unknown_rows):
    seen = []
    offset = 0
    while offset is not None:
        review = status_json(
            capsys, drive_with_unknown_rows, "--review-limit", "500", "--review-offset", str(offset)
        )["review"]
        seen += [row["id"] for row in review["rows"]]
        offset = review["next_offset"]
    assert len(seen) == len(set(seen)) == 1203
    assert review["truncated"] is False


def test_mailing_status_reports_the_three_reconciliation_figures(capsys, drive_with_unknown_rows):
    rows = Recipient.objects.filter(mailing=drive_with_unknown_rows).order_by("pk")
    Recipient.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[:3])).update(
        status=Recipient.Status.SENT, esp_check=Recipient.EspCheck.SENT
    )
    Recipient.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[3:10])).update(
        esp_check=Recipient.EspCheck.NOT_SENT
    )
    report = status_json(capsys, drive_with_unknown_rows)
    assert report["reconciliation"] == {
        "proven_sent": 3,
        "proven_not_sent": 7,
        "still_unknown": 1193,
    }
    assert report["review"]["total"] == 1200


# --- Issue 15: a newline in a supporter's name sank a whole batch -------------------

HOSTILE = "Eve\r\nBcc: attacker@evil.example"


@pytest.fixture
def thirteen_with_one_hostile(school_a, settings):
    settings.MAILING_BATCH_SIZE = 13
    eve = ConsentedContactFactory(school=school_a, first_name=HOSTILE)
    others = ConsentedContactFactory.create_batch(12, school=school_a)
    return eve, others


def test_a_crlf_in_a_name_fails_that_row_alone_and_the_batch_goes_on(
    make_drive, volunteer, thirteen_with_one_hostile, caplog
):
    eve, others = thirteen_with_one_hostile
    with caplog.at_level(logging.DEBUG):
        drive = mailing_start(
            actor=volunteer, mailing=make_drive(subject="{{ first_name }}, your ballot")
        )
        drain(drive)
    row = Recipient.objects.get(mailing=drive, contact=eve)
    assert row.status == Recipient.Status.FAILED
    assert "first name (first_name) contains a line break" in row.error
    assert "Eve" not in row.error and "attacker" not in row.error
    assert sent_to() == sorted(c.email for c in others)
    assert mailing_progress(mailing=drive)["sent"] == 12
    assert drive.status == Mailing.Status.DONE
    assert "attacker" not in caplog.text and "Eve" not in caplog.text
    for message in mail.outbox:
        for values in message.merge_data.values():
            assert "\n" not in values["first_name"] and "\r" not in values["first_name"]


def test_a_crlf_name_fails_alone_on_the_one_message_each_path_too(
    make_drive, volunteer, thirteen_with_one_hostile, settings
):
    eve, others = thirteen_with_one_hostile
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    drive = mailing_start(actor=volunteer, mailing=make_drive(subject="Hi {{ full_name }}"))
    drain(drive)
    assert Recipient.objects.get(mailing=drive, contact=eve).status == Recipient.Status.FAILED
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in others)
    assert all("\n" not in m.subject and "\r" not in m.subject for m in mail.outbox)


def test_a_line_break_in_a_name_used_only_in_the_body_still_sends(make_drive, volunteer, school_a):
    ConsentedContactFactory(school=school_a, last_name="Smith\nJones")
    drive = mailing_start(
        actor=volunteer,
        mailing=make_drive(subject="Your ballot", body="Dear {{ last_name }}, vote."),
    )
    drain(drive)
    assert mailing_progress(mailing=drive)["sent"] == 1
