"""Delivery tracking: what the ESP reports after a drive leaves, and the guards it drives.

Anymail turns each ESP's webhook into normalised ``AnymailTrackingEvent`` objects and
sends the ``tracking`` signal inside the request (mailings/signals.py). Each event is:

* stored once: one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on a unique
  (ESP, event key), so a retried webhook or a replayed burst changes nothing, and
  only a newly stored event has side effects;
* matched to its recipient row by the row id in the message's metadata (falling
  back to the ESP message id + address, for batch sends);
* acted on: hard bounces, complaints and unsubscribes withdraw consent and suppress
  the address at once; repeated soft bounces to one address suppress it; a
  delivered/bounced/opened… event settles a row a crash left "unknown"; complaints
  and hard bounces re-check the drive's automatic-pause guard.

An ordinary event (delivered, opened, clicked) costs one statement on PostgreSQL
(find the row and insert the event together, mailings/services/tracking_plain.py) and
two elsewhere. A Mailgun webhook carrying one claims its one-time token in that same
statement (``tracking_event_record_claimed``, called by mailings/webhooks.py itself
rather than through the signal).
"""

from __future__ import annotations

import hashlib
import logging
import re
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaign.selectors import organiser_emails
from contacts.models import ConsentRecord, Contact
from contacts.services import consent_withdraw, suppression_add
from contacts.services.consent import SUPPRESS_AS
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Mailing, MailingGuard, Recipient
from mailings.selectors import recipient_for_event
from mailings.services.drive import mailing_pause
from mailings.services.messages import METADATA_RECIPIENT_ID
from mailings.services.sending import recipient_settle_unknown
from mailings.services.tracking_plain import PlainStored, plain_event_store
from mailings.services.webhook_tokens import WebhookClaim

logger = logging.getLogger(__name__)

Type = DeliveryEvent.Type
Bounce = DeliveryEvent.Bounce

TYPES = {
    EventType.QUEUED: Type.QUEUED,
    EventType.SENT: Type.SENT,
    EventType.DELIVERED: Type.DELIVERED,
    EventType.DEFERRED: Type.DEFERRED,
    EventType.BOUNCED: Type.BOUNCED,
    EventType.REJECTED: Type.REJECTED,
    EventType.FAILED: Type.FAILED,
    EventType.COMPLAINED: Type.COMPLAINED,
    EventType.UNSUBSCRIBED: Type.UNSUBSCRIBED,
    EventType.OPENED: Type.OPENED,
    EventType.CLICKED: Type.CLICKED,
}
# Events that prove a message reached the ESP, so an "unknown" row was in fact sent.
PROOF_OF_SENDING = {
    Type.QUEUED,
    Type.SENT,
    Type.DELIVERED,
    Type.DEFERRED,
    Type.BOUNCED,
    Type.COMPLAINED,
    Type.UNSUBSCRIBED,
    Type.OPENED,
    Type.CLICKED,
}
# Events that never suppress, settle or pause anything (unless their row is unknown).
PLAIN_TYPES = {Type.QUEUED, Type.SENT, Type.DELIVERED, Type.OPENED, Type.CLICKED, Type.FAILED}
# ESP refusals that mean the address itself is bad (the ESP's own bounce list).
BAD_ADDRESS_REJECTS = {"bounced", "invalid"}
_ADDRESS = re.compile(r"[^\s<>\"'()]+@[^\s<>\"'()]+")


@dataclass(frozen=True)
class Outcome:
    """What recording one event did (for tests, logs and the benchmark)."""

    stored: bool
    recipient_id: int | None = None
    suppressed: str = ""
    settled: bool = False
    paused: bool = False


def esp_slug(esp_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (esp_name or "unknown").lower()).strip("_")[:32]


def bounce_kind(*, event: AnymailTrackingEvent, esp: str) -> str:
    """hard (permanent), soft (temporary) or "" for a non-bounce event.

    Anymail calls most ESPs' soft bounces "deferred", but some report them as
    "bounced" and say so only in the raw event."""
    if event.event_type == EventType.DEFERRED:
        return Bounce.SOFT
    if event.event_type != EventType.BOUNCED:
        return Bounce.NONE
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if esp == "postmark" and raw.get("Type") == "SoftBounce":
        return Bounce.SOFT
    if esp in ("brevo", "sendinblue") and raw.get("event") == "soft_bounce":
        return Bounce.SOFT
    if esp == "amazon_ses" and (raw.get("bounce") or {}).get("bounceType") in (
        "Transient",
        "Undetermined",
    ):
        return Bounce.SOFT
    return Bounce.HARD


