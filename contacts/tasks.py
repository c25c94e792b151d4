"""Supporter background tasks: queued spreadsheet imports."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from contacts.importing.queued import batch_run, uploads_prune

# A previewed upload is confirmable for an hour (see admin_views.TOKEN_MAX_AGE).
ABANDONED_UPLOAD_SECONDS = 2 * 3600


@db_task(retries=3, retry_delay=30, context=True)
def import_batch_run(batch_id: int, task=None) -> None:
    """Run a queued import; a lost database connection is retried (the failed attempt
    wrote nothing), anything else fails the batch with its reason."""
    batch_run(batch_id=batch_id, may_retry=bool(task and task.retries))


@db_periodic_task(crontab(minute="*/30"))
def import_uploads_prune() -> None:
    """Abandoned previews leave personal data on disk; remove it."""
    uploads_prune(older_than_seconds=ABANDONED_UPLOAD_SECONDS)


@db_periodic_task(crontab(hour="3", minute="40"))
def supporter_tally_rebuild() -> None:
    """Recount the supporter tally from scratch once a night: anything written behind
    the services' back (raw SQL, a restored backup, ``QuerySet.update`` in a shell) is
    repaired within a day. Logs what it had to correct."""
    import logging

    from contacts.aggregates import tally_differences, tally_rebuild

    differences = tally_differences()
    if differences:
        logging.getLogger(__name__).warning(
            "Supporter tally was off in %s cells; recounting.", len(differences)
        )
        tally_rebuild()
