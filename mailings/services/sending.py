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
from mailings.models import Mailing, Recipient
from mailings.ratelimit import rate_limiter
from mailings.services.messages import (
    EspSender,
    Outcomes,
    Row,
    TransientEspError,
    chunk_size,
    drive_context,
)

logger = logging.getLogger(__name__)


def _recheck(rows: list[Row]) -> tuple[list[Row], list[tuple[Row, str]]]:
    """Split claimed rows into those still mailable now and those to skip (why)."""
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
    # Hashed here from the address itself, so a contact row with a stale or missing
    # hash can never slip past the suppression list.
    hashes = {row.pk: address_hash(row.email) for row in rows}
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


def _release(*, token: str, reason: str) -> None:
    """Put rows back after a transient error; rows out of attempts fail."""
    mine = Recipient.objects.filter(claim=token, status=Recipient.Status.SENDING)
    mine.filter(attempts__gte=settings.MAILING_MAX_ATTEMPTS - 1).update(
        status=Recipient.Status.FAILED,
        attempts=F("attempts") + 1,
        error=f"Gave up after {settings.MAILING_MAX_ATTEMPTS} attempts: {reason}"[:500],
        lease_until=None,
    )
    mine.update(
        status=Recipient.Status.QUEUED,
        attempts=F("attempts") + 1,
        error=reason[:500],
        lease_until=None,
        claim="",
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
    limiter = rate_limiter(esp=context.esp_name)
    size = chunk_size(esp_name=context.esp_name, batched=context.batched)
    queued = Recipient.objects.filter(
        mailing_id=mailing_id, batch=batch, status=Recipient.Status.QUEUED
    )
    connection.open()
    try:
        while True:
            ids = list(queued.order_by("pk").values_list("pk", flat=True)[:size])
            if not ids:
                break
            if not _wait(limiter.reserve(len(ids)), mailing_id) or not _sending(mailing_id):
                result.stopped = "paused or cancelled"
                return result
            token = uuid.uuid4().hex
            lease = timezone.now() + timedelta(seconds=settings.MAILING_LEASE_SECONDS)
            claimed = Recipient.objects.filter(pk__in=ids, status=Recipient.Status.QUEUED).update(
                status=Recipient.Status.SENDING, claim=token, lease_until=lease
            )
            if not claimed:
                continue  # another task took them
            rows = Row.claimed(token)
            keep, skipped = _recheck(rows)
            out = Outcomes()
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
            Mailing.objects.filter(pk=mailing_id).update(progress_at=timezone.now())
            if transient is not None:
                _release(token=token, reason=transient)
                attempts = (
                    Recipient.objects.filter(claim="", pk__in=ids, status=Recipient.Status.QUEUED)
                    .order_by("-attempts")
                    .values_list("attempts", flat=True)
                    .first()
                )
                if attempts is not None:
                    result.retry_in = retry_delay(attempts)
                    _schedule_retry(mailing_id, batch, result.retry_in)
                logger.info(
                    "Drive %s batch %s: transient ESP error, retry in %.1fs",
                    mailing_id,
                    batch,
                    result.retry_in or 0,
                )
                break
    finally:
        connection.close()
    mailing_finish_if_settled(mailing_id=mailing_id)
    return result


def _schedule_retry(mailing_id: int, batch: int, delay: float) -> None:
    from mailings.tasks import mailing_batch_task

    transaction.on_commit(
        lambda: mailing_batch_task.schedule(args=(mailing_id, batch), delay=delay)
    )


def mailing_finish_if_settled(*, mailing_id: int) -> bool:
    """Mark a sending drive done once no row is queued or sending."""
    if Recipient.objects.filter(
        mailing_id=mailing_id, status__in=[Recipient.Status.QUEUED, Recipient.Status.SENDING]
    ).exists():
        return False
    return bool(
        Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).update(
            status=Mailing.Status.DONE, finished_at=timezone.now()
        )
    )


def recipient_settle_unknown(*, recipient: Recipient, message_id: str = "") -> bool:
    """An ESP event (delivered, bounced…) proves an "unknown" row was sent: settle it.

    Only rows still unknown change, so replayed events change nothing."""
    changes = {"status": Recipient.Status.SENT, "error": ""}
    if message_id and not recipient.esp_message_id:
        changes["esp_message_id"] = message_id[:255]
    return bool(
        Recipient.objects.filter(pk=recipient.pk, status=Recipient.Status.UNKNOWN).update(**changes)
    )
