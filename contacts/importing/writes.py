"""Fast inserts for the importer: COPY on PostgreSQL, executemany on SQLite.

Building a Django model instance per row and letting ``bulk_create`` prepare every
value costs more than the import's own work at 450,000 rows. On PostgreSQL rows go
straight to ``COPY ... FROM STDIN`` (ids reserved from the table's sequence first, so
consent records can point at new contacts); SQLite gets one prepared INSERT run over
all rows (ids taken under its write lock); any other database ``bulk_create``.
Either way it happens on the importer's connection, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection, models
from django.db.models import Expression, F, Lookup
from django.db.models.lookups import In

BATCH = 2000


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` (values in ``columns`` order, by attname) into ``model``'s table.

    Returns the new primary keys, in order, when ``returning_ids``; otherwise [].
    Values must already be what the database stores (str, int, None, aware datetime).
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy(model, columns, rows, returning_ids)
    if connection.vendor == "sqlite":
        return _sqlite_insert(model, columns, rows, returning_ids)
    objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=BATCH)
    return [obj.pk for obj in objects] if returning_ids else []


def _sqlite_insert(model, columns, rows, returning_ids: bool) -> list[int]:
    """One prepared INSERT run over every row (executemany, in C): SQLite holds its
    one write lock for the import's whole transaction, so the writes must be quick
    for the web app's own writes (sign-in among them) to get their turn."""
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    fields = [meta.get_field(name) for name in columns]
    stamps = [at for at, field in enumerate(fields) if field.get_internal_type() == "DateTimeField"]
    if stamps:
        # An import stores few distinct times (its own start, consent dates at midday),
        # so each is adapted to SQLite's text form once.
        adapted: dict = {None: None}
        adapt = connection.ops.adapt_datetimefield_value

        def text(value):
            found = adapted.get(value)
            if found is None and value is not None:
                found = adapted[value] = adapt(value)
            return found

        converted = []
        for row in rows:
            row = list(row)
            for at in stamps:
                row[at] = text(row[at])
            converted.append(row)
        rows = converted
    names = [connection.ops.quote_name(field.column) for field in fields]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if returning_ids:
            # The transaction holds the write lock, so the next ids are ours to take:
            # past both the largest id and AUTOINCREMENT's record of ids ever used.
            pk = connection.ops.quote_name(meta.pk.column)
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {table}")  # noqa: S608
            start = cursor.fetchone()[0]
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if cursor.fetchone() is not None:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [meta.db_table])
                found = cursor.fetchone()
                start = max(start, found[0] if found else 0)
            ids = list(range(start + 1, start + 1 + len(rows)))
            names = [pk, *names]
            rows = [(pk_value, *row) for pk_value, row in zip(ids, rows, strict=True)]
        marks = ", ".join(["%s"] * len(names))
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            rows,
        )
    return ids


def _copy(model, columns, rows, returning_ids: bool, raw=None) -> list[int]:
    if raw is not None:
        with raw.cursor() as cursor:
            return _copy_with(cursor, model, columns, rows, returning_ids)
    with connection.cursor() as wrapper:
        # The psycopg cursor underneath, on the same transaction.
        return _copy_with(wrapper.cursor, model, columns, rows, returning_ids)


def _copy_with(cursor, model, columns, rows, returning_ids: bool) -> list[int]:
    from psycopg import sql

    meta = model._meta
    table = meta.db_table
    names = [meta.get_field(name).column for name in columns]
    ids: list[int] = []
    if returning_ids:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, meta.pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        names = [meta.pk.column, *names]
    fields = ([meta.pk] if returning_ids else []) + [meta.get_field(name) for name in columns]
    # Binary COPY spares the server parsing every value back out of text.
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with cursor.copy(statement) as copy:
        copy.set_types([_binary_type(field) for field in fields])
        if returning_ids:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row))
        else:
            for row in rows:
                copy.write_row(row)
    return ids


_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "text": "text",
    "varchar": "varchar",
    "timestamp with time zone": "timestamptz",
    "boolean": "bool",
}


def _binary_type(field) -> str:
    db_type = (field.target_field if field.is_relation else field).db_type(connection)
    return _BINARY_TYPES[db_type.split("(")[0]]


class CopyWorker:
    """Runs one insert job at a time on a worker thread, on the importer's own
    connection and transaction, so PostgreSQL digests one chunk's COPY while Python
    cleans the next. psycopg serialises the connection: any other query waits for the
    running COPY. ``wait()`` re-raises a job's error; elsewhere jobs run inline."""

    def __init__(self) -> None:
        self.raw = connection.connection if connection.vendor == "postgresql" else None
        self.pool = ThreadPoolExecutor(max_workers=1) if self.raw is not None else None
        self.pending: Future | None = None

    def submit(self, job: Callable[..., None]) -> None:
        self.wait()
        if self.pool is None:
            job(None)
        else:
            self.pending = self.pool.submit(job, self.raw)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self, *, raise_errors: bool = True) -> None:
        try:
            self.wait()
        except Exception:
            if raise_errors:
                raise
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)


def insert_rows_on(
    raw,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """``insert_rows`` for a CopyWorker job: ``raw`` is its psycopg connection, or
    None to run through Django's connection as usual."""
    if raw is None or not rows:
        return insert_rows(model, columns, rows, returning_ids=returning_ids)
    return _copy(model, columns, rows, returning_ids, raw=raw)


# The unit separator: a C0 control character, which the importer removes from every
# cell, so no imported value holds it.
_SEPARATOR = "\x1f"


class _Any(Lookup):
    """``expression = ANY(...)`` with the whole list as one parameter.

    Text values go as one separated string split by the server: the driver quotes a
    single string in C, where a list parameter is dumped element by element in Python
    (seconds per 450,000-row import). Integers go the same way, cast back on the server.
    """

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        values = list(value)
        if all(v.__class__ is int for v in values):
            return "string_to_array(%s, ',')::bigint[]", [",".join(map(str, values))]
        if all(v.__class__ is str and _SEPARATOR not in v for v in values):
            return "string_to_array(%s, chr(31))", [_SEPARATOR.join(values)]
        return "%s", [values]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def one_of(expression: str | Expression, values) -> Lookup:
    """A filter for ``expression IN values`` that stays one short query string at any
    size on PostgreSQL (an array parameter instead of thousands of placeholders,
    which the driver would otherwise re-parse for every chunk)."""
    target = F(expression) if isinstance(expression, str) else expression
    values = list(values)
    if connection.vendor == "postgresql":
        return _Any(target, values)
    return In(target, values)
