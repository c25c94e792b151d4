"""Fixtures for drive tests: fast sending settings and a drive ready to start."""

from datetime import datetime

import pytest
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.utils import timezone

from mailings.models import Mailing, Recipient
from mailings.services import mailing_batch_send, mailing_create
from mailings.services.chunks import chunk_sizer
from mailings.services.tracking import tracking_event_record


@pytest.fixture
def fast_sending(settings):
    """No real waiting on the rate limiter; small batches to exercise batching."""
    settings.EMAIL_SEND_RATE = 100000.0
    settings.MAILING_BATCH_SIZE = 3
    settings.MAILING_CHUNK_SECONDS = 1.0
    settings.MAILING_RETRY_BASE_SECONDS = 0.0
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    chunk_sizer.seconds.clear()  # call times measured by another test do not carry over
    return settings


@pytest.fixture
def make_drive(volunteer, campaign):
    def make(*, actor=None, body="Hello {{ first_name }}, vote by {{ ballot_closes }}.", **kwargs):
        kwargs.setdefault("name", "Week one push")
        kwargs.setdefault("subject", "{{ first_name }}, your ballot")
        return mailing_create(actor=actor or volunteer, body=body, **kwargs)

    return make


def drain(mailing: Mailing, connection=None) -> None:
    """Run every batch of a started drive in this process, as the consumer would."""
    mailing.refresh_from_db()
    for batch in range(mailing.batch_count):
        mailing_batch_send(mailing_id=mailing.pk, batch=batch, connection=connection)
    mailing.refresh_from_db()


def sent_to(outbox=None) -> list[str]:
    """Every address the Anymail test backend was asked to send to."""
    return sorted(addr for message in (outbox or mail.outbox) for addr in message.to)


def esp_reports(row: Recipient, kind: str, *, at: datetime | None = None, n: int = 0) -> None:
    """The ESP reports ``kind`` (delivered, opened, bounced...) about ``row`` through
    its webhook, as Mailgun would: stored by the same service the webhook calls."""
    tracking_event_record(
        event=AnymailTrackingEvent(
            event_type=kind,
            event_id=f"{row.pk}-{kind}-{n}",
            recipient=row.email,
            metadata={"recipient_id": str(row.pk)},
            timestamp=at or timezone.now(),
        ),
        esp_name="Mailgun",
    )
