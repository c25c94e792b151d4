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
    date_from_text,
    email_from_text,
    hidden_remove,
    is_blank_row,
    mobile_or_none,
    parse_date,
    parse_role,
    parse_yes_no,
    role_from_text,
    shown,
    yes_no_from_text,
)
from contacts.importing.report import Problem
from contacts.importing.row import Row
from contacts.models import Contact, District, School

# Called as progress(done, total) after each chunk, in the reader's units.
ProgressFn = Callable[[int, int], None]

# The contact fields an import may fill in or change.


# Fields that hold one line of text, and those that are names (bidi controls removed).
_SINGLE_LINE = ("first_name", "last_name", "full_name", "school", "urn", "district")
_NAMES = ("first_name", "last_name", "full_name", "school", "district")
_UNHEADED = "unheaded_cells"
_UNREAD = object()


def _limits() -> dict[str, int]:
    """Each field's longest stored value, from the models (never cut to fit)."""
    contact, school = Contact._meta, School._meta
    return {
        "email": contact.get_field("email").max_length,
        "first_name": contact.get_field("first_name").max_length,
        "last_name": contact.get_field("last_name").max_length,
        "school": school.get_field("name").max_length,
        "urn": school.get_field("urn").max_length,
        "district": District._meta.get_field("name").max_length,
    }


