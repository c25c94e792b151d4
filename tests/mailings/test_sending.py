"""Starting and sending drives: snapshot, batches, consent re-checked, never twice."""

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.models import ConsentRecord
from contacts.services import consent_withdraw
from mailings.models import Mailing, Recipient
from mailings.selectors import mailing_progress, recipients_for_review
from mailings.services import (
    mailing_approve,
    mailing_batch_send,
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_start,
    mailings_start_due,
    mailings_sweep,
)
from tests.factories import ConsentedContactFactory
from tests.mailings.backends import ScriptedBackend
from tests.mailings.conftest import drain, sent_to

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def supporters(school_a, contact_a, unconsented_contact_a):
    return [contact_a, *ConsentedContactFactory.create_batch(6, school=school_a)]


@pytest.fixture
def scripted(settings):
    settings.EMAIL_BACKEND = "tests.mailings.backends.ScriptedBackend"
    ScriptedBackend.script = []
    yield ScriptedBackend.script
    ScriptedBackend.script = []


def test_starting_snapshots_one_row_per_mailable_recipient_in_batches(
    make_drive, volunteer, supporters, django_capture_on_commit_callbacks
):
    drive = make_drive()
    with django_capture_on_commit_callbacks() as callbacks:
        drive = mailing_start(actor=volunteer, mailing=drive)
    assert drive.status == Mailing.Status.SENDING
    assert drive.recipient_count == 7 and drive.batch_count == 3
    rows = Recipient.objects.filter(mailing=drive)
    assert sorted(rows.values_list("email", flat=True)) == sorted(c.email for c in supporters)
    assert sorted(set(rows.values_list("batch", flat=True))) == [0, 1, 2]
    assert set(rows.values_list("status", flat=True)) == {"queued"}
    assert drive.exclusions["no_consent"] == 1
    assert drive.from_email == "Rank and File <team@campaign.example.org>"
    assert len(callbacks) == 1  # the batch tasks are enqueued only once the rows exist
    event = AuditEvent.objects.get(action=AuditEvent.Action.DRIVE_START)
    assert event.counts["recipients"] == 7 and event.actor == volunteer


def test_every_recipient_gets_one_personal_message_with_tracking_metadata(
    make_drive, volunteer, supporters
):
    drive = mailing_start(
        actor=volunteer, mailing=make_drive(body="Hi {{ first_name }}! [I voted]({{ voted_url }})")
    )
    drain(drive)
    assert drive.status == Mailing.Status.DONE
    assert sent_to() == sorted(c.email for c in supporters)
    assert mailing_progress(mailing=drive)["sent"] == 7

    message = mail.outbox[0]
    params = message.anymail_test_params
    assert params["is_batch_send"] is True
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for address in message.to:
        row = Recipient.objects.get(mailing=drive, email=address)
        assert message.merge_metadata[address] == {"recipient_id": str(row.pk)}
        unsubscribe = message.merge_headers[address]["List-Unsubscribe"]
        assert unsubscribe.startswith("<http") and "/u/" in unsubscribe
        data = message.merge_data[address]
        assert data["first_name"] == row.contact.first_name
        assert data["voted_url"].endswith("/") and "/voted/" in data["voted_url"]
        assert data["unsubscribe_url"] == unsubscribe[1:-1]
        assert row.esp_status == "sent" and row.sent_at is not None
    assert message.metadata == {"mailing_id": str(drive.pk)}
    assert "%recipient.html_first_name%" in message.alternatives[0][0]


def test_names_with_html_are_sent_escaped(make_drive, volunteer, school_a):
    ConsentedContactFactory(school=school_a, first_name="<b>Bo</b>")
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    data = mail.outbox[0].merge_data
    (values,) = data.values()
    assert values["html_first_name"] == "&lt;b&gt;Bo&lt;/b&gt;"


def test_consent_withdrawn_mid_drive_stops_every_later_send(make_drive, volunteer, supporters):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_batch_send(mailing_id=drive.pk, batch=0)
    later = Recipient.objects.get(mailing=drive, batch=2, contact__isnull=False)
    consent_withdraw(
        contacts=[later.contact], how=ConsentRecord.WithdrawnHow.REQUEST, source="phone call"
    )
    drain(drive)
    later.refresh_from_db()
    assert later.status == Recipient.Status.SKIPPED
    assert later.email not in sent_to()
    assert len(sent_to()) == 6 and len(set(sent_to())) == 6


