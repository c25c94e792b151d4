"""The send engine: one batch task's work, never sending a row twice.

Design (see README "Email drives"):

* A drive's recipients are snapshotted into ``Recipient`` rows, numbered into
  batches of ``MAILING_BATCH_SIZE``; one Huey task per batch.
* A task works its batch in *chunks*: book the chunk on the global rate limiter,
  check the drive is still sending (pause/cancel act between chunks), then *claim*
  the rows with a conditional ``UPDATE … SET status='sending', claim=<token> WHERE
  status='queued'``. Only rows carrying its token are the task's; a duplicate task
  (a re-enqueue by the sweeper) claims nothing and moves on. This is portable
  (SQLite and PostgreSQL) and needs no long-held locks.
* Claimed rows are re-checked for current consent and suppression right before the
  ESP call, so an unsubscribe mid-drive stops every later send.
* With an ESP Anymail can batch (Mailgun: 1,000 recipients per call), the volunteer's
  merge fields were compiled into the ESP's substitution syntax and each recipient's
  escaped values travel as ``merge_data``, the recipient row id as ``merge_metadata``
  (for delivery tracking) and the List-Unsubscribe URL as ``merge_headers``: one HTTP
  call per chunk instead of one per message. Other ESPs get locally rendered
  messages over one reused connection.
* The ESP's answer settles each row: sent (with the ESP message id), failed
  (permanent refusal, with the reason; a multi-recipient call refused as a whole is
  split to find the bad address), or unknown (the call may or may not have been
  accepted: a read timeout or a dropped connection). Transient errors (429, 5xx,
  refused connections) put the rows back in the queue and re-schedule the batch with
  exponential backoff, up to ``MAILING_MAX_ATTEMPTS``.
* A consumer killed mid-call leaves its rows "sending"; the sweeper turns them into
  "unknown" once their lease passes. They are never re-sent automatically.
* **Blast radius.** A task holds at most one claim at a time and a claim is one ESP
  call (a batch of at most ``chunk_cap`` rows, or one row for ESPs without batch
  sending), so one kill leaves at most one call's rows unknown per worker thread. The
  chunk is sized from the measured time of this process's recent calls: the smallest
  that lets one worker keep up with ``EMAIL_SEND_RATE`` with 50% headroom, so a slow
  ESP at a modest rate gets small calls, and an unthrottled drive still fills calls.
* **Already sent?** Right before a send (retry, or "send again") the rows are checked
  against this drive's delivery events for the row id or address: an accepted/
  delivered/bounced/opened… event proves the message went, and the row is settled as
  sent without sending it again. A row on its first send was never handed to the ESP,
  so it has no event of this drive to find (and a forged one could only stop a send),
  so that lookup is skipped for it: a 1,000-row first chunk costs no extra query.
* **Drive ended.** Rows put back after a transient error go to "cancelled" if the drive
  was cancelled meanwhile, or stay queued (held) if it was paused: ``released_status``
  decides, under the drive's row lock, so it cannot race ``mailing_cancel``.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contacts.models import ConsentRecord, Suppression
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Mailing, Recipient
from mailings.ratelimit import rate_limiter
from mailings.services.chunks import chunk_sizer
from mailings.services.messages import (
    EspSender,
    Outcomes,
    Row,
    TransientEspError,
    chunk_cap,
    drive_context,
)
from mailings.services.report import drive_report_count_queue

logger = logging.getLogger(__name__)

EventType = DeliveryEvent.Type
# Events that prove the ESP accepted the message (the same set tracking settles on).
SENT_PROOF = frozenset(
    {
        EventType.QUEUED,
        EventType.SENT,
        EventType.DELIVERED,
        EventType.DEFERRED,
        EventType.BOUNCED,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
        EventType.OPENED,
        EventType.CLICKED,
    }
)
# Drive states in which a row put back after a transient error is cancelled, not queued.
_ENDED = (Mailing.Status.CANCELLED,)


def released_status(drive_status: str) -> str:
    """Where a row goes when its call failed transiently: the one place this is decided.

    Cancelled drive: cancelled. Sending: queued, retried with backoff. Paused: queued
    and held, the resume enqueues it. (A done drive has no sending rows by definition;
    if one appears the sweeper re-opens the drive rather than losing the row.)"""
    return Recipient.Status.CANCELLED if drive_status in _ENDED else Recipient.Status.QUEUED


def recipients_proven_sent(
    *, mailing_id: int, rows: list[tuple[int, str]], hashes: dict[int, str] | None = None
) -> dict[int, tuple]:
    """Rows (id, address) of this drive that a delivery event proves were sent.

    Returns {row id: (ESP message id, event type, when)}. Matches the event's row id or
    the address's keyed hash (events carry no address), only this drive's events.
    ``hashes`` ({row id: address hash}) saves hashing again when the caller has them."""
    if not rows:
        return {}
    ids = [pk for pk, _ in rows]
    if hashes is None:
        hashes = {pk: address_hash(email) for pk, email in rows}
    hashes = {hashed: pk for pk, hashed in hashes.items()}
    # Two plain index lookups (by row id, by address hash) rather than one OR.
    proof = DeliveryEvent.objects.filter(mailing_id=mailing_id, event_type__in=SENT_PROOF)
    fields = ("recipient_id", "address_hash", "message_id", "event_type", "occurred_at")
    events = sorted(
        [
            *proof.filter(recipient_id__in=ids).values_list(*fields),
            *proof.filter(address_hash__in=list(hashes)).values_list(*fields),
        ],
        key=lambda event: event[4],
    )
    proven: dict[int, tuple] = {}
    wanted = set(ids)
    for recipient_id, hashed, message_id, event_type, occurred in events:
        pk = recipient_id if recipient_id in wanted else hashes.get(hashed)
        if pk is not None and pk not in proven:
            proven[pk] = (message_id or "", event_type, occurred)
    return proven


def _recheck(
    rows: list[Row], *, mailing_id: int, out: Outcomes, claimed_before: set[int] | None = None
) -> tuple[list[Row], list[tuple[Row, str]]]:
    """Split claimed rows into those to send now and those to skip (why); rows a
    delivery event proves were already sent go to ``out.proven``. ``claimed_before``:
    the rows that were handed to the ESP before (None: treat every row so)."""
    # Hashed here from the address itself, so a contact row with a stale or missing
    # hash can never slip past the suppression list (or the delivery-event check).
    hashes = {row.pk: address_hash(row.email) for row in rows}
    again = [row for row in rows if claimed_before is None or row.pk in claimed_before]
    proven = recipients_proven_sent(
        mailing_id=mailing_id,
        rows=[(row.pk, row.email) for row in again],
        hashes={row.pk: hashes[row.pk] for row in again},
    )
    for row in rows:
        if row.pk in proven:
            message_id, event_type, _ = proven[row.pk]
            out.proven.append((row, message_id, event_type))
    rows = [row for row in rows if row.pk not in proven]
    contact_ids = [row.contact_id for row in rows if row.contact_id]
    # The same rule as Contact.objects.mailable(), asked of the consent table by id so
    # the plan stays an index lookup whatever the planner's statistics say.
    consented = set(
        ConsentRecord.objects.filter(contact_id__in=contact_ids)
        .current()
        .filter(channel=ConsentRecord.Channel.EMAIL)
        .order_by()
        .values_list("contact_id", flat=True)
    )
    suppressed = set(
        Suppression.objects.filter(address_hash__in=list(hashes.values())).values_list(
            "address_hash", flat=True
        )
    )
    keep, skip = [], []
    for row in rows:
        if row.contact_id is None:
            skip.append((row, "Contact erased"))
        elif hashes[row.pk] in suppressed:
            skip.append((row, "Address suppressed"))
        elif row.contact_id not in consented:
            skip.append((row, "No current consent"))
        elif row.contact_email.strip().lower() != row.email.strip().lower():
            skip.append((row, "Address changed since the drive started"))
        else:
            keep.append(row)
    return keep, skip


def _settle(*, token: str, out: Outcomes, skipped: list[tuple[Row, str]]) -> None:
    now = timezone.now()
    mine = Recipient.objects.filter(claim=token)
    for row, message_id, event_type in out.proven:
        mine.filter(pk=row.pk).update(
            status=Recipient.Status.SENT,
            esp_message_id=message_id[:255],
            esp_status=str(event_type)[:32],
            esp_check=Recipient.EspCheck.SENT,
            esp_checked_at=now,
            error=f"Not sent again: the ESP had already reported it {event_type}",
            lease_until=None,
        )
    for status, pairs in (
        (Recipient.Status.SKIPPED, skipped),
        (Recipient.Status.FAILED, out.failed),
        (Recipient.Status.UNKNOWN, out.unknown),
    ):
        by_reason: dict[str, list[int]] = {}
        for row, reason in pairs:
            by_reason.setdefault(reason, []).append(row.pk)
        for reason, ids in by_reason.items():
            mine.filter(pk__in=ids).update(status=status, error=reason[:500], lease_until=None)
    by_id: dict[tuple[str, str], list[int]] = {}
    for row, message_id, esp_status in out.sent:
        by_id.setdefault((message_id, esp_status), []).append(row.pk)
    if len(by_id) <= 20:
        # Batch ESPs give one message id per call: one UPDATE settles the chunk.
        for (message_id, esp_status), ids in by_id.items():
            # A row the sweeper already called "unknown" is settled by what we now know.
            mine.filter(pk__in=ids).update(
                status=Recipient.Status.SENT,
                sent_at=now,
                esp_message_id=message_id[:255],
                esp_status=esp_status[:32],
                error="",
                lease_until=None,
            )
    else:
        rows = [
            Recipient(
                pk=row.pk,
                status=Recipient.Status.SENT,
                sent_at=now,
                lease_until=None,
                error="",
                esp_message_id=message_id[:255],
                esp_status=esp_status[:32],
            )
            for row, message_id, esp_status in out.sent
        ]
        Recipient.objects.bulk_update(
            rows,
            ["status", "sent_at", "lease_until", "error", "esp_message_id", "esp_status"],
            batch_size=500,
        )


def _release(*, mailing_id: int, token: str, reason: str) -> int | None:
    """Put rows back after a transient error; rows out of attempts fail.

    Under the drive's row lock (``mailing_cancel`` takes it too), so a cancel either
    comes first and the rows are cancelled here, or comes after and cancels them as
    queued rows. Returns the most attempts of the rows re-queued for a retry (None if
    there is nothing to retry: none left, or the drive is not sending)."""
    with transaction.atomic():
        drive_status = (
            Mailing.objects.select_for_update()
            .filter(pk=mailing_id)
            .values_list("status", flat=True)
            .first()
        )
        mine = Recipient.objects.filter(claim=token, status=Recipient.Status.SENDING)
        mine.filter(attempts__gte=settings.MAILING_MAX_ATTEMPTS - 1).update(
            status=Recipient.Status.FAILED,
            attempts=F("attempts") + 1,
            error=f"Gave up after {settings.MAILING_MAX_ATTEMPTS} attempts: {reason}"[:500],
            lease_until=None,
        )
        fate = released_status(drive_status or Mailing.Status.CANCELLED)
        ids = list(mine.values_list("pk", flat=True))
        if fate == Recipient.Status.CANCELLED:
            mine.update(
                status=Recipient.Status.CANCELLED,
                attempts=F("attempts") + 1,
                error=f"Drive cancelled after a failed attempt: {reason}"[:500],
                lease_until=None,
                claim="",
            )
            return None
        mine.update(
            status=Recipient.Status.QUEUED,
            attempts=F("attempts") + 1,
            error=reason[:500],
            lease_until=None,
            claim="",
        )
    if drive_status != Mailing.Status.SENDING or not ids:
        return None  # paused: held for the resume, which enqueues them
    return (
        Recipient.objects.filter(pk__in=ids, status=Recipient.Status.QUEUED)
        .order_by("-attempts")
        .values_list("attempts", flat=True)
        .first()
    )


def retry_delay(attempts: int) -> float:
    base = settings.MAILING_RETRY_BASE_SECONDS
    return min(300.0, base * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    proven: int = 0  # settled as sent without sending: a delivery event proved it went
    retry_in: float | None = None
    stopped: str = ""


def _sending(mailing_id: int) -> bool:
    return Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).exists()


def _wait(seconds: float, mailing_id: int) -> bool:
    """Sleep for the rate limiter, checking each second that the drive still runs."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        if left > 1.0 and not _sending(mailing_id):
            return False
    return True


