"""Supporter background tasks: queued spreadsheet imports."""

from huey.contrib.djhuey import db_task

from contacts.importing.queued import batch_run


@db_task(retries=3, retry_delay=30, context=True)
def import_batch_run(batch_id: int, task=None) -> None:
    """Run a queued import; a lost database connection is retried (the failed attempt
    wrote nothing), anything else fails the batch with its reason."""
    batch_run(batch_id=batch_id, may_retry=bool(task and task.retries))