def test_an_erased_contact_is_skipped(make_drive, volunteer, supporters):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    supporters[-1].delete()
    drain(drive)
    assert mailing_progress(mailing=drive)["skipped"] == 1
    assert Recipient.objects.get(mailing=drive, contact=None).error == "Contact erased"


def test_a_transient_error_requeues_the_rows_and_they_go_once_later(
    make_drive, volunteer, supporters, scripted, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    scripted.append(AnymailAPIError("Too many requests", status_code=429))
    with django_capture_on_commit_callbacks() as callbacks:
        result = mailing_batch_send(mailing_id=drive.pk, batch=0)
    assert result.retry_in is not None and len(callbacks) == 1  # a delayed retry
    rows = Recipient.objects.filter(mailing=drive, batch=0)
    assert set(rows.values_list("status", "attempts")) == {("queued", 1)}
    assert mail.outbox == []
    drain(drive)
    assert sent_to() == sorted(c.email for c in supporters)


def test_rows_fail_after_too_many_transient_errors(
    make_drive, volunteer, supporters, scripted, settings
):
    settings.MAILING_MAX_ATTEMPTS = 2
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    for _ in range(2):
        scripted.append(AnymailAPIError("Service unavailable", status_code=503))
        mailing_batch_send(mailing_id=drive.pk, batch=0)
    rows = Recipient.objects.filter(mailing=drive, batch=0)
    assert set(rows.values_list("status", flat=True)) == {"failed"}
    assert "Gave up after 2 attempts: ESP answered HTTP 503" in rows.first().error


def test_a_permanently_refused_address_fails_alone(make_drive, volunteer, supporters, scripted):
    bad = supporters[1].email

    def refuse_bad(addresses):
        if bad in addresses:
            return AnymailAPIError("'to' parameter is not a valid address", status_code=400)
        return None

    scripted.extend([refuse_bad] * 10)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    row = Recipient.objects.get(mailing=drive, email=bad)
    assert row.status == Recipient.Status.FAILED
    assert "ESP refused" in row.error and "not a valid address" in row.error
    assert sent_to() == sorted(c.email for c in supporters if c.email != bad)


def test_a_timeout_after_posting_leaves_rows_unknown_and_never_resends(
    make_drive, volunteer, supporters, scripted
):
    timeout = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, requests.ReadTimeout), {})
    scripted.append(timeout("Error posting"))
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    unknown = recipients_for_review(user=volunteer, mailing=drive)
    assert unknown.count() == 3  # the first batch
    assert "may have been accepted" in unknown.first().error
    drain(drive)
    assert not set(unknown.values_list("email", flat=True)) & set(sent_to())
    assert len(sent_to()) == 4


