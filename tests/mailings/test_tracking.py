"""Delivery tracking through Anymail's real Mailgun webhook: auth, signature, matching,
idempotency, suppression, unknown rows settled and the automatic pause."""

import base64
import hashlib
import hmac
import itertools
import json

import pytest
from django.core import mail
from django.utils import timezone

from campaign.models import TeamMember
from campaign.roles import Role
from contacts.models import ConsentRecord, Suppression
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Mailing, Recipient
from mailings.selectors import audience_breakdown
from mailings.services import mailing_resume, mailing_start
from mailings.services.tracking import mailings_guard_sweep
from tests.factories import ConsentedContactFactory, UserFactory
from tests.mailings.conftest import drain

pytestmark = pytest.mark.usefixtures("fast_sending")

SIGNING_KEY = "mailgun-signing-key-for-tests"
WEBHOOK_SECRET = "hooks:long-random-secret"
MAILGUN_URL = "/anymail/mailgun/tracking/"
_tokens = itertools.count(1)


def basic_auth(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


@pytest.fixture
def webhooks(settings):
    """Anymail reads these at request time, so per-test settings apply."""
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "POSTMARK_SERVER_TOKEN": "unused",
    }
    return settings


def mailgun_sign(payload: dict, key: str = SIGNING_KEY, token: str | None = None) -> dict:
    """Mailgun's signature: HMAC-SHA256 of timestamp + token with the signing key."""
    signature = payload.setdefault("signature", {})
    signature["token"] = token or signature.get("token") or f"{next(_tokens):050d}"
    signature.setdefault("timestamp", str(int(payload["event-data"]["timestamp"])))
    signature["signature"] = hmac.new(
        key.encode(),
        f"{signature['timestamp']}{signature['token']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return payload


def mailgun_event(
    row: Recipient | None,
    event: str,
    *,
    email: str | None = None,
    severity: str | None = None,
    token: str | None = None,
    key: str = SIGNING_KEY,
    metadata: bool = True,
) -> dict:
    """A Mailgun tracking webhook body, as in Mailgun's "Webhooks" documentation."""
    address = email or row.email
    data = {
        "id": f"ev-{next(_tokens)}",
        "timestamp": timezone.now().timestamp(),
        "log-level": "info",
        "event": event,
        "recipient": address,
        "recipient-domain": address.split("@")[1],
        "tags": [f"drive-{row.mailing_id}"] if row else [],
        "user-variables": (
            {"mailing_id": str(row.mailing_id), "recipient_id": str(row.pk)}
            if row and metadata
            else {}
        ),
        "message": {
            "headers": {
                "to": address,
                "message-id": (row.esp_message_id if row else "<x@mg.example.org>").strip("<>"),
                "from": "team@campaign.example.org",
                "subject": "Your ballot",
            },
            "attachments": [],
            "size": 809,
        },
        "envelope": {"sender": "team@campaign.example.org", "transport": "smtp"},
        "delivery-status": {"attempt-no": 1, "code": 250, "message": "OK", "description": ""},
    }
    if event == "failed":
        data["severity"] = severity or "permanent"
        data["reason"] = "bounce" if data["severity"] == "permanent" else "generic"
        data["delivery-status"].update(
            code=550 if data["severity"] == "permanent" else 452,
            message=f"5.1.1 <{address}>: Recipient address rejected: User unknown",
        )
    return mailgun_sign({"event-data": data}, key=key, token=token)


@pytest.fixture
def post(client, webhooks):
    def post(payload: dict, url: str = MAILGUN_URL, auth: dict | None = None, **extra):
        return client.post(
            url,
            data=json.dumps(payload),
            content_type="application/json",
            **(basic_auth() if auth is None else auth),
            **extra,
        )

    return post


@pytest.fixture
def sent_drive(make_drive, volunteer, school_a, contact_a):
    """A drive sent to five supporters through Anymail's test backend."""
    ConsentedContactFactory.create_batch(4, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    assert drive.status == Mailing.Status.DONE
    # Mailgun's API answers with ids like these; its events carry the same id.
    for row in Recipient.objects.filter(mailing=drive):
        row.esp_message_id = f"<20261122.{row.pk}.ABC@mg.campaign.example.org>"
        row.save(update_fields=["esp_message_id"])
    return drive


def rows(drive) -> list[Recipient]:
    return list(Recipient.objects.filter(mailing=drive).order_by("pk"))


def test_missing_or_wrong_basic_auth_is_refused_and_nothing_is_recorded(post, sent_drive):
    row = rows(sent_drive)[0]
    # Anymail answers a failed check with 400 (SuspiciousOperation), never 200.
    assert post(mailgun_event(row, "delivered"), auth={}).status_code == 400
    assert post(mailgun_event(row, "delivered"), auth=basic_auth("hooks:guess")).status_code == 400
    assert post(mailgun_event(row, "delivered")).status_code == 200
    DeliveryEvent.objects.all().delete()
    assert not DeliveryEvent.objects.exists()


def test_a_bad_mailgun_signature_is_refused(post, sent_drive):
    row = rows(sent_drive)[0]
    response = post(mailgun_event(row, "delivered", key="not-the-signing-key"))
    assert response.status_code == 400
    assert not DeliveryEvent.objects.exists()


@pytest.mark.parametrize(
    "mailgun, severity, stored, bounce",
    [
        ("delivered", None, "delivered", ""),
        ("opened", None, "opened", ""),
        ("clicked", None, "clicked", ""),
        ("failed", "temporary", "deferred", "soft"),
        ("failed", "permanent", "bounced", "hard"),
        ("complained", None, "complained", ""),
        ("unsubscribed", None, "unsubscribed", ""),
        ("accepted", None, "queued", ""),
        ("rejected", None, "rejected", ""),
    ],
)
def test_each_mailgun_event_type_lands_on_its_recipient_row(
    post, sent_drive, mailgun, severity, stored, bounce
):
    target = rows(sent_drive)[2]
    assert post(mailgun_event(target, mailgun, severity=severity)).status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.recipient_id, event.mailing_id) == (target.pk, sent_drive.pk)
    assert (event.esp, event.event_type, event.bounce) == ("mailgun", stored, bounce)
    assert event.address_hash == address_hash(target.email)
    assert target.email not in event.description  # addresses scrubbed from ESP wording


def test_an_event_without_metadata_is_matched_by_message_id_and_address(post, sent_drive):
    target = rows(sent_drive)[1]
    assert target.esp_message_id
    assert post(mailgun_event(target, "delivered", metadata=False)).status_code == 200
    assert DeliveryEvent.objects.get().recipient_id == target.pk


def test_metadata_naming_another_row_does_not_move_the_event_onto_it(post, sent_drive):
    first, second = rows(sent_drive)[:2]
    payload = mailgun_event(first, "delivered", email=second.email)
    payload["event-data"]["message"]["headers"]["message-id"] = second.esp_message_id.strip("<>")
    post(mailgun_sign(payload))
    assert DeliveryEvent.objects.get().recipient_id == second.pk


def test_the_same_event_twice_changes_nothing(post, sent_drive):
    row = rows(sent_drive)[0]
    payload = mailgun_event(row, "failed", severity="permanent", token="a" * 50)
    assert post(payload).status_code == 200
    before = (
        DeliveryEvent.objects.count(),
        Suppression.objects.count(),
        ConsentRecord.objects.filter(withdrawn_at__isnull=False).count(),
    )
    assert post(payload).status_code == 200
    after = (
        DeliveryEvent.objects.count(),
        Suppression.objects.count(),
        ConsentRecord.objects.filter(withdrawn_at__isnull=False).count(),
    )
    assert before == after == (1, 1, 1)


@pytest.mark.parametrize(
    "mailgun, severity, reason, how",
    [
        ("failed", "permanent", "hard_bounce", "hard_bounce"),
        ("complained", None, "complaint", "complaint"),
        ("unsubscribed", None, "unsubscribed", "one_click"),
    ],
)
def test_hard_bounce_complaint_and_unsubscribe_suppress_and_the_next_drive_leaves_them_out(
    post, sent_drive, make_drive, volunteer, mailgun, severity, reason, how
):
    row = rows(sent_drive)[0]
    assert post(mailgun_event(row, mailgun, severity=severity)).status_code == 200
    suppression = Suppression.objects.get(address_hash=address_hash(row.email))
    assert suppression.reason == reason
    consent = ConsentRecord.objects.get(contact_id=row.contact_id)
    assert consent.withdrawn_at is not None and consent.withdrawn_how == how

    next_drive = make_drive(name="Week two")
    breakdown = audience_breakdown(mailing=next_drive)
    assert breakdown["mailable"] == 4
    mail.outbox = []
    drain(mailing_start(actor=volunteer, mailing=next_drive))
    addressed = {a for m in mail.outbox for a in m.to}
    assert row.email not in addressed and len(addressed) == 4


def test_a_bounce_for_an_erased_contact_still_suppresses_the_address(post, sent_drive):
    row = rows(sent_drive)[0]
    Recipient.objects.filter(pk=row.pk).update(contact=None)
    row.contact.delete()
    assert post(mailgun_event(row, "failed", severity="permanent")).status_code == 200
    assert Suppression.objects.filter(
        address_hash=address_hash(row.email), reason="hard_bounce"
    ).exists()


def test_soft_bounces_suppress_at_the_configured_count_of_distinct_messages(
    post, sent_drive, settings
):
    settings.TRACKING_SOFT_BOUNCE_LIMIT = 3
    row = rows(sent_drive)[0]
    hashed = address_hash(row.email)
    # Mailgun reporting retries of one message is still one soft bounce.
    for _ in range(3):
        post(mailgun_event(row, "failed", severity="temporary"))
    assert not Suppression.objects.filter(address_hash=hashed).exists()
    # Two more messages to the address (other drives) soft-bounce: three in all.
    for n in range(2):
        other = Recipient.objects.create(
            mailing=sent_drive,
            email=f"other{n}@example.org",
            email_hash="",
            status=Recipient.Status.SENT,
        )
        payload = mailgun_event(other, "failed", severity="temporary", email=row.email)
        payload["event-data"]["user-variables"] = {}
        payload["event-data"]["message"]["headers"]["message-id"] = f"m{n}@mg.example.org"
        post(mailgun_sign(payload))
        expected = n == 1
        assert Suppression.objects.filter(address_hash=hashed).exists() is expected
    assert Suppression.objects.get(address_hash=hashed).reason == "soft_bounces"
    assert ConsentRecord.objects.get(contact_id=row.contact_id).withdrawn_how == "soft_bounces"


def test_a_delivered_event_settles_a_row_a_crash_left_unknown(post, sent_drive):
    row = rows(sent_drive)[3]
    Recipient.objects.filter(pk=row.pk).update(status=Recipient.Status.UNKNOWN)
    assert post(mailgun_event(row, "delivered")).status_code == 200
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT
    assert DeliveryEvent.objects.get().recipient_id == row.pk


def test_an_event_for_no_known_row_is_kept_without_a_row(post, sent_drive):
    payload = mailgun_event(None, "delivered", email="stranger@example.net")
    assert post(payload).status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.recipient_id is None and event.mailing_id is None


# --- automatic pause -------------------------------------------------------------


@pytest.fixture
def big_drive(make_drive, volunteer, organiser, contact_a):
    """A sending drive with 220 rows marked sent (built directly: quicker than sending)."""
    drive = make_drive()
    drive.status = Mailing.Status.SENDING
    drive.approved_by = organiser
    drive.save()
    Recipient.objects.bulk_create(
        Recipient(
            mailing=drive,
            contact=contact_a if n == 0 else None,
            email=contact_a.email if n == 0 else f"s{n}@example.org",
            email_hash="",
            status=Recipient.Status.SENT,
            esp_message_id=f"<{n}@mg.example.org>",
        )
        for n in range(220)
    )
    return drive


def deliver(post, drive, count: int, start: int = 0) -> None:
    for row in rows(drive)[start : start + count]:
        assert post(mailgun_event(row, "delivered")).status_code == 200


def test_the_drive_pauses_when_complaints_pass_the_rate_after_the_minimum_volume(
    post, big_drive, settings, django_capture_on_commit_callbacks, volunteer
):
    other_organiser = UserFactory(username="organiser2", email="organiser2@example.org")
    TeamMember.objects.create(user=other_organiser, role=Role.ORGANISER)
    settings.MAILING_PAUSE_MIN_MESSAGES = 200
    settings.MAILING_PAUSE_COMPLAINT_RATE = 0.3
    deliver(post, big_drive, 199)
    complainer = rows(big_drive)[0]
    post(mailgun_event(complainer, "complained"))
    big_drive.refresh_from_db()
    # 1 in 199 is over 0.3%, but 199 is under the minimum volume.
    assert big_drive.status == Mailing.Status.SENDING
    deliver(post, big_drive, 1, start=199)
    # No new bad event came: the periodic guard catches it.
    with django_capture_on_commit_callbacks(execute=True):
        assert mailings_guard_sweep() == 1
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.PAUSED
    assert "Spam-complaint rate 0.50%" in big_drive.status_reason
    assert "0.3% limit" in big_drive.status_reason
    told = [m for m in mail.outbox if m.subject.startswith("Drive paused")]
    assert told and "Spam-complaint" in told[0].body
    # The sender, the approving organiser and every other organiser hear of it.
    assert set(told[0].to) == {volunteer.email, "organiser@example.org", "organiser2@example.org"}


def test_hard_bounces_pause_only_when_the_rate_passes_the_limit_not_at_it(
    post, big_drive, settings
):
    settings.MAILING_PAUSE_MIN_MESSAGES = 200
    settings.MAILING_PAUSE_HARD_BOUNCE_RATE = 5.0
    all_rows = rows(big_drive)
    deliver(post, big_drive, 190, start=10)
    for row in all_rows[:10]:
        post(mailgun_event(row, "failed", severity="permanent"))
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.SENDING  # 10 of 200 is exactly 5%
    post(mailgun_event(all_rows[200], "failed", severity="permanent"))
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.PAUSED  # 11 of 201 is over 5%
    assert "Hard-bounce rate 5.47%" in big_drive.status_reason


def test_a_paused_or_finished_drive_is_not_touched_by_the_guard(post, big_drive, settings):
    settings.MAILING_PAUSE_MIN_MESSAGES = 1
    Mailing.objects.filter(pk=big_drive.pk).update(status=Mailing.Status.DONE)
    post(mailgun_event(rows(big_drive)[0], "complained"))
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.DONE and big_drive.status_reason == ""


def test_a_resumed_drive_is_judged_only_on_events_after_the_guard_paused_it(
    post, big_drive, organiser, settings
):
    settings.MAILING_PAUSE_MIN_MESSAGES = 20
    settings.MAILING_PAUSE_COMPLAINT_RATE = 0.3
    all_rows = rows(big_drive)
    deliver(post, big_drive, 20)
    post(mailgun_event(all_rows[0], "complained"))
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.PAUSED

    mailing_resume(actor=organiser, mailing=big_drive)
    assert mailings_guard_sweep() == 0  # the old complaint does not undo the resume
    deliver(post, big_drive, 19, start=20)
    post(mailgun_event(all_rows[39], "complained"))  # 1 of 19 since: under the minimum
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.SENDING
    deliver(post, big_drive, 1, start=40)
    assert mailings_guard_sweep() == 1  # 1 of 20 since the pause: 5% is over 0.3%
    big_drive.refresh_from_db()
    assert big_drive.status == Mailing.Status.PAUSED


@pytest.mark.parametrize("bad_id", ["99999999999999999999999", "-1", "abc", ""])
def test_nonsense_recipient_ids_in_metadata_fall_back_to_message_id_and_address(
    post, sent_drive, bad_id
):
    target = rows(sent_drive)[1]
    payload = mailgun_event(target, "delivered")
    payload["event-data"]["user-variables"]["recipient_id"] = bad_id
    assert post(mailgun_sign(payload)).status_code == 200
    assert DeliveryEvent.objects.get().recipient_id == target.pk
