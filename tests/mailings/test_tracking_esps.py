"""Tracking webhooks of Postmark and Amazon SES (via SNS), with the payloads those ESPs
document, through Anymail's real views: each event lands on its row, once."""

import json
import uuid

import pytest
from django.utils import timezone

from contacts.models import ConsentRecord, Suppression
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Recipient
from tests.mailings.test_tracking import basic_auth, rows, sent_drive, webhooks  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_sending", "webhooks")

POSTMARK_URL = "/anymail/postmark/tracking/"
SES_URL = "/anymail/amazon_ses/tracking/"


def postmark(client, payload: dict, auth: dict | None = None):
    return client.post(
        POSTMARK_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


def postmark_event(row: Recipient, record: str, **extra) -> dict:
    """Shapes from Postmark's "Webhooks" documentation (Delivery, Bounce, Open, ...)."""
    stamp = timezone.now().isoformat()
    metadata = {"mailing_id": str(row.mailing_id), "recipient_id": str(row.pk)}
    common = {"MessageID": row.esp_message_id, "ServerID": 23, "MessageStream": "outbound"}
    if record == "Delivery":
        body = {"Recipient": row.email, "DeliveredAt": stamp, "Details": "Test delivery"}
    elif record == "Open":
        body = {
            "FirstOpen": True,
            "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
            "Platform": "WebMail",
            "UserAgent": "Mozilla/5.0",
            "ReadSeconds": 5,
            "ReceivedAt": stamp,
            "Recipient": row.email,
        }
    elif record == "Click":
        body = {
            "ClickLocation": "HTML",
            "Platform": "Desktop",
            "OriginalLink": "https://campaign.example.org/voted/abc/",
            "ReceivedAt": stamp,
            "Recipient": row.email,
        }
    elif record in ("Bounce", "SpamComplaint"):
        body = {
            "ID": extra.pop("ID", uuid.uuid4().int % 10**9),
            "Type": extra.pop("Type", "HardBounce" if record == "Bounce" else "SpamComplaint"),
            "TypeCode": 1,
            "Name": "Hard bounce",
            "Description": "The server was unable to deliver your message.",
            "Details": f"smtp;550 5.1.1 <{row.email}> does not exist.",
            "Email": row.email,
            "From": "team@campaign.example.org",
            "BouncedAt": stamp,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Your ballot",
        }
    elif record == "SubscriptionChange":
        body = {
            "ChangedAt": stamp,
            "Recipient": row.email,
            "Origin": "Recipient",
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
        }
    else:
        raise ValueError(record)
    return {"RecordType": record, **common, **body, "Metadata": metadata, **extra}


@pytest.fixture
def ses_drive(sent_drive):  # noqa: F811
    """SES message ids look like this; its events carry them in mail.messageId."""
    for row in Recipient.objects.filter(mailing=sent_drive):
        row.esp_message_id = f"0100018f{row.pk:08d}-abcd-4ef0-9a1b-000000000000-000000"
        row.save(update_fields=["esp_message_id"])
    return sent_drive


def ses_notification(row: Recipient, event_type: str, *, sns_id: str | None = None, **kind):
    """An SNS Notification wrapping an SES event (SES "event publishing" examples)."""
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    event = {
        "eventType": event_type,
        "mail": {
            "timestamp": now,
            "source": "team@campaign.example.org",
            "sendingAccountId": "123456789012",
            "messageId": row.esp_message_id,
            "destination": [row.email],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": "team@campaign.example.org"},
                {"name": "To", "value": row.email},
                {"name": "Subject", "value": "Your ballot"},
                {"name": "X-Tag", "value": f"drive-{row.mailing_id}"},
                {
                    "name": "X-Metadata",
                    "value": json.dumps(
                        {"mailing_id": str(row.mailing_id), "recipient_id": str(row.pk)}
                    ),
                },
            ],
            "commonHeaders": {"to": [row.email], "subject": "Your ballot"},
        },
    }
    if event_type == "Delivery":
        event["delivery"] = {
            "timestamp": now,
            "processingTimeMillis": 546,
            "recipients": [row.email],
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    elif event_type == "Bounce":
        event["bounce"] = {
            "bounceType": kind.get("bounce_type", "Permanent"),
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": row.email,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{row.email}> user unknown",
                }
            ],
            "timestamp": now,
            "feedbackId": "0100017e-bounce-feedback",
            "reportingMTA": "dns; email.example.com",
        }
    elif event_type == "Complaint":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": row.email}],
            "timestamp": now,
            "feedbackId": "0100017e-complaint-feedback",
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": now,
        }
    elif event_type == "Open":
        event["open"] = {"ipAddress": "192.0.2.1", "timestamp": now, "userAgent": "Mozilla/5.0"}
    return {
        "Type": "Notification",
        "MessageId": sns_id or str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:turnout-ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(event),
        "Timestamp": now,
        "SignatureVersion": "1",
        "Signature": "EXAMPLE-SIGNATURE==",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }


