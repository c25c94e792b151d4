"""A drive's life: start (snapshot + enqueue), approval, schedule, pause, resume,
cancel, and the sweeper that keeps crashed or stalled drives honest."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.roles import Role, can, scope_for
from campaign.selectors import campaign_active
from campaign.services import audit_record
from mailings.models import Mailing, Recipient
from mailings.selectors import audience_breakdown, audience_contacts
from mailings.services.approval import mailing_approval_requested
from mailings.services.compose import mailing_validate
from mailings.services.report import drive_report_count_queue
from mailings.services.sending import (
    mailing_finish_if_settled,
    recipients_proven_sent,
    released_status,
)
from mailings.services.snapshot import (
    batches_after_insert,
    batches_enqueue,
    first_listing_bound,
    listing_enqueue,
    recipients_insert,
    statistics_refresh_queue,
)
from mailings.services.tally import recipient_tally_compact

logger = logging.getLogger(__name__)

Status = Mailing.Status


def _may_change(actor, mailing: Mailing) -> None:
    if not can(actor, "change", "mailings.mailing") or not (
        Mailing.objects.visible_to(actor).filter(pk=mailing.pk).exists()
    ):
        raise PermissionDenied("You cannot change this drive.")


def _is_organiser(actor) -> bool:
    return scope_for(actor).role == Role.ORGANISER


def _locked(mailing: Mailing) -> Mailing:
    return Mailing.objects.select_for_update().get(pk=mailing.pk)


def needs_approval(*, mailing: Mailing, size: int) -> bool:
    return mailing.approved_by_id is None and size > settings.MAILING_APPROVAL_THRESHOLD


def _launch(*, mailing: Mailing, actor) -> Mailing:
    """Snapshot the audience and enqueue its batches (inside the caller's transaction).

    A big audience has its first batch listed now and the rest in steps by a task
    queued with it (mailings/services/snapshot.py).
    """
    campaign = campaign_active()
    if campaign is None:
        raise ValidationError("Set up the active campaign (sender, ballot dates) first.")
    mailing_validate(subject=mailing.subject, body=mailing.body)
    breakdown = audience_breakdown(mailing=mailing)
    bound = first_listing_bound(mailing=mailing, mailable=breakdown["mailable"])
    mailing.batch_count = 0
    created = recipients_insert(mailing=mailing, up_to=bound)
    now = timezone.now()
    mailing.recipient_count = created
    mailing.exclusions = breakdown
    mailing.batch_count = batches_after_insert(mailing=mailing)
    mailing.snapshot_after = bound if created else None
    mailing.from_email = campaign.from_email
    mailing.reply_to = campaign.reply_to
    mailing.started_at = mailing.progress_at = now
    mailing.status = Status.SENDING if created else Status.DONE
    mailing.finished_at = None if created else now
    mailing.status_reason = ""
    mailing.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_START,
        target=mailing,
        counts={
            "recipients": mailing.audience_size,
            **{k: v for k, v in breakdown.items() if k != "mailable"},
        },
        detail={"approved_by": mailing.approved_by.get_username() if mailing.approved_by else None},
    )
    # Queued ahead of the batches, so one consumer thread refreshes the statistics
    # while the others start sending.
    statistics_refresh_queue(rows_before=0, rows_after=created, listed=not mailing.is_listing)
    batches_enqueue(mailing_id=mailing.pk, batches=range(mailing.batch_count))
    if mailing.is_listing:
        # Taken before the batches (they give way to every other task,
        # campaign/queue.py): one consumer thread lists the rest while another sends.
        listing_enqueue(mailing_id=mailing.pk)
    drive_report_count_queue(mailing_id=mailing.pk, rows=mailing.audience_size)
    return mailing


@transaction.atomic
def mailing_start(*, actor, mailing: Mailing) -> Mailing:
    """Start a drive now, or schedule it, or ask for approval if it is big.

    Returns the drive with its new status: sending (or done if nobody is mailable),
    scheduled, or awaiting approval.
    """
    _may_change(actor, mailing)
    mailing = _locked(mailing)
    if mailing.status not in (Status.DRAFT, Status.SCHEDULED):
        raise ValidationError(
            f"The drive is {mailing.get_status_display().lower()}; only a draft can start."
        )
    mailing_validate(subject=mailing.subject, body=mailing.body)
    size = audience_breakdown(mailing=mailing)["mailable"]
    if needs_approval(mailing=mailing, size=size):
        if _is_organiser(actor):
            mailing.approved_by, mailing.approved_at = actor, timezone.now()
        else:
            mailing.status = Status.AWAITING_APPROVAL
            mailing.status_reason = ""
            mailing.save(update_fields=["status", "status_reason", "updated_at"])
            mailing_approval_requested(actor=actor, mailing=mailing, size=size)
            return mailing
    if mailing.scheduled_for and mailing.scheduled_for > timezone.now():
        mailing.status = Status.SCHEDULED
        mailing.save()
        return mailing
    return _launch(mailing=mailing, actor=actor)


@transaction.atomic
def mailing_approve(*, actor, mailing: Mailing) -> Mailing:
    """An organiser approves a big drive; it then starts (or waits for its time)."""
    if not _is_organiser(actor):
        raise PermissionDenied("Only organisers can approve drives.")
    mailing = _locked(mailing)
    if mailing.status != Status.AWAITING_APPROVAL:
        raise ValidationError("The drive is not awaiting approval.")
    mailing.approved_by, mailing.approved_at = actor, timezone.now()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_APPROVE,
        target=mailing,
        counts={"audience": audience_contacts(mailing=mailing).mailable().count()},
    )
    if mailing.scheduled_for and mailing.scheduled_for > timezone.now():
        mailing.status = Status.SCHEDULED
        mailing.save()
        return mailing
    return _launch(mailing=mailing, actor=actor)


@transaction.atomic
def mailing_pause(*, actor, mailing: Mailing, reason: str = "") -> Mailing:
    """Stop sending between chunks (within seconds); queued rows wait."""
    if actor is not None:
        _may_change(actor, mailing)
    mailing = _locked(mailing)
    if mailing.status != Status.SENDING:
        raise ValidationError("Only a sending drive can be paused.")
    mailing.status = Status.PAUSED
    mailing.status_reason = (
        reason or f"Paused by {actor.get_username() if actor else 'the system'}"
    )[:300]
    mailing.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_PAUSE,
        target=mailing,
        detail={"reason": mailing.status_reason},
    )
    return mailing


@transaction.atomic
def mailing_resume(*, actor, mailing: Mailing) -> Mailing:
    _may_change(actor, mailing)
    mailing = _locked(mailing)
    if mailing.status != Status.PAUSED:
        raise ValidationError("Only a paused drive can be resumed.")
    mailing.status = Status.SENDING
    mailing.status_reason = ""
    mailing.progress_at = timezone.now()
    mailing.save(update_fields=["status", "status_reason", "progress_at", "updated_at"])
    audit_record(actor=actor, action=AuditEvent.Action.DRIVE_RESUME, target=mailing)
    batches = _queued_batches(mailing.pk)
    batches_enqueue(mailing_id=mailing.pk, batches=batches)
    if mailing.is_listing:
        listing_enqueue(mailing_id=mailing.pk)  # in case its task was lost while paused
    elif not batches:
        transaction.on_commit(lambda: mailing_finish_if_settled(mailing_id=mailing.pk))
    return mailing


@transaction.atomic
def mailing_cancel(*, actor, mailing: Mailing, reason: str = "") -> Mailing:
    """Stop for good: queued rows are cancelled; a chunk already at the ESP finishes.

    ``actor=None`` is the system (e.g. the ballot has closed), with ``reason`` saying why.
    """
    if actor is not None:
        _may_change(actor, mailing)
    mailing = _locked(mailing)
    if mailing.status in (Status.DONE, Status.CANCELLED):
        raise ValidationError(f"The drive is already {mailing.get_status_display().lower()}.")
    mailing.status = Status.CANCELLED
    mailing.status_reason = (
        reason or f"Cancelled by {actor.get_username() if actor else 'the system'}"
    )[:300]
    mailing.finished_at = timezone.now()
    # Nobody more is listed for a cancelled drive (a listing task still queued finds
    # nothing to do).
    mailing.snapshot_after = None
    mailing.save(
        update_fields=["status", "status_reason", "finished_at", "snapshot_after", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_CANCEL,
        target=mailing,
        detail={"reason": mailing.status_reason},
    )
    # Rows in an ESP call right now are settled by that call: sent, failed, unknown, or
    # (a transient error) cancelled by the release, which waits for this lock.
    drive_settle_stragglers(mailing_id=mailing.pk)
    drive_report_count_queue(mailing_id=mailing.pk, rows=mailing.recipient_count)
    return mailing


def drive_settle_stragglers(*, mailing_id: int) -> int:
    """Queued rows of a drive that is no longer sending get the fate ``released_status``
    gives them: cancelled for a cancelled drive; a paused drive keeps them for its resume.
    A done drive with queued rows (a "send again" racing the finish) is re-opened so
    they go. Returns how many rows changed (or were re-opened)."""
    mailing = Mailing.objects.filter(pk=mailing_id).only("status").first()
    if mailing is None or mailing.status in (Status.SENDING, Status.PAUSED):
        return 0
    queued = Recipient.objects.filter(mailing_id=mailing_id, status=Recipient.Status.QUEUED)
    if mailing.status == Status.DONE:
        with transaction.atomic():
            reopened = Mailing.objects.filter(pk=mailing_id, status=Status.DONE).update(
                status=Status.SENDING, finished_at=None, progress_at=timezone.now()
            )
            if reopened:
                batches_enqueue(mailing_id=mailing_id, batches=_queued_batches(mailing_id))
                return queued.count()
        return 0
    if released_status(mailing.status) == Recipient.Status.CANCELLED:
        return queued.update(
            status=Recipient.Status.CANCELLED,
            claim="",
            lease_until=None,
            error=f"Drive {mailing.get_status_display().lower()} before this row was sent",
        )
    return 0


def _queued_batches(mailing_id: int) -> list[int]:
    return sorted(
        Recipient.objects.filter(mailing_id=mailing_id, status=Recipient.Status.QUEUED)
        .order_by()
        .values_list("batch", flat=True)
        .distinct()
    )


def mailings_start_due(*, now=None) -> list[int]:
    """Start scheduled drives whose time has come (the periodic task calls this)."""
    now = now or timezone.now()
    started = []
    for mailing_id in Mailing.objects.filter(
        status=Status.SCHEDULED, scheduled_for__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            mailing = Mailing.objects.select_for_update().get(pk=mailing_id)
            if mailing.status != Status.SCHEDULED:
                continue
            size = audience_breakdown(mailing=mailing)["mailable"]
            if needs_approval(mailing=mailing, size=size):
                # The audience grew past the threshold since it was scheduled.
                mailing.status = Status.AWAITING_APPROVAL
                mailing.save(update_fields=["status", "updated_at"])
                mailing_approval_requested(actor=None, mailing=mailing, size=size)
                continue
            _launch(mailing=mailing, actor=None)
            started.append(mailing_id)
    return started


def mailings_sweep(*, now=None) -> dict[str, int]:
    """Keep drives honest after crashes (the periodic task calls this every minute).

    * rows "sending" past their lease become "unknown" (never re-sent automatically);
    * sending drives with no progress for ``MAILING_STALL_SECONDS`` get their queued
      batches, and an unfinished listing of their audience, re-enqueued (a duplicate
      task claims or lists nothing, so this is always safe);
    * drives with nothing left queued or sending are marked done;
    * drives no longer sending with rows still queued (a race with a cancel, a send
      again racing the finish) are settled, and logged as an error: "queued row in a
      finished drive" must never last longer than one sweep;
    * scheduled drives whose time has come start;
    * the ledger of rows by status is folded up (mailings/services/tally.py).
    """
    now = now or timezone.now()
    expired = Recipient.objects.filter(status=Recipient.Status.SENDING, lease_until__lt=now).update(
        status=Recipient.Status.UNKNOWN,
        error="The sending task stopped mid-send; the message may have been accepted",
    )
    stalled_before = now - timedelta(seconds=settings.MAILING_STALL_SECONDS)
    requeued = 0
    finished = 0
    for mailing_id in Mailing.objects.filter(status=Status.SENDING).values_list("pk", flat=True):
        if mailing_finish_if_settled(mailing_id=mailing_id):
            finished += 1
            continue
        with transaction.atomic():
            touched = Mailing.objects.filter(
                pk=mailing_id, status=Status.SENDING, progress_at__lt=stalled_before
            ).update(progress_at=now)
            if touched:
                batches = _queued_batches(mailing_id)
                batches_enqueue(mailing_id=mailing_id, batches=batches)
                requeued += len(batches)
                if Mailing.objects.filter(pk=mailing_id, snapshot_after__isnull=False).exists():
                    # Its listing task was lost with a killed consumer (Huey runs a task
                    # at most once); listing again adds only who is not listed yet.
                    listing_enqueue(mailing_id=mailing_id)
                    requeued += 1
    stragglers = 0
    queued = Recipient.objects.filter(mailing_id=OuterRef("pk"), status=Recipient.Status.QUEUED)
    for mailing_id, status in (
        Mailing.objects.filter(status__in=[Status.CANCELLED, Status.DONE])
        .filter(Exists(queued))
        .values_list("pk", "status")
    ):
        changed = drive_settle_stragglers(mailing_id=mailing_id)
        if changed:
            stragglers += changed
            logger.error(
                "Drive %s was %s with %d rows still queued; settled them (see sweeper)",
                mailing_id,
                status,
                changed,
            )
    started = mailings_start_due(now=now)
    return {
        "unknown": expired,
        "requeued": requeued,
        "finished": finished,
        "stragglers": stragglers,
        "started": len(started),
        "tally_lines_folded": recipient_tally_compact(),
    }


@transaction.atomic
def recipients_requeue(*, actor, recipients) -> int:
    """Send unknown rows after all ("Send again"): rows the ESP's log proved it never
    accepted (see ``mailing_reconcile``), or that an organiser has checked never reached
    it. Only unknown rows change; a row a delivery event proves was sent is settled as
    sent instead (and checked again right before the send)."""
    if not _is_organiser(actor):
        raise PermissionDenied("Only organisers can re-send unknown rows.")
    ids = [row.pk for row in recipients]
    rows = Recipient.objects.filter(pk__in=ids, status=Recipient.Status.UNKNOWN)
    by_drive: dict[int, list[tuple[int, str]]] = {}
    for pk, mailing_id, email in rows.values_list("pk", "mailing_id", "email"):
        by_drive.setdefault(mailing_id, []).append((pk, email))
    now = timezone.now()
    for mailing_id, pairs in by_drive.items():
        for pk, (message_id, event_type, _) in recipients_proven_sent(
            mailing_id=mailing_id, rows=pairs
        ).items():
            Recipient.objects.filter(pk=pk, status=Recipient.Status.UNKNOWN).update(
                status=Recipient.Status.SENT,
                esp_check=Recipient.EspCheck.SENT,
                esp_checked_at=now,
                esp_message_id=message_id[:255],
                error=f"Not sent again: the ESP had already reported it {event_type}",
            )
    mailing_ids = sorted(by_drive)
    count = rows.update(
        status=Recipient.Status.QUEUED,
        claim="",
        lease_until=None,
        error=f"Re-queued by {actor.get_username()} after review",
    )
    for mailing_id in mailing_ids:
        mailing = Mailing.objects.select_for_update().get(pk=mailing_id)
        if mailing.status == Status.DONE:
            mailing.status, mailing.finished_at = Status.SENDING, None
            mailing.progress_at = timezone.now()
            mailing.save(update_fields=["status", "finished_at", "progress_at", "updated_at"])
        if mailing.status == Status.SENDING:
            batches_enqueue(mailing_id=mailing_id, batches=_queued_batches(mailing_id))
        else:
            drive_settle_stragglers(mailing_id=mailing_id)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DRIVE_START,
            target=mailing,
            counts={"requeued_unknown": count},
            detail={"requeued": "unknown rows re-sent after review"},
        )
    return count


def mailing_send_again(*, actor, mailing: Mailing) -> int:
    """Send again the rows of one drive that reconciliation proved the ESP never
    accepted (safe: nobody gets a second copy). Still-unknown rows are left alone."""
    _may_change(actor, mailing)
    rows = Recipient.objects.filter(
        mailing=mailing,
        status=Recipient.Status.UNKNOWN,
        esp_check=Recipient.EspCheck.NOT_SENT,
    )
    return recipients_requeue(actor=actor, recipients=list(rows.only("pk")))
