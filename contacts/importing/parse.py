"""Reading one spreadsheet row into a cleaned Row with its verdict and warnings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.importing.cells import (
    Cell,
    cell_text,
    parse_date,
    parse_email,
    parse_mobile,
    parse_role,
    parse_yes_no,
)
from contacts.importing.row import Row

# Called as progress(done, total) after each chunk, in the reader's units.
ProgressFn = Callable[[int, int], None]

# The contact fields an import may fill in or change.


class RowParsingMixin:
    """Cleans each cell of a row (the importer's per-row work; no queries)."""

    def _cell(self, cells: list[Cell], name: str) -> Cell:
        # ``cells`` is padded (see _parse), and absent fields point past the row's end.
        return cells[self.at[name]]

    def _parse(self, number: int, raw_cells: list[Cell]) -> Row:
        row = Row(number, raw_cells)
        cells = raw_cells + self.padding
        raw_email = cell_text(self._cell(cells, "email"))
        if not raw_email:
            return self._reject(
                row, "email", "invalid_email", "The email address is empty; add it and re-upload."
            )
        try:
            row.email = parse_email(raw_email)
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
        hasher = self.hasher.copy()
        hasher.update(row.email.encode())
        row.email_hash = hasher.hexdigest()  # == address_hash(row.email), without re-keying
        self._parse_details(row, cells)
        return row

    def _parse_details(self, row: Row, cells: list[Cell]) -> None:
        at = self.at  # hot loop: plain indexing into the padded cells
        row.first_name = cell_text(cells[at["first_name"]])
        row.last_name = cell_text(cells[at["last_name"]])
        if self.full_name_only:
            full = cell_text(cells[at["full_name"]])
            row.first_name, _, row.last_name = full.partition(" ")
            row.last_name = row.last_name.strip()
        mobile = cells[at["mobile"]]
        try:
            row.mobile = parse_mobile(mobile)
        except ValidationError:
            row.mobile = ""
            self._warn(
                row,
                "mobile",
                "invalid_mobile",
                f'"{cell_text(mobile)}" is not a UK mobile number, so it was left out; the '
                "rest of the row was imported.",
            )
        row.consent_at = self._consent_at(row, cells[at["consent_date"]])
        role_cell = cells[at["role"]]
        role = parse_role(role_cell) if role_cell is not None else ""
        if role is None:
            self._warn(
                row,
                "role",
                "unknown_role",
                f'Role "{cell_text(role_cell)}" was not understood (use member, rep or '
                "activist, or yes/no under Rep?); the role was left as it was.",
            )
            role = ""
        row.role = role
        row.notes = cell_text(cells[at["notes"]])
        row.school_name = cell_text(cells[at["school"]])
        row.urn = cell_text(cells[at["urn"]])
        district = cell_text(cells[at["district"]])
        row.district_name = " ".join(district.split())

    def _consent_at(self, row: Row, cell: Cell) -> datetime:
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

    def _reject(self, row: Row, column: str, code: str, message: str) -> Row:
        row.rejected = code
        row.problems = [(self.header[column], code, message)]
        return row

    def _warn(self, row: Row, column: str, code: str, message: str) -> None:
        row.problems.append((self.header[column], code, message))

    # --- questions for the database, one per chunk --------------------------------


FIELDS = (
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


@lru_cache(maxsize=8192)
def _midday(day: date) -> datetime:
    # Midday, so the date reads the same in any UK time zone offset.
    return timezone.make_aware(datetime.combine(day, time(12, 0)))
