"""Listing a drive's audience: one row per mailable recipient, numbered into batches.

A drive of up to ``SNAPSHOT_AHEAD_ROWS`` mailable supporters is listed in one
statement when it starts. A bigger one lists its first batch when it starts, so that
batch is queued and sent at once, and a queued task (``mailing_snapshot_continue``)
lists the rest in steps of ``SNAPSHOT_STEP_ROWS``, queueing each step's batches as it
commits. At union scale listing everyone in one statement took 10-15 s (the INSERT, its
indexes and the per-row foreign-key checks), and nobody got a message until it ended.

While a drive is listing, ``Mailing.snapshot_after`` holds the last supporter id listed;
the drive cannot finish until it is None (``mailing_finish_if_settled``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from mailings.models import Mailing, Recipient
from mailings.selectors import audience_contacts

# Above this many mailable supporters a drive lists its first batch ahead of the rest.
SNAPSHOT_AHEAD_ROWS = 20_000
# Supporters listed per step after the first batch: a few seconds of work at most.
SNAPSHOT_STEP_ROWS = 50_000
# A drive that reaches this many rows refreshes the recipient table's planner statistics.
STATISTICS_AFTER_ROWS = 10_000

Status = Mailing.Status


def recipients_insert(
    *, mailing: Mailing, after_contact: int | None = None, up_to: int | None = None
) -> int:
    """Insert one row per mailable recipient with a supporter id in (``after_contact``,
    ``up_to``] (unbounded where None) in one statement (INSERT … SELECT); the count.

    ROW_NUMBER numbers the rows into batches in supporter id order, after the drive's
    ``batch_count`` so far; ON CONFLICT keeps one row per address even if two contacts
    shared one.
    """
    contacts = audience_contacts(mailing=mailing).mailable()
    if after_contact is not None:
        contacts = contacts.filter(pk__gt=after_contact)
    if up_to is not None:
        contacts = contacts.filter(pk__lte=up_to)
    contacts = contacts.values(c_id=F("pk"), c_email=F("email"), c_hash=F("email_hash"))
    sql, params = contacts.query.sql_with_params()
    table = Recipient._meta.db_table
    # Only the model's table name and Django's own compiled SQL are interpolated;
    # every value travels as a parameter.
    columns = (
        "mailing_id, contact_id, email, email_hash, batch, status, "
        "claim, attempts, esp_message_id, esp_status, error, created_at"
    )
    values = "%s, a.c_id, a.c_email, a.c_hash, (ROW_NUMBER() OVER (ORDER BY a.c_id) - 1) / %s + %s, %s, '', 0, '', '', '', %s"
    statement = f"INSERT INTO {table} ({columns}) SELECT {values} FROM ({sql}) a WHERE true ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [
                mailing.pk,
                settings.MAILING_BATCH_SIZE,
                mailing.batch_count,
                str(Recipient.Status.QUEUED),
                connection.ops.adapt_datetimefield_value(timezone.now()),
                *params,
            ],
        )
        return cursor.rowcount


def listing_bound(*, mailing: Mailing, after: int, rows: int) -> int | None:
    """The supporter id that ends the next ``rows`` mailable supporters of the drive's
    audience after id ``after``; None if fewer remain (the next step lists them all)."""
    ids = (
        audience_contacts(mailing=mailing)
        .mailable()
        .filter(pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return next(iter(ids[rows - 1 : rows]), None)


def first_listing_bound(*, mailing: Mailing, mailable: int) -> int | None:
    """Where a starting drive's first listing ends: after its first batch if its
    audience is big, else None (everyone at once)."""
    if mailable <= SNAPSHOT_AHEAD_ROWS:
        return None
    return listing_bound(mailing=mailing, after=0, rows=settings.MAILING_BATCH_SIZE)


def batches_after_insert(*, mailing: Mailing) -> int:
    """The drive's batch count once rows are in: its last batch number plus one."""
    last = (
        Recipient.objects.filter(mailing=mailing)
        .order_by("-batch")
        .values_list("batch", flat=True)
        .first()
    )
    return 0 if last is None else last + 1