def test_rows_left_sending_by_a_killed_consumer_become_unknown_after_their_lease(
    make_drive, volunteer, organiser, supporters
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    past = timezone.now() - timezone.timedelta(seconds=1)
    Recipient.objects.filter(mailing=drive, batch=0).update(
        status=Recipient.Status.SENDING, claim="dead", lease_until=past
    )
    assert mailings_sweep()["unknown"] == 3
    drain(drive)
    assert drive.status == Mailing.Status.DONE
    assert len(sent_to()) == 4
    listed = recipients_for_review(user=organiser)
    assert listed.count() == 3 and not set(listed.values_list("email", flat=True)) & set(sent_to())


def test_the_sweeper_re_enqueues_a_stalled_drive_and_duplicates_send_nothing_twice(
    make_drive, volunteer, supporters, settings, django_capture_on_commit_callbacks
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    Mailing.objects.filter(pk=drive.pk).update(
        progress_at=timezone.now() - timezone.timedelta(seconds=settings.MAILING_STALL_SECONDS + 1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert mailings_sweep()["requeued"] == 3
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks():
        assert mailings_sweep()["requeued"] == 0  # not stalled any more
    drain(drive)
    drain(drive)  # as if the re-enqueued duplicates ran too
    assert len(sent_to()) == 7 == len(set(sent_to()))


def test_pause_stops_between_chunks_and_resume_carries_on(
    make_drive, volunteer, supporters, scripted
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    def pause_after_this(addresses):
        mailing_pause(actor=volunteer, mailing=drive)

    scripted.append(pause_after_this)
    drain(drive)
    assert drive.status == Mailing.Status.PAUSED
    assert len(sent_to()) == 3  # the chunk already at the ESP went; nothing after
    assert mailing_progress(mailing=drive)["queued"] == 4
    mailing_resume(actor=volunteer, mailing=drive)
    drain(drive)
    assert drive.status == Mailing.Status.DONE and len(set(sent_to())) == 7


def test_cancel_stops_for_good(make_drive, volunteer, supporters):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_batch_send(mailing_id=drive.pk, batch=0)
    mailing_cancel(actor=volunteer, mailing=drive)
    drain(drive)
    assert drive.status == Mailing.Status.CANCELLED
    assert mailing_progress(mailing=drive) | {} == {
        "queued": 0,
        "sending": 0,
        "sent": 3,
        "failed": 0,
        "skipped": 0,
        "cancelled": 4,
        "unknown": 0,
    }
    with pytest.raises(ValidationError):
        mailing_resume(actor=volunteer, mailing=drive)


def test_big_drives_wait_for_an_organisers_approval(
    make_drive, volunteer, organiser, supporters, settings
):
    settings.MAILING_APPROVAL_THRESHOLD = 5
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    assert drive.status == Mailing.Status.AWAITING_APPROVAL
    assert not Recipient.objects.filter(mailing=drive).exists()
    with pytest.raises(PermissionDenied):
        mailing_approve(actor=volunteer, mailing=drive)
    drive = mailing_approve(actor=organiser, mailing=drive)
    assert drive.status == Mailing.Status.SENDING and drive.approved_by == organiser
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DRIVE_APPROVE).count() == 1


def test_small_drives_and_organisers_own_drives_need_no_approval(
    make_drive, volunteer, organiser, supporters, settings
):
    settings.MAILING_APPROVAL_THRESHOLD = 7
    assert mailing_start(actor=volunteer, mailing=make_drive()).status == "sending"
    settings.MAILING_APPROVAL_THRESHOLD = 1
    own = mailing_start(actor=organiser, mailing=make_drive(actor=organiser))
    assert own.status == "sending" and own.approved_by == organiser


def test_a_scheduled_drive_starts_when_due(make_drive, volunteer, supporters):
    later = timezone.now() + timezone.timedelta(hours=2)
    drive = mailing_start(actor=volunteer, mailing=make_drive(scheduled_for=later))
    assert drive.status == Mailing.Status.SCHEDULED
    assert mailings_start_due() == []
    assert mailings_start_due(now=later) == [drive.pk]
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING and drive.recipient_count == 7


def test_another_volunteers_drive_cannot_be_started(make_drive, supporters, district_a):
    from campaign.roles import Role
    from tests.conftest import _team_user

    other = _team_user("other_volunteer", Role.VOLUNTEER, districts=[district_a])
    with pytest.raises(PermissionDenied):
        mailing_start(actor=other, mailing=make_drive())


def test_a_tracking_event_finds_its_row_and_settles_an_unknown_one_once(
    make_drive, volunteer, supporters
):
    from mailings.selectors import recipient_for_event
    from mailings.services import recipient_settle_unknown

    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    row = Recipient.objects.filter(mailing=drive).first()
    assert recipient_for_event(recipient_id=str(row.pk)) == row
    assert recipient_for_event(message_id=row.esp_message_id, email=row.email.upper()) == row
    assert recipient_for_event(recipient_id="not-a-number") is None

    Recipient.objects.filter(pk=row.pk).update(status=Recipient.Status.UNKNOWN)
    assert recipient_settle_unknown(recipient=row, message_id="<x@mg>") is True
    assert recipient_settle_unknown(recipient=row) is False  # a replayed event
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT


def test_an_esp_without_inline_batch_templates_gets_one_rendered_message_each(
    make_drive, volunteer, supporters, settings
):
    # Django's locmem backend stands in for Postmark/SES: no batch substitution.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    drive = mailing_start(actor=volunteer, mailing=make_drive(body="Dear {{ first_name }}"))
    drain(drive)
    assert len(mail.outbox) == 7 and all(len(m.to) == 1 for m in mail.outbox)
    for message in mail.outbox:
        row = Recipient.objects.select_related("contact").get(mailing=drive, email=message.to[0])
        assert message.subject == f"{row.contact.first_name}, your ballot"
        assert f"Dear {row.contact.first_name}" in message.body
        assert "%recipient" not in message.alternatives[0][0]
        assert message.extra_headers["List-Unsubscribe"].startswith("<http")
        assert message.metadata == {"mailing_id": str(drive.pk), "recipient_id": str(row.pk)}
    assert mailing_progress(mailing=drive)["sent"] == 7


def test_suppression_is_checked_on_the_address_itself_not_a_stored_hash(
    make_drive, volunteer, supporters
):
    from contacts.models import Contact, Suppression
    from contacts.services import suppression_add

    Contact.objects.update(email_hash="")  # stale or missing hashes on contact rows
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    assert drive.recipient_count == 7 and drive.exclusions["duplicate"] == 0
    suppression_add(email=supporters[3].email.upper(), reason=Suppression.Reason.COMPLAINT)
    drain(drive)
    assert supporters[3].email not in sent_to() and len(sent_to()) == 6
    assert Recipient.objects.get(email=supporters[3].email).error == "Address suppressed"


def test_organisers_may_resend_unknown_rows_after_review_and_only_those(
    make_drive, volunteer, organiser, supporters, django_capture_on_commit_callbacks
):
    from mailings.services import recipients_requeue

    drive = mailing_start(actor=volunteer, mailing=make_drive())
    past = timezone.now() - timezone.timedelta(seconds=1)
    Recipient.objects.filter(mailing=drive, batch=0).update(
        status=Recipient.Status.SENDING, claim="dead", lease_until=past
    )
    mailings_sweep()
    drain(drive)
    assert drive.status == Mailing.Status.DONE and len(sent_to()) == 4
    everyone = list(Recipient.objects.filter(mailing=drive))
    with pytest.raises(PermissionDenied):
        recipients_requeue(actor=volunteer, recipients=everyone)
    with django_capture_on_commit_callbacks() as callbacks:
        assert recipients_requeue(actor=organiser, recipients=everyone) == 3
    assert len(callbacks) == 1
    drain(drive)
    assert drive.status == Mailing.Status.DONE
    assert len(sent_to()) == 7 == len(set(sent_to()))


def test_the_system_can_cancel_a_drive_with_a_reason(make_drive, volunteer, supporters):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drive = mailing_cancel(actor=None, mailing=drive, reason="The ballot has closed")
    assert drive.status_reason == "The ballot has closed"
    assert mailing_progress(mailing=drive)["cancelled"] == 7


def test_each_batch_task_logs_what_it_sent_without_naming_anyone(
    make_drive, volunteer, supporters, caplog
):
    # With several consumers (the production topology) this line, in the log of the
    # consumer that ran the batch, is how an operator sees which one sent what.
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    withdrawn = Recipient.objects.filter(mailing=drive, batch=0).order_by("pk").first()
    consent_withdraw(
        contacts=[withdrawn.contact], how=ConsentRecord.WithdrawnHow.REQUEST, source="phone call"
    )
    with caplog.at_level("INFO", logger="mailings.services.sending"):
        drain(drive)

    lines = [r.getMessage() for r in caplog.records if r.name == "mailings.services.sending"]
    assert lines == [
        f"Drive {drive.pk} batch 0: 2 sent, 0 failed, 1 skipped, 0 unknown, 0 already sent",
        f"Drive {drive.pk} batch 1: 3 sent, 0 failed, 0 skipped, 0 unknown, 0 already sent",
        f"Drive {drive.pk} batch 2: 1 sent, 0 failed, 0 skipped, 0 unknown, 0 already sent",
    ]
    assert not any(contact.email in caplog.text for contact in supporters)
