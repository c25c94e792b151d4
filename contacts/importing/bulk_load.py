"""The first load into an empty union: its tables' indexes built once, at the end.

Keeping fourteen indexes (two of them trigram GIN) up to date row by row costs
PostgreSQL about three times what building them afresh over the loaded rows does: at
450,000 supporters, some 45 s of index upkeep against some 15 s of building. So when
the import writes into an empty table, the table's secondary indexes are dropped
inside the import's transaction and re-created, from their own definitions, before it
commits. DDL is transactional in PostgreSQL: a failed or dry-run import rolls the drop
back with everything else, and no other session ever sees the table without them.

The price: the drop locks the table until the import commits, so a page that reads
supporters waits for the first load (the union has none to show yet). Loads into a
table that already holds rows keep the indexes, and never block readers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, models, transaction

# Indexes backing a constraint (primary keys, UNIQUE constraints) cannot be dropped
# on their own; every other index of the table can.
_DROPPABLE = """
    SELECT c.relname, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = %s::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    ORDER BY c.relname
"""


@contextmanager
def indexes_built_after(
    tables: list[type[models.Model]], *, rebuild: bool = True
) -> Iterator[list[str]]:
    """Drop the secondary indexes of those of ``tables`` that are empty, run the body,
    then re-create them (unless ``rebuild`` is false: a dry run that will roll back).

    Must run inside the import's transaction. Yields the names of the indexes dropped
    (none off PostgreSQL, and none if this database role may not drop them: the load
    then keeps the indexes, only slower).
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield []
        return
    dropped: list[tuple[str, str]] = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for model in tables:
                if model._default_manager.exists():
                    continue
                cursor.execute(_DROPPABLE, [model._meta.db_table])
                found = cursor.fetchall()
                for name, _definition in found:
                    cursor.execute(f'DROP INDEX "{name}"')
                dropped.extend(found)
    except DatabaseError:
        # Not the tables' owner (a separate migration role): load with the indexes.
        dropped = []
    yield [name for name, _ in dropped]
    if rebuild and dropped:
        with connection.cursor() as cursor:
            for _name, definition in dropped:
                cursor.execute(definition)