def event_key(*, event: AnymailTrackingEvent, event_type: str, email: str) -> str:
    """A stable identity for the event: some ESPs send one event id for several
    recipients (SES), some none at all (Postmark deliveries, Brevo)."""
    if event.event_id:
        basis = f"id|{event.event_id}|{event_type}|{email}"
    else:
        stamp = event.timestamp.isoformat() if event.timestamp else ""
        basis = f"x|{event_type}|{event.message_id or ''}|{email}|{stamp}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _scrub(text: object) -> str:
    return _ADDRESS.sub("[address]", " ".join(str(text or "").split()))[:300]


def _insert(values: dict) -> int | None:
    """Insert the event unless its key is known; its id, or None for a duplicate."""
    table = connection.ops.quote_name(DeliveryEvent._meta.db_table)
    columns = list(values)
    # Only our own table and column names are interpolated; values go as parameters.
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
    sql += "ON CONFLICT (esp, event_key) DO NOTHING RETURNING id"
    params = [
        connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
        for v in values.values()
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _recipient(event: AnymailTrackingEvent, email: str) -> Recipient | None:
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    message_id = str(event.message_id or "")
    found = recipient_for_event(
        recipient_id=metadata.get(METADATA_RECIPIENT_ID), message_id=message_id, email=email
    )
    if found is not None and email and found.email.lower() != email:
        # Metadata naming another row's id (a forwarded or forged message): trust the
        # ESP's message id and address instead.
        found = recipient_for_event(message_id=message_id, email=email)
    return found


class _Described(NamedTuple):
    values: dict  # the DeliveryEvent's columns, but for its drive and row
    metadata: dict
    email: str
    event_type: str
    bounce: str
    hashed: str

    @property
    def plain(self) -> bool:
        return self.event_type in PLAIN_TYPES and self.bounce == Bounce.NONE


def _describe(event: AnymailTrackingEvent, esp_name: str) -> _Described:
    esp = esp_slug(esp_name)
    event_type = TYPES.get(event.event_type, Type.OTHER)
    email = (event.recipient or "").strip().lower()
    bounce = bounce_kind(event=event, esp=esp)
    now = timezone.now()
    occurred = event.timestamp or now
    if timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred, UTC)
    hashed = address_hash(email) if email else ""
    values = {
        "esp": esp,
        "event_key": event_key(event=event, event_type=event_type, email=email),
        "event_type": event_type,
        "bounce": bounce,
        "occurred_at": occurred,
        "received_at": now,
        "address_hash": hashed,
        "message_id": str(event.message_id or "")[:255],
        "reject_reason": str(event.reject_reason or "")[:24],
        "description": _scrub(event.description or event.mta_response),
    }
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    return _Described(values, metadata, email, event_type, bounce, hashed)


def _plain_outcome(done: PlainStored, *, message_id: str) -> Outcome:
    if done.event_id is None:
        return Outcome(stored=False)
    settled = False
    if done.recipient_id is not None and done.status == Recipient.Status.UNKNOWN:
        # Idempotent: only a row still unknown changes.
        settled = recipient_settle_unknown(
            recipient=Recipient(pk=done.recipient_id, esp_message_id=done.esp_message_id),
            message_id=message_id,
        )
    return Outcome(stored=True, recipient_id=done.recipient_id, settled=settled)


def tracking_event_record_claimed(
    *, event: AnymailTrackingEvent, esp_name: str, claim: WebhookClaim
) -> Outcome | None:
    """Store an ordinary event (delivered, opened, clicked…) and claim its webhook's
    token in one statement, on PostgreSQL (mailings/services/tracking_plain.py).

    A token seen before with this very body is the ESP retrying: nothing changes
    (stored False). Seen with another body, it raises AnymailWebhookValidationFailure.
    None when this cannot decide, and nothing was written: another database, an event
    with side effects, a row left "unknown", a token another request is storing. The
    caller then claims the token and records the event in one transaction."""
    if connection.vendor != "postgresql":
        return None
    event_type = TYPES.get(event.event_type, Type.OTHER)
    if (
        event_type not in PLAIN_TYPES
        or bounce_kind(event=event, esp=esp_slug(esp_name)) != Bounce.NONE
    ):
        return None  # decided before the hashing: these go the other way
    described = _describe(event, esp_name)
    done = plain_event_store(
        values=described.values, metadata=described.metadata, email=described.email, claim=claim
    )
    if done.claimed:
        return _plain_outcome(done, message_id=described.values["message_id"])
    if done.seen_digest is None:
        return None
    if done.seen_digest == claim.body_digest:
        return Outcome(stored=False)
    raise AnymailWebhookValidationFailure("Webhook token was already used.")


