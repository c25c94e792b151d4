"""The import pipeline: set-based, chunked, one transaction, the same for a dry run.

Rows are read as a stream and handled in chunks. For each chunk the importer cleans
every row in Python, then asks the database one ``IN`` query per kind of thing it
needs (suppressed addresses, existing contacts and their consent, schools by URN and
by name) and writes with ``bulk_create``/``bulk_update``. Nothing is ever queried or
written row by row, so 450,000 rows take seconds, not hours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.roles import can
from campaign.services import audit_record
from contacts.importing.bulk_load import indexes_built_after
from contacts.importing.cells import (
    Cell,
    cell_text,
)
from contacts.importing.collector import collector_relaxed
from contacts.importing.columns import ColumnMap, columns_map
from contacts.importing.errors import FileError
from contacts.importing.parse import FIELDS, RowParsingMixin
from contacts.importing.places import PlacesMixin, SchoolBook
from contacts.importing.reading import Sheet, file_fingerprint, sheet_open
from contacts.importing.report import DUPLICATE, ImportReport
from contacts.importing.row import Row
from contacts.importing.upsert import UpsertMixin
from contacts.importing.writes import CopyWorker, one_of
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    ImportBatch,
    School,
    Suppression,
)
from contacts.tally_import import CreatedCells, tally_count_import

# Called as progress(done, total) after each chunk, in the reader's units.
ProgressFn = Callable[[int, int], None]
# Called as rows_progress(rows_read, rows_written) next to each progress call.
RowsFn = Callable[[int, int], None]

# The contact fields an import may fill in or change.
UPDATABLE = ("first_name", "last_name", "mobile", "school_id", "district_id", "role", "notes")


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    # Recorded on each consent the import creates; blank means the settings' default.
    consent_wording: str = ""
    consent_version: str = ""
    # The organiser's column mapping (a field name or "" per column); None matches
    # the headings through the aliases.
    columns: tuple[str, ...] | None = None
    # New district names (lower-cased) the organiser mapped onto an existing district
    # id, and new schools ("<district id>:<name key>") onto an existing school id.
    districts: dict[str, int] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)
    # Rows per round of lookups and COPY: big enough to amortise each round trip.
    chunk_size: int = 10_000

    def stored(self) -> dict:
        data = asdict(self)
        data.pop("chunk_size")
        if data["columns"] is not None:
            data["columns"] = list(data["columns"])
        return data

    @classmethod
    def from_stored(cls, data: dict, *, dry_run: bool | None = None) -> ImportOptions:
        """The options a batch recorded (its ``options``), e.g. for a queued run."""
        columns = data.get("columns")
        return cls(
            dry_run=bool(data.get("dry_run")) if dry_run is None else dry_run,
            consent_wording=data.get("consent_wording", ""),
            consent_version=data.get("consent_version", ""),
            columns=tuple(columns) if columns is not None else None,
            districts={str(k): int(v) for k, v in (data.get("districts") or {}).items()},
            schools={str(k): int(v) for k, v in (data.get("schools") or {}).items()},
        )


def supporters_import(
    *,
    path: str | Path,
    file_name: str,
    actor,
    options: ImportOptions | None = None,
    batch: ImportBatch | None = None,
    progress: ProgressFn | None = None,
    rows_progress: RowsFn | None = None,
) -> ImportReport:
    """Import a supporter spreadsheet; return what it did (or would do, for a dry run).

    Raises FileError, with nothing written, when the file as a whole cannot be
    imported; any other failure rolls the whole import back as well. ``batch`` is an
    ImportBatch already recorded for a queued import; otherwise one is created.
    """
    options = options or ImportOptions()
    if not can(actor, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can import supporters.")
    with collector_relaxed():
        return _import(
            path=Path(path),
            file_name=file_name,
            actor=actor,
            options=options,
            batch=batch,
            progress=progress,
            rows_progress=rows_progress,
        )


def _import(
    *,
    path: Path,
    file_name: str,
    actor,
    options: ImportOptions,
    batch: ImportBatch | None,
    progress: ProgressFn | None,
    rows_progress: RowsFn | None,
) -> ImportReport:
    size = path.stat().st_size
    if size > settings.IMPORT_MAX_BYTES:
        raise FileError(
            f"The file is {size / 1e6:.1f} MB; the limit is "
            f"{settings.IMPORT_MAX_BYTES / 1e6:.0f} MB. Split it into smaller files; "
            "nothing was imported."
        )
    fingerprint = file_fingerprint(path)
    sheet = sheet_open(path, file_name=file_name, fingerprint=fingerprint)
    try:
        columns = columns_map(sheet.headers, options.columns)
        report = ImportReport(
            dry_run=options.dry_run, file_name=file_name, sha256=fingerprint.sha256
        )
        now = timezone.now()
        importer = _Importer(columns=columns, report=report, options=options, now=now)
        importer.rows_progress = rows_progress
        chunks: Iterable[list[Row]]
        if connection.vendor == "postgresql":
            # Rows stream through the transaction, so one chunk's COPY (on the server
            # and a worker thread) overlaps with cleaning the next; PostgreSQL's
            # readers and other writers never wait for an open import transaction.
            chunks = importer.chunks(sheet, progress, halves=1)
        else:
            # SQLite: the transaction holds the one write lock, and the web app (sign-in
            # included) must keep writing while a long file is read. So every row is
            # read and checked first, and the transaction holds only the writes.
            chunks = list(importer.chunks(sheet, progress, halves=2))
            sheet.close()
        with transaction.atomic():
            _serialise_imports()
            if batch is None:
                batch = ImportBatch.objects.create(
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                    file_name=file_name[:255],
                    sha256=fingerprint.sha256,
                    status=ImportBatch.Status.RUNNING,
                    started_at=now,
                )
            importer.begin(batch)
            with (
                _checks_as_we_go(),
                indexes_built_after([Contact, ConsentRecord], rebuild=not options.dry_run),
            ):
                importer.run(chunks, progress)
            _finish(batch=batch, report=report, importer=importer, options=options, actor=actor)
            if options.dry_run:
                transaction.set_rollback(True)
            else:
                tally_count_import(batch=batch, created=importer.created_cells)
                report.batch_id = batch.pk
    finally:
        sheet.close()
    return report


# Any constant will do: it names "the supporter import" among advisory locks.
_IMPORT_LOCK = 7_301_001


def _serialise_imports() -> None:
    """Two imports at once would race on the same addresses and schools; on PostgreSQL
    the second waits for the first to commit (SQLite has one writer anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])