def sns(client, message: dict, auth: dict | None = None):
    """SNS posts JSON as text/plain with its type and id repeated in headers."""
    return client.post(
        SES_URL,
        data=json.dumps(message),
        content_type="text/plain; charset=UTF-8",
        headers={
            "x-amz-sns-message-id": message["MessageId"],
            "x-amz-sns-message-type": message["Type"],
        },
        **(basic_auth() if auth is None else auth),
    )


# --- Postmark ---------------------------------------------------------------------


def test_postmark_refuses_missing_or_wrong_basic_auth(client, sent_drive):  # noqa: F811
    row = rows(sent_drive)[0]
    assert postmark(client, postmark_event(row, "Delivery"), auth={}).status_code == 400
    wrong = basic_auth("hooks:nope")
    assert postmark(client, postmark_event(row, "Delivery"), auth=wrong).status_code == 400
    assert not DeliveryEvent.objects.exists()


@pytest.mark.parametrize(
    "record, extra, stored, bounce",
    [
        ("Delivery", {}, "delivered", ""),
        ("Open", {}, "opened", ""),
        ("Click", {}, "clicked", ""),
        ("Bounce", {"Type": "HardBounce"}, "bounced", "hard"),
        ("Bounce", {"Type": "SoftBounce"}, "bounced", "soft"),
        ("Bounce", {"Type": "Transient"}, "deferred", "soft"),
        ("SpamComplaint", {}, "complained", ""),
        ("SubscriptionChange", {}, "unsubscribed", ""),
    ],
)
def test_each_postmark_event_lands_on_its_row(
    client,
    sent_drive,  # noqa: F811
    record,
    extra,
    stored,
    bounce,
):
    target = rows(sent_drive)[1]
    assert postmark(client, postmark_event(target, record, **extra)).status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.esp, event.event_type, event.bounce) == ("postmark", stored, bounce)
    assert event.recipient_id == target.pk


def test_postmark_duplicates_are_ignored_with_or_without_an_event_id(client, sent_drive):  # noqa: F811
    row = rows(sent_drive)[0]
    delivery = postmark_event(row, "Delivery")  # Postmark gives deliveries no id
    bounce = postmark_event(row, "Bounce", ID=901542550)
    for payload in (delivery, bounce, delivery, bounce):
        assert postmark(client, payload).status_code == 200
    assert DeliveryEvent.objects.count() == 2
    assert Suppression.objects.count() == 1


def test_a_postmark_complaint_suppresses_and_withdraws_consent(client, sent_drive):  # noqa: F811
    row = rows(sent_drive)[0]
    postmark(client, postmark_event(row, "SpamComplaint"))
    assert Suppression.objects.get(address_hash=address_hash(row.email)).reason == "complaint"
    assert ConsentRecord.objects.get(contact_id=row.contact_id).withdrawn_how == "complaint"


def test_a_postmark_delivery_settles_an_unknown_row(client, sent_drive):  # noqa: F811
    row = rows(sent_drive)[2]
    Recipient.objects.filter(pk=row.pk).update(status=Recipient.Status.UNKNOWN)
    postmark(client, postmark_event(row, "Delivery"))
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT


# --- Amazon SES through SNS --------------------------------------------------------


def test_ses_asks_for_basic_auth_and_refuses_a_wrong_one(client, ses_drive):
    row = rows(ses_drive)[0]
    assert sns(client, ses_notification(row, "Delivery"), auth={}).status_code == 401
    wrong = basic_auth("hooks:nope")
    assert sns(client, ses_notification(row, "Delivery"), auth=wrong).status_code == 400
    assert not DeliveryEvent.objects.exists()


