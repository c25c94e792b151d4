"""The import pipeline: set-based, chunked, one transaction, the same for a dry run.

Rows are read as a stream and handled in chunks. For each chunk the importer cleans
every row in Python, then asks the database one ``IN`` query per kind of thing it
needs (suppressed addresses, existing contacts and their consent, schools by URN and
by name) and writes with ``bulk_create``/``bulk_update``. Nothing is ever queried or
written row by row, so 450,000 rows take seconds, not hours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.roles import can
from campaign.services import audit_record
from contacts.importing.cells import (
    Cell,
    cell_text,
    parse_date,
    parse_mobile,
    parse_role,
    parse_yes_no,
)
from contacts.importing.columns import ColumnMap, columns_map
from contacts.importing.errors import FileError
from contacts.importing.reading import Sheet, file_fingerprint, sheet_open
from contacts.importing.report import DUPLICATE, ImportReport
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    ImportBatch,
    ImportChange,
    School,
    Suppression,
    name_key,
)
from contacts.normalise import normalise_email
from contacts.services import school_prepare
from contacts.suppression import address_hash

# Called as progress(done, total) after each chunk, in the reader's units.
ProgressFn = Callable[[int, int], None]

# The contact fields an import may fill in or change.
UPDATABLE = ("first_name", "last_name", "mobile", "school_id", "district_id", "role", "notes")


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    # Recorded on each consent the import creates; blank means the settings' default.
    consent_wording: str = ""
    consent_version: str = ""
    chunk_size: int = 5000

    def stored(self) -> dict:
        data = asdict(self)
        data.pop("chunk_size")
        return data


def supporters_import(
    *,
    path: str | Path,
    file_name: str,
    actor,
    options: ImportOptions | None = None,
    batch: ImportBatch | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import a supporter spreadsheet; return what it did (or would do, for a dry run).

    Raises FileError, with nothing written, when the file as a whole cannot be
    imported; any other failure rolls the whole import back as well. ``batch`` is an
    ImportBatch already recorded for a queued import; otherwise one is created.
    """
    options = options or ImportOptions()
    if not can(actor, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can import supporters.")
    path = Path(path)
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
        columns = columns_map(sheet.headers)
        report = ImportReport(
            dry_run=options.dry_run, file_name=file_name, sha256=fingerprint.sha256
        )
        with transaction.atomic():
            now = timezone.now()
            if batch is None:
                batch = ImportBatch.objects.create(
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                    file_name=file_name[:255],
                    sha256=fingerprint.sha256,
                    status=ImportBatch.Status.RUNNING,
                    started_at=now,
                )
            importer = _Importer(
                batch=batch, columns=columns, report=report, options=options, now=now
            )
            importer.run(sheet, progress)
            _finish(batch=batch, report=report, importer=importer, options=options, actor=actor)
            if options.dry_run:
                transaction.set_rollback(True)
            else:
                report.batch_id = batch.pk
    finally:
        sheet.close()
    return report


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
            detail={"file_name": batch.file_name, "sha256": batch.sha256},
        )


class _Row:
    """One data row on its way through the checks."""

    __slots__ = (
        "cells",
        "consent_at",
        "district",
        "district_name",
        "email",
        "email_hash",
        "first_name",
        "last_name",
        "mobile",
        "notes",
        "number",
        "problems",
        "rejected",
        "role",
        "school",
        "school_name",
        "urn",
    )

    def __init__(self, number: int, cells: list[Cell]) -> None:
        self.number = number
        self.cells = cells
        self.rejected: str | None = None
        self.problems: list[tuple[str, str, str]] = []  # (column, code, message)
        self.school: int | School | None = None
        self.district: int | District | None = None


def _id(ref: int | School | District | None) -> int | None:
    return ref if ref is None or isinstance(ref, int) else ref.pk


def _key(ref: int | District) -> int | tuple[str, int]:
    return ref if isinstance(ref, int) else ("new", id(ref))


