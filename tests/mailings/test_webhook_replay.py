# ruff: noqa: F811 - the tracking tests' fixtures are imported and used by name
"""Mailgun webhook replays: stale timestamps and reused tokens are refused, so a captured
signature block cannot carry a forged event; the signing key is required."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.utils import timezone

from campaign import env
from contacts.models import Suppression
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Recipient, WebhookToken
from mailings.services.webhook_tokens import webhook_tokens_forget
from mailings.webhooks import MailgunTrackingView
from tests.mailings.test_tracking import (  # noqa: F401 - fixtures
    basic_auth,
    mailgun_event,
    mailgun_sign,
    post,
    rows,
    sent_drive,
    webhooks,
)

pytestmark = pytest.mark.usefixtures("fast_sending")


def replay_of(captured: dict, event_data: dict) -> dict:
    """An attacker's body: a genuine signature block with an event of their own."""
    return {"signature": dict(captured["signature"]), "event-data": event_data}


def test_a_replayed_signature_with_a_forged_failure_for_another_address_suppresses_nothing(
    post, sent_drive
):
    first, second = rows(sent_drive)[:2]
    delivered = mailgun_event(first, "delivered")
    assert post(delivered).status_code == 200
    forged = mailgun_event(second, "failed", severity="permanent")

    response = post(replay_of(delivered, forged["event-data"]))

    assert response.status_code == 400
    assert not Suppression.objects.filter(address_hash=address_hash(second.email)).exists()
    assert DeliveryEvent.objects.count() == 1
    assert Recipient.objects.get(pk=second.pk).contact.consents.filter(withdrawn_at=None).exists()


def test_the_esp_retrying_the_same_delivery_is_answered_and_changes_nothing(post, sent_drive):
    row = rows(sent_drive)[1]
    body = mailgun_event(row, "failed", severity="permanent")

    assert post(body).status_code == 200
    assert post(body).status_code == 200
    assert DeliveryEvent.objects.count() == 1
    assert Suppression.objects.filter(address_hash=address_hash(row.email)).count() == 1


def test_a_reused_token_with_a_different_event_is_refused(post, sent_drive):
    first = rows(sent_drive)[0]
    opened = mailgun_event(first, "opened")
    assert post(opened).status_code == 200
    other = replay_of(opened, mailgun_event(first, "complained")["event-data"])

    assert post(other).status_code == 400
    assert list(DeliveryEvent.objects.values_list("event_type", flat=True)) == ["opened"]
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("age", [timedelta(days=9 * 365), timedelta(minutes=6)])
def test_a_signature_older_than_the_window_is_refused(post, sent_drive, age):
    row = rows(sent_drive)[0]
    body = mailgun_event(row, "failed", severity="permanent")
    body["signature"] = {"timestamp": str(int((timezone.now() - age).timestamp()))}
    mailgun_sign(body)

    response = post(body)

    assert response.status_code == 400
    assert not Suppression.objects.exists()
    assert not WebhookToken.objects.exists()


def test_a_signature_from_the_future_is_refused(post, sent_drive):
    body = mailgun_event(rows(sent_drive)[0], "failed", severity="permanent")
    body["signature"] = {"timestamp": str(int((timezone.now() + timedelta(hours=1)).timestamp()))}
    mailgun_sign(body)

    assert post(body).status_code == 400
    assert not Suppression.objects.exists()


def test_the_window_is_a_setting(post, sent_drive, settings):
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 3600
    body = mailgun_event(rows(sent_drive)[0], "delivered")
    body["signature"] = {
        "timestamp": str(int((timezone.now() - timedelta(minutes=30)).timestamp()))
    }
    mailgun_sign(body)

    assert post(body).status_code == 200


def test_a_bad_signature_does_not_use_up_the_token(post, sent_drive):
    body = mailgun_event(rows(sent_drive)[0], "delivered")
    genuine = dict(body["signature"])
    body["signature"]["signature"] = "0" * 64

    assert post(body).status_code == 400
    body["signature"] = genuine
    assert post(body).status_code == 200


def test_a_bounce_that_failed_inside_turnout_is_accepted_when_the_esp_retries(
    post, sent_drive, monkeypatch
):
    """Events with side effects go through the signal in one transaction with the token
    (an ordinary event's statement: tests/mailings/test_webhook_one_statement.py)."""
    import mailings.signals

    body = mailgun_event(rows(sent_drive)[0], "failed", severity="permanent")
    real = mailings.signals.tracking_event_record

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(mailings.signals, "tracking_event_record", broken)
    with pytest.raises(RuntimeError):
        post(body)
    assert not WebhookToken.objects.exists()
    monkeypatch.setattr(mailings.signals, "tracking_event_record", real)

    assert post(body).status_code == 200
    assert DeliveryEvent.objects.count() == 1
    assert Suppression.objects.filter(address_hash=address_hash(rows(sent_drive)[0].email)).exists()


def test_tokens_are_forgotten_once_their_timestamps_would_be_refused(post, sent_drive, settings):
    post(mailgun_event(rows(sent_drive)[0], "delivered"))
    assert WebhookToken.objects.count() == 1

    later = timezone.now() + timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS)
    assert webhook_tokens_forget(now=later) == 0
    assert (
        webhook_tokens_forget(
            now=later + timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS + 1)
        )
        == 1
    )
    assert not WebhookToken.objects.exists()


def test_mailgun_as_the_esp_requires_the_webhook_signing_key():
    with pytest.raises(ImproperlyConfigured, match="MAILGUN_WEBHOOK_SIGNING_KEY"):
        env.env_email({"ANYMAIL_ESP": "mailgun", "MAILGUN_API_KEY": "key-123"})
    backend, anymail = env.env_email(
        {"ANYMAIL_ESP": "mailgun", "MAILGUN_API_KEY": "k", "MAILGUN_WEBHOOK_SIGNING_KEY": "s"}
    )
    assert anymail["MAILGUN_WEBHOOK_SIGNING_KEY"] == "s"


def test_the_webhook_never_falls_back_to_the_api_key(client, settings, sent_drive):
    """Signed with the API key and no signing key configured: refused, not accepted."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hooks:long-random-secret", "MAILGUN_API_KEY": "api-key"}
    body = mailgun_event(rows(sent_drive)[0], "failed", severity="permanent", key="api-key")

    request = RequestFactory().post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(body),
        content_type="application/json",
        **basic_auth(),
    )
    with pytest.raises(ImproperlyConfigured, match="MAILGUN_WEBHOOK_SIGNING_KEY"):
        MailgunTrackingView.as_view()(request)
    # Mounted where Mailgun is not the configured ESP, the endpoint answers 404.
    response = client.post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(body),
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 404
    assert not Suppression.objects.exists()