def tracking_event_record(*, event: AnymailTrackingEvent, esp_name: str) -> Outcome:
    """Store one tracking event once and act on it (see module docstring)."""
    values, metadata, email, event_type, bounce, hashed = described = _describe(event, esp_name)
    if described.plain and connection.vendor == "postgresql":
        done = plain_event_store(values=values, metadata=metadata, email=email)
        return _plain_outcome(done, message_id=values["message_id"])
    esp = values["esp"]
    recipient = _recipient(event, email) if (email or metadata) else None
    # Only some events have side effects; an ordinary one (delivered, opened…) is a
    # single INSERT, atomic on its own, so it skips the BEGIN/COMMIT round trips.
    plain = (
        event_type in PLAIN_TYPES
        and bounce == Bounce.NONE
        and (recipient is None or recipient.status != Recipient.Status.UNKNOWN)
    )
    # Inside a webhook's own transaction (Mailgun's, with its token) no savepoint: a
    # failure here fails the request, and the whole transaction goes with it.
    with nullcontext() if plain else transaction.atomic(savepoint=False):
        stored = _insert(
            {
                **values,
                "mailing_id": recipient.mailing_id if recipient else None,
                "recipient_id": recipient.pk if recipient else None,
            }
        )
        if stored is None:
            return Outcome(stored=False, recipient_id=recipient.pk if recipient else None)
        settled = False
        if (
            recipient is not None
            and recipient.status == Recipient.Status.UNKNOWN
            and event_type in PROOF_OF_SENDING
        ):
            settled = recipient_settle_unknown(
                recipient=recipient, message_id=str(event.message_id or "")
            )
        how = _withdrawal(event_type=event_type, bounce=bounce, event=event, hashed=hashed)
        if how is not None and email:
            _withdraw(
                email=email,
                hashed=hashed,
                contact_id=recipient.contact_id if recipient else None,
                how=how,
                source=f"{esp} webhook: {ConsentRecord.WithdrawnHow(how).label.lower()}",
            )
        paused = False
        if recipient is not None and (event_type == Type.COMPLAINED or bounce == Bounce.HARD):
            paused = mailing_guard_check(mailing_id=recipient.mailing_id)
    return Outcome(
        stored=True,
        recipient_id=recipient.pk if recipient else None,
        suppressed=str(how or ""),
        settled=settled,
        paused=paused,
    )


def _withdrawal(
    *, event_type: str, bounce: str, event: AnymailTrackingEvent, hashed: str
) -> ConsentRecord.WithdrawnHow | None:
    How = ConsentRecord.WithdrawnHow
    if event_type == Type.COMPLAINED:
        return How.COMPLAINT
    if event_type == Type.UNSUBSCRIBED:
        return How.ONE_CLICK
    if bounce == Bounce.HARD:
        return How.HARD_BOUNCE
    if event_type == Type.REJECTED and str(event.reject_reason or "") in BAD_ADDRESS_REJECTS:
        return How.HARD_BOUNCE
    if (
        bounce == Bounce.SOFT
        and hashed
        and soft_bounce_count(address_hash=hashed) >= (settings.TRACKING_SOFT_BOUNCE_LIMIT)
    ):
        return How.SOFT_BOUNCES
    return None


def soft_bounce_count(*, address_hash: str) -> int:
    """Distinct messages to one address that soft-bounced within the window (an ESP
    retrying one message reports it several times; that is one soft bounce)."""
    since = timezone.now() - timedelta(days=settings.TRACKING_SOFT_BOUNCE_DAYS)
    events = DeliveryEvent.objects.filter(
        address_hash=address_hash, bounce=Bounce.SOFT, occurred_at__gte=since
    )
    counts = events.aggregate(
        by_row=Count("recipient", distinct=True, filter=Q(recipient__isnull=False)),
        by_message=Count(
            "message_id",
            distinct=True,
            filter=Q(recipient__isnull=True) & ~Q(message_id=""),
        ),
    )
    return counts["by_row"] + counts["by_message"]