class RowParsingMixin:
    """Cleans each cell of a row (the importer's per-row work; no queries)."""

    # Set up from the header on the first row (see _layout).
    width: int | None = None
    # Whether the reader gives numbers and dates as such (XLSX, ODS), not only text.
    typed_cells: bool = False

    def _layout(self) -> None:
        headers = self.columns.headers
        self.width = len(headers)
        # Columns inside the header row whose heading is blank.
        self.unheaded_within = tuple(at for at, header in enumerate(headers) if not header)
        self.field_at = {at: name for name, at in self.col.items() if at is not None}
        self.bidi_at = frozenset(self.col[name] for name in _NAMES if self.col[name] is not None)
        self.limits = _limits()
        self.text_padding: list[str] = [""] * (len(self.padding))
        self.dates: dict[str, date | None] = {}
        self.unheaded_problem: int | None = None

    def _cell(self, cells: list[Cell], name: str) -> Cell:
        # ``cells`` is padded (see _parse), and absent fields point past the row's end.
        return cells[self.at[name]]

    def _parse(self, number: int, raw_cells: list[Cell]) -> Row:
        if self.width is None:
            self._layout()
        width = self.width
        unheaded = False
        if len(raw_cells) > width:
            # A cell beyond the header row has no field: it never fills an absent one.
            unheaded = not is_blank_row(raw_cells[width:])
            raw_cells = raw_cells[:width]
        if self.unheaded_within and not unheaded:
            unheaded = any(
                cell_text(raw_cells[at]) for at in self.unheaded_within if at < len(raw_cells)
            )
        if unheaded:
            self._count_unheaded(number)
        if self.typed_cells:
            # XLSX and ODS rows mix text with numbers and dates.
            strings = [cell for cell in raw_cells if cell.__class__ is str]
            all_text = len(strings) == len(raw_cells)
            printable = "".join(strings).isprintable()
        else:  # CSV: every cell is text
            all_text = True
            printable = "".join(raw_cells).isprintable()
        hidden: list[str] = []
        if not printable:
            raw_cells, hidden = self._hidden_remove(raw_cells)
        row = Row(number, raw_cells)
        cells = raw_cells + self.padding
        # Each cell as text, read once. A printable row holds no zero-width spaces (they
        # are not printable), so for text cells str.strip() is exactly cell_text().
        if all_text and printable:
            texts = [cell.strip() for cell in raw_cells]  # type: ignore[union-attr]
        elif printable:
            texts = [
                cell.strip() if cell.__class__ is str else cell_text(cell)  # type: ignore[union-attr]
                for cell in raw_cells
            ]
        else:
            texts = [cell_text(cell) for cell in raw_cells]
        texts += self.text_padding
        raw_email = texts[self.at["email"]]
        if not raw_email:
            return self._reject(
                row, "email", "invalid_email", "The email address is empty; add it and re-upload."
            )
        if "email" in hidden:
            return self._reject(
                row,
                "email",
                "invalid_email",
                "The email address contains hidden control characters; type it again and "
                "re-upload.",
            )
        try:
            row.email = email_from_text(raw_email)
        except ValidationError:
            return self._reject(
                row,
                "email",
                "invalid_email",
                f'"{shown(raw_email)}" is not a valid email address; correct it and re-upload.',
            )
        if len(row.email) > self.limits["email"]:
            return self._reject(
                row,
                "email",
                "invalid_email",
                f"The email address is {len(row.email):,} characters long; no address can be "
                f"longer than {self.limits['email']}. Correct it and re-upload.",
            )
        consent_cell = self._cell(cells, "consent")
        consent_text = texts[self.at["consent"]]
        consent = (
            yes_no_from_text(consent_text)
            if consent_cell.__class__ is str
            else parse_yes_no(consent_cell)
        )
        if consent is None:
            return self._reject(
                row,
                "consent",
                "no_consent",
                f'Consent "{shown(consent_text)}" was not understood; write yes or '
                "no. Without a clear yes the supporter cannot be emailed, so they were not "
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
        self._parse_details(row, cells, texts, checked=printable)
        for name in hidden:
            self._warn(
                row,
                name,
                "hidden_characters",
                "The cell held hidden control characters (such as NUL, or text-direction "
                "overrides in a name); they were removed and the rest was imported.",
            )
        return row

    def _hidden_remove(self, cells: list[Cell]) -> tuple[list[Cell], list[str]]:
        """The cells without control characters, and the fields that had any."""
        cells = list(cells)
        hidden: list[str] = []
        for at, cell in enumerate(cells):
            if isinstance(cell, str) and not cell.isprintable():
                cleaned = hidden_remove(cell, bidi=at in self.bidi_at)
                if cleaned != cell:
                    cells[at] = cleaned
                    if at in self.field_at:
                        hidden.append(self.field_at[at])
        return cells, hidden

    def _count_unheaded(self, number: int) -> None:
        """One problem for the whole file, counting the rows (not one per row)."""
        report = self.report
        report.unheaded_rows += 1
        count = report.unheaded_rows
        report.warnings[_UNHEADED] = count
        problem = Problem(
            row=1,
            column="(no heading)",
            code=_UNHEADED,
            message=f"{count:,} row{'s' if count != 1 else ''} had values in columns without "
            "a heading: ignored. Give the column a heading (for example Notes) if it should "
            "be imported.",
        )
        if self.unheaded_problem is None:
            # Beside the other problems with the header row, which come first.
            at = next(
                (i for i, known in enumerate(report.problems) if known.row != 1),
                len(report.problems),
            )
            report.problems.insert(at, problem)
            self.unheaded_problem = at
        else:
            report.problems[self.unheaded_problem] = problem

    def _line(self, row: Row, name: str, text: str, checked: bool) -> str:
        """A single-line field, checked: a line break is refused (left out, reported),
        and a value longer than the database holds is never cut."""
        if not checked:
            text = self._one_line(row, name, text)
        return self._fits(row, name, text, self.limits[name])

    def _one_line(self, row: Row, name: str, text: str) -> str:
        if "\n" in text or "\r" in text:
            self._warn(
                row,
                name,
                "line_break",
                "The cell has a line break, which a name, school or district cannot hold, "
                "so it was left out and the rest was imported. Put it on one line and "
                "upload the row again.",
            )
            return ""
        return text.replace("\t", " ")

    def _fits(self, row: Row, name: str, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self._warn(
            row,
            name,
            "too_long",
            f"The cell is {len(text):,} characters long and Turnout keeps at most {limit}, "
            "so it was left out (not cut) and the rest was imported. Shorten it and upload "
            "the row again.",
        )
        return ""

    def _parse_details(
        self, row: Row, cells: list[Cell], texts: list[str], checked: bool = True
    ) -> None:
        """``cells`` as read and ``texts`` the same cells through cell_text, both padded."""
        at = self.at  # hot loop: plain indexing into the padded cells
        limits = self.limits
        if self.full_name_only:
            full = texts[at["full_name"]]
            if not checked:
                full = self._one_line(row, "full_name", full)
            first, _, last = full.partition(" ")
            last = last.strip()
            if len(first) > limits["first_name"] or len(last) > limits["last_name"]:
                self._fits(row, "full_name", full, limits["first_name"])
                first = last = ""
        else:
            first = texts[at["first_name"]]
            last = texts[at["last_name"]]
        school = texts[at["school"]]
        urn = texts[at["urn"]]
        district = texts[at["district"]]
        if (
            not checked
            or len(first) > limits["first_name"]
            or len(last) > limits["last_name"]
            or len(school) > limits["school"]
            or len(urn) > limits["urn"]
            or len(district) > limits["district"]
        ):
            # The rare row that needs a closer look (one test per field above).
            line = self._line
            if not self.full_name_only:
                first = line(row, "first_name", first, checked)
                last = line(row, "last_name", last, checked)
            school = line(row, "school", school, checked)
            urn = line(row, "urn", urn, checked)
            district = line(row, "district", district, checked)
        row.first_name, row.last_name = first, last
        row.school_name, row.urn = school, urn
        row.district_name = " ".join(district.split())
        mobile = texts[at["mobile"]]
        row.mobile = mobile_or_none(mobile)
        if row.mobile is None:
            row.mobile = ""
            self._warn(
                row,
                "mobile",
                "invalid_mobile",
                f'"{shown(mobile)}" is not a UK mobile number, so it was left out; '
                "the rest of the row was imported.",
            )
        row.consent_at = self._consent_at(row, cells[at["consent_date"]], texts[at["consent_date"]])
        role_cell = cells[at["role"]]
        if role_cell is None:
            role = ""
        elif role_cell.__class__ is str:
            role = role_from_text(texts[at["role"]])
        else:
            role = parse_role(role_cell)
        if role is None:
            self._warn(
                row,
                "role",
                "unknown_role",
                f'Role "{shown(texts[at["role"]])}" was not understood (use member, rep or '
                "activist, or yes/no under Rep?); the role was left as it was.",
            )
            role = ""
        row.role = role
        notes = texts[at["notes"]]
        row.notes = notes if checked else notes.replace("\r\n", "\n").replace("\r", "\n")

    def _consent_at(self, row: Row, cell: Cell, text: str) -> datetime:
        try:
            if cell.__class__ is str:
                # Consent dates repeat across a file (a sign-up drive's few days): each
                # distinct text is read once per import.
                given = self.dates.get(text, _UNREAD)
                if given is _UNREAD:
                    given = self.dates[text] = date_from_text(text)
            else:
                given = parse_date(cell)
        except (ValueError, OverflowError):
            self._warn(
                row,
                "consent_date",
                "invalid_consent_date",
                f'Consent date "{shown(text)}" is not a date (use 31/01/2025 or '
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
