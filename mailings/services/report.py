"""Stored reports of big drives (mailings.models.DriveReport): counted in full by a
queued task, so a union-wide drive's report page never waits for the count."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mailings import reports
from mailings.models import DriveReport, Mailing
from mailings.reports import drive_report

# A recount queued this long ago and never stored (its consumer was killed) may be
# queued again.
RECOUNT_LOST_AFTER = timedelta(minutes=5)


def drive_report_store(*, mailing_id: int) -> DriveReport | None:
    """Count the drive's whole report now (every recipient) and store it."""
    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is None:
        return None
    counted_at = timezone.now()
    figures = drive_report(mailing=mailing, viewer=None)
    stored, _ = DriveReport.objects.update_or_create(
        mailing=mailing,
        defaults={"figures": figures, "counted_at": counted_at, "recount_queued_at": None},
    )
    return stored


def drive_report_recount_queue(*, mailing_id: int) -> bool:
    """Queue one recount of a stored report, however many people look at it meanwhile
    (claimed with a conditional UPDATE). True if this call queued it."""
    now = timezone.now()
    claimed = DriveReport.objects.filter(
        Q(recount_queued_at__isnull=True) | Q(recount_queued_at__lt=now - RECOUNT_LOST_AFTER),
        mailing_id=mailing_id,
    ).update(recount_queued_at=now)
    if claimed:
        from mailings.tasks import drive_report_task

        transaction.on_commit(lambda: drive_report_task(mailing_id))
    return bool(claimed)


def drive_report_count_queue(*, mailing_id: int, rows: int) -> bool:
    """Queue a count of a drive whose report is read from stored figures (over
    ``REPORT_STORED_ROWS`` rows) when it starts, finishes or is cancelled, so nobody's first
    look at its report waits for a count in the request. True if a count was queued."""
    if rows <= reports.REPORT_STORED_ROWS:
        return False
    from mailings.tasks import drive_report_task

    transaction.on_commit(lambda: drive_report_task(mailing_id))
    return True