@contextmanager
def _checks_as_we_go() -> Iterator[None]:
    """Check foreign keys as rows arrive instead of all at commit (Django makes them
    deferred on PostgreSQL): at 450,000 rows the deferred checks would keep the
    database busy for many seconds at the end, while the checks made during each
    chunk's COPY overlap with cleaning the next chunk."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    failed = True
    try:
        yield
        failed = False
    finally:
        if not failed:
            # Django's deferrable constraints are all INITIALLY DEFERRED: put that back
            # for whatever else this transaction does.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _finish(
    *, batch: ImportBatch, report: ImportReport, importer: _Importer, options, actor
) -> None:
    batch.sha256 = report.sha256
    batch.options = options.stored()
    batch.counts = report.counts()
    batch.report = report.stored()
    batch.status = ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.created_objects = {
        "schools": importer.created_schools,
        "districts": importer.created_districts,
    }
    batch.error = ""
    batch.upload_path = ""
    batch.progress_done, batch.progress_total = importer.progress
    batch.save()
    if not options.dry_run:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.IMPORT,
            target=batch,
            counts=report.counts(),
            detail={
                "file_name": batch.file_name,
                "sha256": batch.sha256,
                "columns_chosen": options.columns is not None,
                "districts_mapped": len(options.districts),
                "schools_mapped": len(options.schools),
            },
        )


class _Importer(RowParsingMixin, PlacesMixin, UpsertMixin):
    def __init__(
        self,
        *,
        columns: ColumnMap,
        report: ImportReport,
        options: ImportOptions,
        now: datetime,
    ) -> None:
        self.columns = columns
        self.report = report
        self.options = options
        self.now = now
        self.today = timezone.localdate(now)
        self.wording = options.consent_wording or settings.CONSENT_DEFAULT_WORDING
        self.version = options.consent_version or settings.CONSENT_DEFAULT_VERSION
        self.col = {name: columns.index.get(name) for name in FIELDS}
        width = len(columns.headers)
        self.at = {name: width if at is None else at for name, at in self.col.items()}
        self.padding: list[Cell] = [None] * (width + 1)
        self.full_name_only = self.col["first_name"] is None and self.col["last_name"] is None
        self.hasher = hmac.new(settings.SUPPRESSION_HASH_KEY, digestmod=hashlib.sha256)
        self.header = {name: columns.header(name) for name in FIELDS}
        self.first_row: dict[str, int] = {}  # email -> the row that used it
        self.school_district: dict[int, int] = {}
        self.by_urn: dict[str, School | int | None] = {}
        self.by_key: dict[str, list[tuple[int, School | int]]] = {}
        self.created_schools: list[int] = []
        self.created_districts: list[int] = []
        self.progress = (0, 0)
        self.rows_progress: RowsFn | None = None
        self.rows_written = 0
        # New (unsaved) school -> its district, an id or a new District.
        self.pending_district: dict[int, int | District] = {}
        self.pending_key: dict[int, str] = {}
        self.school_book = SchoolBook()
        self.new_school_at: dict[int, int] = {}  # new school id -> its report entry
        report.headers = list(columns.headers)
        for _position, header in columns.unknown:
            report.problem(
                row=1,
                column=header,
                code="unknown_column",
                message=f'Column "{header}" was not recognised, so it was not imported. '
                "Rename it (for example to Notes) if it should be kept.",
            )
            report.warnings["unknown_column"] += 1
        for _position, header, name in columns.repeated:
            report.problem(
                row=1,
                column=header,
                code="unknown_column",
                message=f'Column "{header}" repeats "{columns.header(name)}"; only the '
                "first of them was imported.",
            )
            report.warnings["unknown_column"] += 1

    def begin(self, batch: ImportBatch) -> None:
        """What the writes need from the database, read inside their transaction."""
        self.batch = batch
        self.source = f"Import #{batch.pk}: {batch.file_name}"[:200]
        # Into an empty table (the first big load) nothing can match an existing
        # contact: rows repeated within the file are caught by first_row, and imports
        # are serialised. A contact added meanwhile by hand would make the insert fail
        # on the unique email, rolling the whole import back: never a duplicate.
        self.had_contacts = Contact.objects.exists()
        self.had_schools = School.objects.exists()
        # Into an empty union the tally is counted from the rows written (tally_import).
        self.created_cells = None if self.had_contacts else CreatedCells(started_at=self.now)
        self.districts = {
            name.lower(): pk for pk, name in District.objects.values_list("pk", "name")
        }
        self._remaps_load()

    # --- the loop ---------------------------------------------------------------------

    def chunks(
        self, sheet: Sheet, progress: ProgressFn | None, *, halves: int
    ) -> Iterator[list[Row]]:
        """The file's rows read and cleaned (no queries), a chunk at a time.

        With ``halves=2`` the rows are all read before any is written: progress runs
        over twice the reader's total, reading being the first half.
        """
        last = sheet.header_row
        limit = settings.IMPORT_MAX_ROWS
        rows = iter(sheet.rows)
        self.halves = halves
        self.typed_cells = sheet.format != "csv"
        while chunk := list(islice(rows, self.options.chunk_size)):
            parsed = []
            for number, cells in chunk:
                self.report.blank_rows += number - last - 1
                last = number
                parsed.append(self._parse(number, cells))
            self.report.rows += len(parsed)
            if self.report.rows > limit:
                raise FileError(
                    f"The file has more than {limit:,} rows, the most one import takes. "
                    "Split it into smaller files; nothing was imported."
                )
            yield parsed
            if progress is not None:
                progress(sheet.progress_done(), halves * sheet.progress_total)
            if self.rows_progress is not None:
                self.rows_progress(self.report.rows, self.rows_written)
        self.read_total = max(sheet.progress_done(), sheet.progress_total)

    def run(self, chunks: Iterable[list[Row]], progress: ProgressFn | None) -> None:
        self.copier = CopyWorker()
        try:
            self._run(chunks, progress)
        except BaseException:
            self.copier.close(raise_errors=False)  # the first error is the one to report
            raise
        self.copier.close()

    def _run(self, chunks: Iterable[list[Row]], progress: ProgressFn | None) -> None:
        if not isinstance(chunks, list):
            for parsed in chunks:
                self._chunk(parsed)
                self.rows_written += len(parsed)
            self.progress = (self.read_total, self.read_total)
            return
        total = self.read_total
        count = len(chunks)
        for at in range(count):
            # Handed over one by one, so a written chunk's rows can be freed.
            parsed, chunks[at] = chunks[at], []
            self._chunk(parsed)
            self.rows_written += len(parsed)
            if progress is not None:
                progress(total + total * (at + 1) // count, 2 * total)
            if self.rows_progress is not None:
                self.rows_progress(self.report.rows, self.rows_written)
        self.progress = (2 * total, 2 * total)

    def _chunk(self, rows: list[Row]) -> None:
        self._reject_suppressed(rows)
        existing = self._existing_contacts([r for r in rows if r.rejected is None])
        accepted: list[Row] = []
        for row in rows:
            if row.rejected is not None:
                continue
            first = self.first_row.get(row.email)
            if first is not None:
                row.rejected = DUPLICATE
                row.problems = [
                    (
                        self.header["email"],
                        DUPLICATE,
                        f"The same email address as row {first}; only row {first} was used.",
                    )
                ]
                continue
            self.first_row[row.email] = row.number
            accepted.append(row)
        self._resolve_places(accepted)
        self._write(accepted, existing)
        self._report(rows)

    # --- cleaning one row -------------------------------------------------------------

    def _reject_suppressed(self, rows: list[Row]) -> None:
        hashes = {row.email_hash for row in rows if row.rejected is None}
        if not hashes:
            return
        suppressed = set(
            Suppression.objects.filter(one_of("address_hash", hashes)).values_list(
                "address_hash", flat=True
            )
        )
        for row in rows:
            if row.rejected is None and row.email_hash in suppressed:
                self._reject(
                    row,
                    "email",
                    "suppressed",
                    "This address unsubscribed, bounced or was erased earlier, so it is "
                    "never imported again.",
                )

    def _existing_contacts(self, rows: list[Row]) -> dict[str, dict]:
        emails = {row.email for row in rows}
        if not emails or not self.had_contacts:
            return {}
        existing = {
            values["email"].lower(): values
            for values in Contact.objects.filter(one_of(Lower("email"), emails)).values(
                "pk", "email", "email_hash", *UPDATABLE
            )
        }
        consent: dict[int, list[bool]] = {}
        for contact_id, withdrawn_at in ConsentRecord.objects.filter(
            one_of("contact_id", [values["pk"] for values in existing.values()]),
            channel=ConsentRecord.Channel.EMAIL,
        ).values_list("contact_id", "withdrawn_at"):
            consent.setdefault(contact_id, []).append(withdrawn_at is None)
        for values in existing.values():
            states = consent.get(values["pk"], [])
            values["has_consent"] = any(states)
            values["withdrew"] = bool(states) and not any(states)
        for row in rows:
            found = existing.get(row.email)
            if found is not None and found["withdrew"]:
                self._reject(
                    row,
                    "email",
                    "suppressed",
                    "This supporter withdrew their consent earlier; an import never "
                    "re-subscribes them.",
                )
        return existing

    # --- the report -------------------------------------------------------------------

    def _report(self, rows: list[Row]) -> None:
        report = self.report
        for row in rows:
            if row.rejected == DUPLICATE:
                report.duplicate_in_file += 1
            elif row.rejected is not None:
                report.rejected[row.rejected] += 1
                report.rejected_rows.append(
                    (row.number, [cell_text(c) for c in row.cells], row.problems[0][2])
                )
            for column, code, message in row.problems:
                report.problem(row=row.number, column=column, code=code, message=message)
                if row.rejected is None:
                    report.warnings[code] += 1


__all__ = ["FileError", "ImportOptions", "supporters_import"]
