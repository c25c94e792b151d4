"""Huey tasks for drives: they take ids and call one service each."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from campaign.queue import BATCH_PRIORITY
from mailings.services import mailing_batch_send, mailings_sweep


@db_task(priority=BATCH_PRIORITY)
def mailing_batch_task(mailing_id: int, batch: int) -> None:
    mailing_batch_send(mailing_id=mailing_id, batch=batch)


@db_task()
def mailing_snapshot_task(mailing_id: int) -> None:
    from mailings.services.snapshot import mailing_snapshot_continue

    mailing_snapshot_continue(mailing_id=mailing_id)


@db_task()
def drive_report_task(mailing_id: int) -> None:
    from mailings.services.report import drive_report_store

    drive_report_store(mailing_id=mailing_id)


@db_task()
def recipient_statistics_task() -> None:
    from mailings.services.snapshot import recipient_statistics_refresh

    recipient_statistics_refresh()


@db_periodic_task(crontab(minute="*"))
def mailings_sweep_task() -> None:
    mailings_sweep()


@db_task()
def mailing_reconcile_task(mailing_id: int) -> None:
    """Reconcile a drive with the ESP's log in the background (the caller has checked
    the person may); the figures are then read with mailing_unknown_figures."""
    from mailings.models import Mailing
    from mailings.services.reconcile import mailing_reconcile

    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is not None:
        mailing_reconcile(actor=None, mailing=mailing)
