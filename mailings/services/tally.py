"""Folding up the ledger of drives' rows by status (mailings.models.RecipientTally).

The database's triggers only ever add lines, so senders never wait on one another for
a counter; a union-wide drive adds a few thousand lines in all. The sweeper folds them
into one line per drive and status every minute.
"""

from __future__ import annotations

from django.db import connection

from mailings.models import RecipientTally

_TALLY = RecipientTally._meta.db_table


def recipient_tally_compact() -> int:
    """Fold the ledger into one line per drive and status (none for a zero); returns
    how many lines went. Readers see the ledger before or after, never half-way."""
    if connection.vendor == "postgresql":
        # One statement: lines added meanwhile by other transactions are not in its
        # snapshot, so they are neither deleted nor counted twice.
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH gone AS (DELETE FROM {_TALLY} RETURNING mailing_id, status, n), "  # noqa: S608 - our own table name
                f"kept AS (INSERT INTO {_TALLY} (mailing_id, status, n) "
                "SELECT mailing_id, status, sum(n) FROM gone "
                "GROUP BY mailing_id, status HAVING sum(n) <> 0 RETURNING 1) "
                "SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept)"
            )
            return cursor.fetchone()[0]
    return 0  # SQLite keeps no ledger (migration mailings 0009)


__all__ = ["recipient_tally_compact"]