def recipient_statistics_refresh() -> None:
    """ANALYZE the recipient table (PostgreSQL), as after any bulk load.

    Until autovacuum gets to it, the planner believes a drive just snapshotted has no
    rows, and may answer "is anything of this drive still queued or sending?" (asked
    after every batch, and by the live page) by walking all of the drive's rows through
    another index: 0.4 s a time at a union-wide drive, against 10 ms once analysed.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Recipient._meta.db_table)}")


def statistics_refresh_queue(*, rows_before: int, rows_after: int, listed: bool) -> None:
    """Queue the statistics refresh (on commit, ahead of the batches queued after this
    call) when the drive's rows cross ``STATISTICS_AFTER_ROWS``, and once more when a
    big drive's listing ends."""
    if connection.vendor != "postgresql" or rows_after < STATISTICS_AFTER_ROWS:
        return
    if rows_before < STATISTICS_AFTER_ROWS or (listed and rows_after > rows_before):
        from mailings.tasks import recipient_statistics_task

        transaction.on_commit(recipient_statistics_task)


def listing_enqueue(*, mailing_id: int) -> None:
    from mailings.tasks import mailing_snapshot_task

    transaction.on_commit(lambda: mailing_snapshot_task(mailing_id))


def batches_enqueue(*, mailing_id: int, batches) -> None:
    from mailings.tasks import mailing_batch_task

    batches = list(batches)
    transaction.on_commit(lambda: [mailing_batch_task(mailing_id, b) for b in batches])


def mailing_snapshot_continue(*, mailing_id: int) -> int:
    """List the next step of a big drive's audience and queue its batches (if the drive
    is sending) and the step after it (if any remain). Returns the rows added.

    The rows go in before the drive's row is locked, so senders recording their
    progress and people pausing the drive never wait for a step; the lock is taken for
    the drive's own counters only. A step that finds, under the lock, the drive
    cancelled or already listed past where it began (a second run: the sweeper re-queues
    a listing lost with a killed consumer) is rolled back. A paused drive goes on
    listing, for its resume to send.
    """
    start = Mailing.objects.filter(pk=mailing_id).values_list("status", "snapshot_after").first()
    if start is None or start[1] is None or start[0] == Status.CANCELLED:
        return 0
    after = start[1]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Foreign keys checked row by row during the INSERT, not at commit, when
            # the drive's row is locked.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        mailing = Mailing.objects.get(pk=mailing_id)
        if mailing.snapshot_after != after:
            return 0
        bound = listing_bound(mailing=mailing, after=after, rows=SNAPSHOT_STEP_ROWS)
        first = mailing.batch_count
        created = recipients_insert(mailing=mailing, after_contact=after, up_to=bound)
        locked = Mailing.objects.select_for_update().get(pk=mailing_id)
        if locked.snapshot_after != after or locked.status == Status.CANCELLED:
            transaction.set_rollback(True)
            return 0
        before = locked.recipient_count
        locked.recipient_count += created
        locked.batch_count = batches_after_insert(mailing=locked) if created else first
        locked.snapshot_after = bound
        locked.progress_at = timezone.now()
        locked.save(
            update_fields=[
                "recipient_count",
                "batch_count",
                "snapshot_after",
                "progress_at",
                "updated_at",
            ]
        )
        statistics_refresh_queue(
            rows_before=before, rows_after=locked.recipient_count, listed=not locked.is_listing
        )
        if locked.status == Status.SENDING:
            batches_enqueue(mailing_id=mailing_id, batches=range(first, locked.batch_count))
        if locked.is_listing:
            listing_enqueue(mailing_id=mailing_id)
        elif locked.status == Status.SENDING:
            from mailings.services.sending import mailing_finish_if_settled

            # Batches that ended while the drive was listing could not finish it.
            transaction.on_commit(lambda: mailing_finish_if_settled(mailing_id=mailing_id))
    return created