def _same(a: int | District, b: int | District) -> bool:
    return _key(a) == _key(b)


class _Importer:
    def __init__(
        self,
        *,
        batch: ImportBatch,
        columns: ColumnMap,
        report: ImportReport,
        options: ImportOptions,
        now: datetime,
    ) -> None:
        self.batch = batch
        self.columns = columns
        self.report = report
        self.options = options
        self.now = now
        self.today = timezone.localdate(now)
        self.source = f"Import #{batch.pk}: {batch.file_name}"[:200]
        self.wording = options.consent_wording or settings.CONSENT_DEFAULT_WORDING
        self.version = options.consent_version or settings.CONSENT_DEFAULT_VERSION
        self.col = {name: columns.index.get(name) for name in _FIELDS}
        self.header = {name: columns.header(name) for name in _FIELDS}
        self.first_row: dict[str, int] = {}  # email -> the row that used it
        self.districts = {
            name.lower(): pk for pk, name in District.objects.values_list("pk", "name")
        }
        self.school_district: dict[int, int] = {}
        self.by_urn: dict[str, School | int | None] = {}
        self.by_key: dict[str, list[tuple[int, School | int]]] = {}
        self.created_schools: list[int] = []
        self.created_districts: list[int] = []
        self.progress = (0, 0)
        # New (unsaved) school -> its district, an id or a new District.
        self.pending_district: dict[int, int | District] = {}
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

    # --- the loop ---------------------------------------------------------------------

    def run(self, sheet: Sheet, progress: ProgressFn | None) -> None:
        last = sheet.header_row
        limit = settings.IMPORT_MAX_ROWS
        rows = iter(sheet.rows)
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
            self._chunk(parsed)
            if progress is not None:
                progress(sheet.progress_done(), sheet.progress_total)
        done = sheet.progress_done()
        self.progress = (done, max(done, sheet.progress_total))

    def _chunk(self, rows: list[_Row]) -> None:
        self._reject_suppressed(rows)
        existing = self._existing_contacts([r for r in rows if r.rejected is None])
        accepted: list[_Row] = []
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

    def _cell(self, cells: list[Cell], name: str) -> Cell:
        position = self.col[name]
        if position is None or position >= len(cells):
            return None
        return cells[position]

    def _parse(self, number: int, cells: list[Cell]) -> _Row:
        row = _Row(number, cells)
        raw_email = cell_text(self._cell(cells, "email"))
        if not raw_email:
            return self._reject(
                row, "email", "invalid_email", "The email address is empty; add it and re-upload."
            )
        try:
            row.email = normalise_email(raw_email)
        except ValidationError:
            return self._reject(
                row,
                "email",
                "invalid_email",
                f'"{raw_email}" is not a valid email address; correct it and re-upload.',
            )
        consent_cell = self._cell(cells, "consent")
        consent = parse_yes_no(consent_cell)
        if consent is None:
            return self._reject(
                row,
                "consent",
                "no_consent",
                f'Consent "{cell_text(consent_cell)}" was not understood; write yes or no. '
                "Without a clear yes the supporter cannot be emailed, so they were not "
                "imported.",
            )
        if not consent:
            return self._reject(
                row,
                "consent",
                "no_consent",
                "No consent to email (the cell is no or blank), so the supporter was not imported.",
            )
        row.email_hash = address_hash(row.email)
        self._parse_details(row, cells)
        return row

    def _parse_details(self, row: _Row, cells: list[Cell]) -> None:
        row.first_name = cell_text(self._cell(cells, "first_name"))
        row.last_name = cell_text(self._cell(cells, "last_name"))
        if self.col["first_name"] is None and self.col["last_name"] is None:
            full = cell_text(self._cell(cells, "full_name"))
            row.first_name, _, row.last_name = full.partition(" ")
            row.last_name = row.last_name.strip()
        try:
            row.mobile = parse_mobile(self._cell(cells, "mobile"))
        except ValidationError:
            row.mobile = ""
            self._warn(
                row,
                "mobile",
                "invalid_mobile",
                f'"{cell_text(self._cell(cells, "mobile"))}" is not a UK mobile number, so it '
                "was left out; the rest of the row was imported.",
            )
        row.consent_at = self._consent_at(row, self._cell(cells, "consent_date"))
        role = parse_role(self._cell(cells, "role"))
        if role is None:
            self._warn(
                row,
                "role",
                "unknown_role",
                f'Role "{cell_text(self._cell(cells, "role"))}" was not understood (use '
                "member, rep or activist, or yes/no under Rep?); the role was left as it was.",
            )
            role = ""
        row.role = role
        row.notes = cell_text(self._cell(cells, "notes"))
        row.school_name = cell_text(self._cell(cells, "school"))
        row.urn = cell_text(self._cell(cells, "urn"))
        row.district_name = " ".join(cell_text(self._cell(cells, "district")).split())

    def _consent_at(self, row: _Row, cell: Cell) -> datetime:
        try:
            given = parse_date(cell)
        except (ValueError, OverflowError):
            self._warn(
                row,
                "consent_date",
                "invalid_consent_date",
                f'Consent date "{cell_text(cell)}" is not a date (use 31/01/2025 or '
                "2025-01-31); the import date was recorded instead.",
            )
            return self.now
        if given is None:
            return self.now
        if given > self.today:
            self._warn(
                row,
                "consent_date",
                "invalid_consent_date",
                f"Consent date {given:%d/%m/%Y} is in the future; the import date was "
                "recorded instead.",
            )
            return self.now
        return _midday(given)

    def _reject(self, row: _Row, column: str, code: str, message: str) -> _Row:
        row.rejected = code
        row.problems = [(self.header[column], code, message)]
        return row

    def _warn(self, row: _Row, column: str, code: str, message: str) -> None:
        row.problems.append((self.header[column], code, message))

    # --- questions for the database, one per chunk --------------------------------

    def _reject_suppressed(self, rows: list[_Row]) -> None:
        hashes = {row.email_hash for row in rows if row.rejected is None}
        if not hashes:
            return
        suppressed = set(
            Suppression.objects.filter(address_hash__in=hashes).values_list(
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

    def _existing_contacts(self, rows: list[_Row]) -> dict[str, dict]:
        emails = {row.email for row in rows}
        if not emails:
            return {}
        existing = {
            values["email"].lower(): values
            for values in Contact.objects.alias(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .values("pk", "email", "email_hash", *UPDATABLE)
        }
        consent: dict[int, list[bool]] = {}
        for contact_id, withdrawn_at in ConsentRecord.objects.filter(
            contact_id__in=[values["pk"] for values in existing.values()],
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

    def _resolve_places(self, rows: list[_Row]) -> None:
        """Give each row a school and district: ids of existing ones, or new objects
        created here in bulk (a new district only if something ends up in it)."""
        self._load_schools(rows)
        new_districts: dict[str, District] = {}
        new_schools: list[School] = []
        has_district_column = self.col["district"] is not None
        for row in rows:
            district: int | District | None = None
            if row.district_name:
                key = row.district_name.lower()
                district = self.districts.get(key) or new_districts.get(key)
                if district is None:
                    district = new_districts[key] = District(name=row.district_name[:120])
            row.school = self._match_school(row, district, new_schools)
            school_district = self._school_district(row.school)
            if school_district is not None:
                if district is not None and not _same(district, school_district):
                    self._warn(
                        row,
                        "district",
                        "district_mismatch",
                        f'The school is not in district "{row.district_name}"; the '
                        "school's own district was used.",
                    )
                row.district = school_district
            else:
                row.district = district
            if has_district_column and not row.district_name:
                self._warn(
                    row,
                    "district",
                    "missing_district",
                    "No district given; the school's district was used."
                    if row.district is not None
                    else "No district given and the school is not known, so the supporter "
                    "has no district yet.",
                )
        used = {id(row.district) for row in rows} | {
            id(self.pending_district[id(school)]) for school in new_schools
        }
        wanted = [d for d in new_districts.values() if id(d) in used]
        if wanted:
            District.objects.bulk_create(wanted)
            for created in wanted:
                self.districts[created.name.lower()] = created.pk
                self.created_districts.append(created.pk)
            self.report.districts_created += len(wanted)
        if new_schools:
            for school in new_schools:
                school.district_id = _id(self.pending_district.pop(id(school)))
            School.objects.bulk_create(new_schools)
            for school in new_schools:
                self.school_district[school.pk] = school.district_id
                self.created_schools.append(school.pk)
            self.report.schools_created += len(new_schools)
        # From here on every reference is an id (new objects now have theirs).
        for row in rows:
            row.district = _id(row.district)
            row.school = _id(row.school)
        for key, candidates in self.by_key.items():
            if any(not isinstance(s, int) for _, s in candidates):
                self.by_key[key] = [(_id(d), _id(s)) for d, s in candidates]
        for urn, school in list(self.by_urn.items()):
            if isinstance(school, School):
                self.by_urn[urn] = school.pk

    def _school_district(self, school: School | int | None) -> int | District | None:
        if school is None:
            return None
        if isinstance(school, School):
            return self.pending_district[id(school)]
        return self.school_district.get(school)

    def _load_schools(self, rows: list[_Row]) -> None:
        urns = {row.urn for row in rows if row.urn and row.urn not in self.by_urn}
        if urns:
            for pk, urn, district_id in School.objects.filter(urn__in=urns).values_list(
                "pk", "urn", "district_id"
            ):
                self.by_urn[urn] = pk
                self.school_district[pk] = district_id
            for urn in urns:
                self.by_urn.setdefault(urn, None)
        keys = {name_key(row.school_name) for row in rows if row.school_name}
        keys = {key for key in keys if key and key not in self.by_key}
        if keys:
            for pk, key, district_id in (
                School.objects.filter(name_key__in=keys)
                .order_by("pk")
                .values_list("pk", "name_key", "district_id")
            ):
                self.by_key.setdefault(key, []).append((district_id, pk))
                self.school_district[pk] = district_id
            for key in keys:
                self.by_key.setdefault(key, [])

    def _match_school(
        self, row: _Row, district: int | District | None, new_schools: list[School]
    ) -> School | int | None:
        """URN first, then the name within the district; a new school when neither
        matches and the district is known."""
        if row.urn:
            found = self.by_urn.get(row.urn)
            if found is not None:
                return found
        if not row.school_name:
            if row.urn:
                self._warn(
                    row,
                    "urn",
                    "unknown_school",
                    f"URN {row.urn} is not a school Turnout knows and the row has no school "
                    "name, so the school was left blank.",
                )
            return None
        key = name_key(row.school_name)
        candidates = self.by_key.setdefault(key, [])
        if district is not None:
            for candidate_district, school in candidates:
                if _same(candidate_district, district):
                    return school
            school = school_prepare(
                school=School(name=row.school_name[:200], urn=(row.urn or None))
            )
            self.pending_district[id(school)] = district
            new_schools.append(school)
            candidates.append((district, school))
            if row.urn:
                self.by_urn[row.urn] = school
            return school
        if len({_key(d) for d, _ in candidates}) == 1:
            return candidates[0][1]
        self._warn(
            row,
            "school",
            "unknown_school",
            f'School "{row.school_name}" '
            + ("is in more than one district" if candidates else "is not a school Turnout knows")
            + " and the row gives no district or known URN, so the school was left blank.",
        )
        return None

    # --- writing ----------------------------------------------------------------------

    def _write(self, rows: list[_Row], existing: dict[str, dict]) -> None:
        creates: list[tuple[_Row, Contact]] = []
        changes: list[tuple[_Row, dict, dict]] = []
        for row in rows:
            found = existing.get(row.email)
            if found is None:
                if not row.first_name and not row.last_name:
                    self._warn(
                        row,
                        "first_name",
                        "missing_name",
                        "The row has no name; the supporter was imported without one.",
                    )
                contact = Contact(
                    first_name=row.first_name[:150],
                    last_name=row.last_name[:150],
                    email=row.email,
                    email_hash=row.email_hash,
                    mobile=row.mobile,
                    school_id=row.school,
                    district_id=row.district,
                    role=row.role or Contact.Role.MEMBER,
                    notes=row.notes,
                    source_import=self.batch,
                    created_at=self.now,
                )
                creates.append((row, contact))
                continue
            new = self._changed_fields(row, found)
            if new or not found["has_consent"]:
                changes.append((row, found, new))
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        if creates:
            Contact.objects.bulk_create([contact for _, contact in creates], batch_size=2000)
            ConsentRecord.objects.bulk_create(
                [self._consent(contact.pk, row.consent_at) for row, contact in creates],
                batch_size=2000,
            )
            self.report.created += len(creates)
        if changes:
            self._apply_changes(changes)

    def _changed_fields(self, row: _Row, found: dict) -> dict:
        wanted = {
            "first_name": row.first_name[:150],
            "last_name": row.last_name[:150],
            "mobile": row.mobile,
            "school_id": row.school,
            "district_id": row.district,
            "notes": row.notes,
        }
        if row.role == Contact.Role.MEMBER:
            # "Rep? no" says the person is not a rep; it does not demote an activist.
            if found["role"] == Contact.Role.REP:
                wanted["role"] = Contact.Role.MEMBER
        elif row.role:
            wanted["role"] = row.role
        # A blank cell never erases what is stored.
        return {
            name: value
            for name, value in wanted.items()
            if value not in ("", None) and value != found[name]
        }

    def _apply_changes(self, changes: list[tuple[_Row, dict, dict]]) -> None:
        groups: dict[tuple[str, ...], list[Contact]] = {}
        records: list[ImportChange] = []
        new_consents: list[ConsentRecord] = []
        consent_owner: list[ImportChange] = []
        for row, found, new in changes:
            if new:
                contact = Contact(pk=found["pk"], updated_at=self.now, **new)
                groups.setdefault(tuple(sorted(new)), []).append(contact)
            change = ImportChange(
                batch=self.batch,
                contact_id=found["pk"],
                previous={name: found[name] for name in new},
            )
            records.append(change)
            if not found["has_consent"]:
                new_consents.append(self._consent(found["pk"], row.consent_at))
                consent_owner.append(change)
        for fields, contacts in groups.items():
            Contact.objects.bulk_update(contacts, [*fields, "updated_at"], batch_size=1000)
        if new_consents:
            ConsentRecord.objects.bulk_create(new_consents, batch_size=2000)
            for change, consent in zip(consent_owner, new_consents, strict=True):
                change.consent_record_id = consent.pk
        ImportChange.objects.bulk_create(records, batch_size=2000)

    def _consent(self, contact_id: int, given_at: datetime) -> ConsentRecord:
        return ConsentRecord(
            contact_id=contact_id,
            channel=ConsentRecord.Channel.EMAIL,
            given_at=given_at,
            source=self.source,
            wording=self.wording,
            version=self.version,
            method=ConsentRecord.Method.IMPORT,
            created_at=self.now,
        )

    # --- the report -------------------------------------------------------------------

    def _report(self, rows: list[_Row]) -> None:
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


_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "full_name",
    "mobile",
    "school",
    "urn",
    "district",
    "consent",
    "consent_date",
    "role",
    "notes",
)


def _midday(day: date) -> datetime:
    # Midday, so the date reads the same in any UK time zone offset.
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


__all__ = ["FileError", "ImportOptions", "supporters_import"]