def mailing_batch_send(*, mailing_id: int, batch: int, connection=None) -> BatchResult:
    """Send every queued row of one batch of a sending drive (see module docstring)."""
    result = BatchResult()
    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is None or mailing.status != Mailing.Status.SENDING:
        result.stopped = "not sending"
        return result
    connection = connection or get_connection()
    context = drive_context(mailing=mailing, connection=connection)
    sender = EspSender(context=context, connection=connection)
    connection.open()
    try:
        with chunk_sizer.sending():
            _send_chunks(mailing_id=mailing_id, batch=batch, sender=sender, result=result)
    finally:
        connection.close()
    # One line per batch task, in the log of the consumer that ran it: with several
    # consumers (on several machines) it says which one sent what.
    logger.info(
        "Drive %s batch %s: %s sent, %s failed, %s skipped, %s unknown, %s already sent%s",
        mailing_id,
        batch,
        result.sent,
        result.failed,
        result.skipped,
        result.unknown,
        result.proven,
        f"; stopped: {result.stopped}" if result.stopped else "",
    )
    if not result.stopped:
        mailing_finish_if_settled(mailing_id=mailing_id)
    return result


def _send_chunks(*, mailing_id: int, batch: int, sender: EspSender, result: BatchResult) -> None:
    """Claim, check, send and settle one chunk (one ESP call) after another."""
    esp_name = sender.context.esp_name
    limiter = rate_limiter(esp=esp_name)
    cap = chunk_cap(esp_name=esp_name, batched=sender.context.batched)
    queued = Recipient.objects.filter(
        mailing_id=mailing_id, batch=batch, status=Recipient.Status.QUEUED
    )
    while True:
        size = chunk_sizer.size(esp_name=esp_name, cap=cap)
        picked = list(
            queued.order_by("pk").values_list("pk", "claimed_at", "attempts", "error")[:size]
        )
        if not picked:
            return
        ids = [pk for pk, *_ in picked]
        # Only a row handed to the ESP before (a retry, a "send again") can have been
        # sent already; an untouched row has no delivery event of this drive to find.
        claimed_before = {
            pk for pk, claimed_at, attempts, error in picked if claimed_at or attempts or error
        }
        if not _wait(limiter.reserve(len(ids)), mailing_id) or not _sending(mailing_id):
            result.stopped = "paused or cancelled"
            return
        began = time.monotonic()
        token = uuid.uuid4().hex
        now = timezone.now()
        lease = now + timedelta(seconds=settings.MAILING_LEASE_SECONDS)
        claimed = Recipient.objects.filter(pk__in=ids, status=Recipient.Status.QUEUED).update(
            status=Recipient.Status.SENDING, claim=token, lease_until=lease, claimed_at=now
        )
        if not claimed:
            continue  # another task took them
        rows = Row.claimed(token)
        out = Outcomes()
        keep, skipped = _recheck(
            rows, mailing_id=mailing_id, out=out, claimed_before=claimed_before
        )
        transient = None
        if keep:
            try:
                sender.send(keep, out)
            except TransientEspError as exc:
                transient = str(exc)
        _settle(token=token, out=out, skipped=skipped)
        result.sent += len(out.sent)
        result.failed += len(out.failed)
        result.unknown += len(out.unknown)
        result.skipped += len(skipped)
        result.proven += len(out.proven)
        Mailing.objects.filter(pk=mailing_id).update(progress_at=timezone.now())
        if transient is not None:
            attempts = _release(mailing_id=mailing_id, token=token, reason=transient)
            if attempts is not None:
                result.retry_in = retry_delay(attempts)
                _schedule_retry(mailing_id, batch, result.retry_in)
            logger.info(
                "Drive %s batch %s: transient ESP error, retry in %.1fs",
                mailing_id,
                batch,
                result.retry_in or 0,
            )
            return
        if keep:
            chunk_sizer.observe(esp_name=esp_name, seconds=time.monotonic() - began)


