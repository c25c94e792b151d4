"""Ordinary tracking events (delivered, opened, clicked…) on PostgreSQL, in ONE statement.

A webhook burst is bound by database round trips (each costs CPU on both sides), so
one statement finds the event's recipient row (by the metadata's row id, else by ESP
message id + address, as ``_recipient`` in tracking.py) and inserts the event. Given a
signed webhook's token (mailings/services/webhook_tokens.py), the same statement
claims it too: token and event are stored together or not at all, in autocommit, so
a Mailgun webhook is one round trip with no BEGIN or COMMIT.

With a token, the statement stores nothing when the token was seen before or the row
is "unknown". It returns the digest of the body the token first came with, so the ESP
retrying a delivery is answered (and a replay with another body refused) without
another round trip; an unknown row is settled with its event in one transaction, on
the caller's other way.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.db import connection

from mailings.models import DeliveryEvent, Recipient, WebhookToken
from mailings.services.messages import METADATA_RECIPIENT_ID
from mailings.services.webhook_tokens import WebhookClaim


class PlainStored(NamedTuple):
    """What the statement did and found."""

    claimed: bool  # the token was new and is stored now (always True with no token)
    event_id: int | None  # None: the event was stored before (or nothing was done)
    recipient_id: int | None
    status: str | None  # the row's status; None when no row matched
    esp_message_id: str
    # The body digest a token seen before came with (None when the token is new, or
    # was stored by a request still running when this statement began).
    seen_digest: str | None = None


def _row_id(metadata: dict) -> int | None:
    try:
        pk = int(str(metadata.get(METADATA_RECIPIENT_ID)))
    except (TypeError, ValueError):
        return None
    # Metadata comes from outside: a number no row id can be must not break the query.
    return pk if 0 < pk < 2**63 else None


def plain_event_store(
    *, values: dict, metadata: dict, email: str, claim: WebhookClaim | None = None
) -> PlainStored:
    """Insert an ordinary event unless its key is known, on its row, claiming the
    webhook's token with it when given (see the module docstring)."""
    params: dict = {f"v{n}": value for n, value in enumerate(values.values())}
    params.update(row=_row_id(metadata), email=email, message_id=values["message_id"])
    if claim is not None:
        params.update(
            esp=claim.esp,
            token=claim.token,
            digest=claim.body_digest,
            seen_at=claim.seen_at,
            unknown=Recipient.Status.UNKNOWN,
        )
    sql = _statement(tuple(values), claim is not None)
    claimed_now, event_id, recipient_id, status, esp_message_id, seen = _execute(sql, params)
    return PlainStored(
        bool(claimed_now), event_id, recipient_id, status, esp_message_id or "", seen
    )


@functools.cache
def _statement(columns: tuple[str, ...], with_claim: bool) -> str:
    """The statement's text: the same for every event, so it is built once."""
    quote = connection.ops.quote_name
    recipients = quote(Recipient._meta.db_table)
    events = quote(DeliveryEvent._meta.db_table)
    names = ", ".join(quote(c) for c in [*columns, "mailing_id", "recipient_id"])
    marks = ", ".join(f"%(v{n})s" for n in range(len(columns)))
    claim_cte, only_if_claimed, claimed, seen = "", "", "true", "NULL"
    if with_claim:
        # The row's status decides before anything is written: an unknown row is
        # settled with its event in one transaction, on the caller's other way.
        tokens = quote(WebhookToken._meta.db_table)
        claim_cte = f"""
        claim AS (
            INSERT INTO {tokens} (esp, token, body_digest, seen_at)
            SELECT %(esp)s, %(token)s, %(digest)s, %(seen_at)s
            WHERE NOT EXISTS (SELECT 1 FROM r WHERE status = %(unknown)s)
            ON CONFLICT (esp, token) DO NOTHING
            RETURNING id
        ),"""  # noqa: S608 - our own table name
        only_if_claimed = "WHERE EXISTS (SELECT 1 FROM claim)"
        claimed = "EXISTS (SELECT 1 FROM claim)"
        # The ESP retrying a delivery is answered from this same statement.
        seen = f"(SELECT body_digest FROM {tokens} WHERE esp = %(esp)s AND token = %(token)s)"  # noqa: S608
    # Only our own table and column names are interpolated; values go as parameters.
    return f"""
        WITH r AS (
            (SELECT id, mailing_id, status, esp_message_id FROM {recipients}
             WHERE id = %(row)s AND (%(email)s = '' OR lower(email) = %(email)s))
            UNION ALL
            (SELECT id, mailing_id, status, esp_message_id FROM {recipients}
             WHERE %(message_id)s <> '' AND %(email)s <> ''
               AND esp_message_id = %(message_id)s AND lower(email) = %(email)s
             ORDER BY id LIMIT 1)
            LIMIT 1
        ),{claim_cte}
        stored AS (
            INSERT INTO {events} ({names})
            SELECT {marks}, (SELECT mailing_id FROM r), (SELECT id FROM r)
            {only_if_claimed}
            ON CONFLICT (esp, event_key) DO NOTHING
            RETURNING id, recipient_id
        )
        SELECT {claimed}, (SELECT id FROM stored), (SELECT recipient_id FROM stored),
               (SELECT status FROM r), (SELECT esp_message_id FROM r), {seen}
    """  # noqa: S608


def _execute(sql: str, params: dict) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