def _withdraw(
    *,
    email: str,
    hashed: str,
    contact_id: int | None,
    how: ConsentRecord.WithdrawnHow,
    source: str,
) -> None:
    """Withdraw email consent of everyone at the address, and suppress the address
    itself even if no contact holds it any more (erased, or changed since)."""
    who = Q(email_hash=hashed)
    if contact_id:
        who |= Q(pk=contact_id)
    contacts = Contact.objects.filter(who)
    if contacts.exists():
        consent_withdraw(contacts=contacts, how=how, source=source)
    suppression_add(email=email, reason=SUPPRESS_AS[how], source=source)


def delivery_rates(*, mailing_id: int, since: datetime | None = None) -> dict[str, int]:
    """Distinct recipients delivered-or-bounced, complaining, hard-bouncing (among
    events received after ``since``, if given)."""
    events = DeliveryEvent.objects.filter(mailing_id=mailing_id, recipient__isnull=False)
    if since is not None:
        events = events.filter(received_at__gt=since)
    return events.aggregate(
        reached=Count(
            "recipient",
            distinct=True,
            filter=Q(event_type__in=[Type.DELIVERED, Type.BOUNCED]),
        ),
        complaints=Count("recipient", distinct=True, filter=Q(event_type=Type.COMPLAINED)),
        hard_bounces=Count("recipient", distinct=True, filter=Q(bounce=Bounce.HARD)),
    )


def guard_verdict(*, counts: dict[str, int]) -> str:
    """Why the drive must pause, or "" if it may go on."""
    reached = counts["reached"]
    if reached < settings.MAILING_PAUSE_MIN_MESSAGES:
        return ""
    for key, limit, label in (
        ("complaints", settings.MAILING_PAUSE_COMPLAINT_RATE, "Spam-complaint"),
        ("hard_bounces", settings.MAILING_PAUSE_HARD_BOUNCE_RATE, "Hard-bounce"),
    ):
        rate = counts[key] * 100.0 / reached
        if rate > limit:
            return (
                f"Paused automatically: {label} rate {rate:.2f}% passed the {limit:g}% limit "
                f"({counts[key]} of {reached} delivered or bounced). Check the audience "
                "and the message before resuming."
            )
    return ""


def mailing_guard_check(*, mailing_id: int) -> bool:
    """Pause a sending drive whose complaint or hard-bounce rate is over its limit,
    and tell its sender and approver why. True if this call paused it."""
    if not Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).exists():
        return False
    # A drive resumed after a guard pause is judged on what came after that pause.
    since = (
        MailingGuard.objects.filter(mailing_id=mailing_id)
        .values_list("paused_at", flat=True)
        .first()
    )
    reason = guard_verdict(counts=delivery_rates(mailing_id=mailing_id, since=since))
    if not reason:
        return False
    mailing = Mailing.objects.select_related("created_by", "approved_by").get(pk=mailing_id)
    try:
        mailing_pause(actor=None, mailing=mailing, reason=reason)
    except ValidationError:
        return False  # paused, cancelled or finished meanwhile
    MailingGuard.objects.update_or_create(
        mailing_id=mailing_id, defaults={"paused_at": timezone.now(), "reason": reason}
    )
    logger.warning("Drive %s paused by the deliverability guard", mailing_id)
    # The sender, its approver and every organiser: the campaign's reputation is at stake.
    people = {u.email for u in (mailing.created_by, mailing.approved_by) if u and u.email}
    people.update(organiser_emails())
    if people:
        subject = f"Drive paused: {mailing.name}"[:150]
        transaction.on_commit(lambda: _tell(subject, reason, sorted(people)))
    return True


def _tell(subject: str, body: str, to: list[str]) -> None:
    # The pause stands whether or not the notice goes out; the reason is on the drive.
    try:
        send_mail(subject, body, None, to)
    except Exception:  # noqa: BLE001
        logger.exception("Could not email the automatic-pause notice")


def mailings_guard_sweep() -> int:
    """Re-check every sending drive (a rate can stay over its limit with no new bad
    event, e.g. complaints that came before the minimum volume). Drives paused."""
    ids = Mailing.objects.filter(status=Mailing.Status.SENDING).values_list("pk", flat=True)
    return sum(mailing_guard_check(mailing_id=pk) for pk in list(ids))