def _schedule_retry(mailing_id: int, batch: int, delay: float) -> None:
    from mailings.tasks import mailing_batch_task

    transaction.on_commit(
        lambda: mailing_batch_task.schedule(args=(mailing_id, batch), delay=delay)
    )


def mailing_finish_if_settled(*, mailing_id: int) -> bool:
    """Mark a sending drive done once its audience is listed and no row is queued or
    sending.

    The drive's row is locked first and its rows asked about after: an UPDATE that
    waited for the lock (held while the rest of a big audience is listed) would re-check
    the drive's own row but answer "anything unsettled?" from before the wait, blind to
    the rows just listed. A row re-queued after the check finds the drive done and
    re-opens it (``recipients_requeue``, ``drive_settle_stragglers``)."""
    with transaction.atomic():
        rows = (
            Mailing.objects.select_for_update()
            .filter(pk=mailing_id, status=Mailing.Status.SENDING, snapshot_after__isnull=True)
            .values_list("recipient_count", flat=True)
            .first()
        )
        if rows is None:
            return False
        unsettled = Recipient.objects.filter(
            mailing_id=mailing_id,
            status__in=[Recipient.Status.QUEUED, Recipient.Status.SENDING],
        )
        if unsettled.exists():
            return False
        Mailing.objects.filter(pk=mailing_id).update(
            status=Mailing.Status.DONE, finished_at=timezone.now()
        )
        drive_report_count_queue(mailing_id=mailing_id, rows=rows)
        return True


def recipient_settle_unknown(*, recipient: Recipient, message_id: str = "") -> bool:
    """An ESP event (delivered, bounced…) proves an "unknown" row was sent: settle it.

    Only rows still unknown change, so replayed events change nothing. (A row queued
    again meanwhile is caught by the pre-send check against the same events.)"""
    changes = {
        "status": Recipient.Status.SENT,
        "error": "",
        "esp_check": Recipient.EspCheck.SENT,
        "esp_checked_at": timezone.now(),
    }
    if message_id and not recipient.esp_message_id:
        changes["esp_message_id"] = message_id[:255]
    return bool(
        Recipient.objects.filter(pk=recipient.pk, status=Recipient.Status.UNKNOWN).update(**changes)
    )
