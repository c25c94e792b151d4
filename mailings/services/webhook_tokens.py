"""Signed webhooks' one-time tokens: each accepted once, inside a time window, so a
captured signature cannot be replayed with another event (mailings/webhooks.py).

A claim is checked first (``webhook_claim_make``: time window, token length) and
stored later, in the same transaction or statement as the events it carries: by
``webhook_claim_store``, or, for an ordinary event on PostgreSQL, inside the one
statement that stores the event (mailings/services/tracking_plain.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anymail.exceptions import AnymailWebhookValidationFailure
from django.conf import settings
from django.db import connection
from django.utils import timezone

from mailings.models import WebhookToken


@dataclass(frozen=True)
class WebhookClaim:
    """A signed webhook's token, checked but not yet stored."""

    esp: str
    token: str
    body_digest: str
    seen_at: datetime


def webhook_claim_make(
    *, esp: str, token: str, timestamp: str, body: bytes, now: datetime | None = None
) -> WebhookClaim:
    """The claim a signed (timestamp, token) makes; raises
    AnymailWebhookValidationFailure for a time outside the window or a bad token."""
    now = now or timezone.now()
    try:
        stamp = datetime.fromtimestamp(float(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise AnymailWebhookValidationFailure("Webhook timestamp is not a time.") from None
    window = timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS)
    if abs(now - stamp) > window:
        raise AnymailWebhookValidationFailure(
            f"Webhook timestamp {stamp:%Y-%m-%d %H:%M:%S} UTC is outside the accepted "
            f"{settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS} s window (a replay, or a clock off)."
        )
    if not token or len(token) > 128:
        raise AnymailWebhookValidationFailure("Webhook token is missing or too long.")
    return WebhookClaim(
        esp=esp, token=token, body_digest=hashlib.sha256(body).hexdigest(), seen_at=now
    )


def webhook_claim_store(*, claim: WebhookClaim) -> bool:
    """Store the claim: True when the token is new, False for a retry of the same body;
    raises AnymailWebhookValidationFailure for the token reused with another body."""
    # One statement, no savepoint: the caller's transaction also holds the events, so a
    # webhook costs one commit, and a failure handling them forgets the token with them.
    table = connection.ops.quote_name(WebhookToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (esp, token, body_digest, seen_at) VALUES (%s, %s, %s, %s) "  # noqa: S608 - our own table name
            "ON CONFLICT (esp, token) DO NOTHING RETURNING id",
            [
                claim.esp,
                claim.token,
                claim.body_digest,
                connection.ops.adapt_datetimefield_value(claim.seen_at),
            ],
        )
        if cursor.fetchone() is not None:
            return True
    # Seen before: the ESP retrying this very body, or a replay with another.
    seen = WebhookToken.objects.filter(esp=claim.esp, token=claim.token).values_list(
        "body_digest", flat=True
    )
    if claim.body_digest in seen:
        return False
    raise AnymailWebhookValidationFailure("Webhook token was already used.")


def webhook_tokens_forget(*, now: datetime | None = None) -> int:
    """Drop tokens whose timestamps would be refused anyway; returns how many."""
    now = now or timezone.now()
    # Twice the window: a timestamp may lie up to one window in the future too.
    cutoff = now - 2 * timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS)
    deleted, _ = WebhookToken.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
