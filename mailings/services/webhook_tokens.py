"""Signed webhooks' one-time tokens: each accepted once, inside a time window, so a
captured signature cannot be replayed with another event (mailings/webhooks.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from anymail.exceptions import AnymailWebhookValidationFailure
from django.conf import settings
from django.db import connection
from django.utils import timezone

from mailings.models import WebhookToken


def webhook_token_claim(
    *, esp: str, token: str, timestamp: str, body: bytes, now: datetime | None = None
) -> bool:
    """Accept a signed (timestamp, token) once: True when new, False for a retry of the
    same body; raises AnymailWebhookValidationFailure for a stale time or a replay."""
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
    digest = hashlib.sha256(body).hexdigest()
    # One statement, no savepoint: the caller's transaction also holds the events, so a
    # webhook costs one commit, and a failure handling them forgets the token with them.
    table = connection.ops.quote_name(WebhookToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (esp, token, body_digest, seen_at) VALUES (%s, %s, %s, %s) "  # noqa: S608 - our own table name
            "ON CONFLICT (esp, token) DO NOTHING RETURNING id",
            [esp, token, digest, connection.ops.adapt_datetimefield_value(now)],
        )
        if cursor.fetchone() is not None:
            return True
    seen = WebhookToken.objects.filter(esp=esp, token=token).values_list("body_digest", flat=True)
    if digest in seen:
        return False
    raise AnymailWebhookValidationFailure("Webhook token was already used.")


def webhook_tokens_forget(*, now: datetime | None = None) -> int:
    """Drop tokens whose timestamps would be refused anyway; returns how many."""
    now = now or timezone.now()
    # Twice the window: a timestamp may lie up to one window in the future too.
    cutoff = now - 2 * timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS)
    deleted, _ = WebhookToken.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