@pytest.mark.parametrize(
    "ses, kind, stored, bounce",
    [
        ("Delivery", {}, "delivered", ""),
        ("Open", {}, "opened", ""),
        ("Bounce", {"bounce_type": "Permanent"}, "bounced", "hard"),
        ("Bounce", {"bounce_type": "Transient"}, "bounced", "soft"),
        ("Complaint", {}, "complained", ""),
    ],
)
def test_each_ses_event_lands_on_its_row(client, ses_drive, ses, kind, stored, bounce):
    target = rows(ses_drive)[3]
    assert sns(client, ses_notification(target, ses, **kind)).status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.esp, event.event_type, event.bounce) == ("amazon_ses", stored, bounce)
    assert (event.recipient_id, event.message_id) == (target.pk, target.esp_message_id)


def test_ses_events_are_matched_by_message_id_when_metadata_is_missing(client, ses_drive):
    target = rows(ses_drive)[1]
    message = ses_notification(target, "Delivery")
    event = json.loads(message["Message"])
    event["mail"]["headers"] = [h for h in event["mail"]["headers"] if h["name"] != "X-Metadata"]
    message["Message"] = json.dumps(event)
    assert sns(client, message).status_code == 200
    assert DeliveryEvent.objects.get().recipient_id == target.pk


def test_an_sns_notification_delivered_twice_is_stored_once(client, ses_drive):
    row = rows(ses_drive)[0]
    message = ses_notification(row, "Bounce")
    assert sns(client, message).status_code == 200
    assert sns(client, message).status_code == 200
    assert DeliveryEvent.objects.count() == 1
    assert Suppression.objects.get(address_hash=address_hash(row.email)).reason == "hard_bounce"
    assert ConsentRecord.objects.get(contact_id=row.contact_id).withdrawn_how == "hard_bounce"


def test_an_ses_complaint_on_an_unknown_row_settles_and_suppresses_it(client, ses_drive):
    row = rows(ses_drive)[4]
    Recipient.objects.filter(pk=row.pk).update(status=Recipient.Status.UNKNOWN)
    assert sns(client, ses_notification(row, "Complaint")).status_code == 200
    row.refresh_from_db()
    assert row.status == Recipient.Status.SENT
    assert Suppression.objects.get(address_hash=address_hash(row.email)).reason == "complaint"


# --- Brevo -------------------------------------------------------------------------


def brevo_event(row: Recipient, event: str, n: int = 0) -> dict:
    """Shapes from Brevo's transactional webhook documentation."""
    return {
        "event": event,
        "email": row.email,
        "id": 123456,
        "date": "2026-11-22 10:00:00",
        "ts_epoch": 1795350000000 + n,
        "message-id": row.esp_message_id,
        "tag": f"drive-{row.mailing_id}",
        "X-Mailin-custom": json.dumps(
            {"mailing_id": str(row.mailing_id), "recipient_id": str(row.pk)}
        ),
        "reason": "550 5.1.1 mailbox unavailable" if "bounce" in event else "sent",
    }


@pytest.mark.parametrize(
    "brevo, stored, bounce",
    [
        ("delivered", "delivered", ""),
        ("unique_opened", "opened", ""),
        ("click", "clicked", ""),
        ("soft_bounce", "bounced", "soft"),
        ("hard_bounce", "bounced", "hard"),
        ("spam", "complained", ""),
        ("unsubscribe", "unsubscribed", ""),
    ],
)
def test_each_brevo_event_lands_on_its_row_once(client, sent_drive, brevo, stored, bounce):  # noqa: F811
    target = rows(sent_drive)[2]
    payload = brevo_event(target, brevo)
    for _ in range(2):  # Brevo gives no event id: the same event twice is still one
        response = client.post(
            "/anymail/brevo/tracking/",
            data=json.dumps(payload),
            content_type="application/json",
            **basic_auth(),
        )
        assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.esp, event.event_type, event.bounce) == ("brevo", stored, bounce)
    assert event.recipient_id == target.pk
