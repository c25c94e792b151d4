"""Which spreadsheet column means what: headers matched case-insensitively through aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from contacts.importing.cells import hidden_remove
from contacts.importing.errors import FileError
from contacts.normalise import clean_cell

# Canonical field -> the headers people actually use for it (compared by _header_key).
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "email address", "e-mail", "e-mail address", "email addr", "mail"),
    "first_name": ("first name", "firstname", "forename", "forenames", "given name", "first"),
    "last_name": ("last name", "lastname", "surname", "family name", "last"),
    "full_name": ("name", "full name", "fullname", "supporter name"),
    "mobile": (
        "mobile",
        "mobile number",
        "mobile phone",
        "mobile no",
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mob",
    ),
    "school": (
        "school",
        "school / workplace",
        "workplace",
        "school name",
        "workplace name",
        "establishment",
    ),
    "urn": ("school urn", "urn", "dfe number", "dfe no", "dfe urn"),
    "district": ("district", "district name", "union district"),
    "consent": (
        "consent",
        "consent to email",
        "email consent",
        "consented",
        "consent to emails",
        "email opt in",
        "opt in",
    ),
    "consent_date": (
        "consent date",
        "date of consent",
        "consent given",
        "consent given on",
        "consented on",
        "date consented",
    ),
    "role": ("role", "rep?", "rep", "is rep", "workplace rep"),
    "notes": ("notes", "note", "comments", "comment"),
}

REQUIRED = ("email", "consent")

# Columns the importer itself writes into downloads; ignored without a warning.
IGNORED = frozenset({"problem"})

# What to call each field when talking to the organiser.
LABELS = {
    "email": "Email",
    "consent": "Consent to email",
}

# Every field, as the column-mapping screen offers it.
FIELD_LABELS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "mobile": "Mobile",
    "school": "School",
    "urn": "School URN",
    "district": "District",
    "consent": "Consent to email",
    "consent_date": "Consent date",
    "role": "Role",
    "notes": "Notes",
}
IGNORE = ""  # a column the organiser chose not to import


def _header_key(header: str) -> str:
    return re.sub(r"[^\w]+", "", clean_cell(header).casefold())


_BY_KEY = {_header_key(alias): name for name, aliases in ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class ColumnMap:
    """Field name -> column index, plus what was not understood."""

    index: dict[str, int]
    headers: list[str]
    # (column index, header) of columns that mean nothing to the importer.
    unknown: list[tuple[int, str]] = field(default_factory=list)
    # (column index, header, field) of a second column for a field already mapped.
    repeated: list[tuple[int, str, str]] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers[self.index[name]] if name in self.index else LABELS.get(name, name)

    def has(self, name: str) -> bool:
        return name in self.index


def header_suggest(header) -> str | None:
    """The field a heading means by its name, if any (the alias matcher)."""
    if not clean_cell(header) or _header_key(header) in IGNORED:
        return None
    return _BY_KEY.get(_header_key(header))


def headers_clean(headers: list) -> list[str]:
    """Headings as shown back to the organiser and stored with the report: no control
    characters (PostgreSQL cannot store NUL) and no text-direction tricks."""
    return [clean_cell(hidden_remove(h, bidi=True) if isinstance(h, str) else h) for h in headers]


def chosen_check(headers: list[str], chosen: list[str] | tuple[str, ...]) -> None:
    """An organiser's mapping must fit the file: one entry per column, known fields,
    no field twice. A mapping that does not fit is refused, never guessed at."""
    if len(chosen) != len(headers):
        raise FileError(
            "The column mapping was made for a file with different columns; map the "
            "columns again; nothing was imported."
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(chosen):
        if name == IGNORE:
            continue
        if name not in FIELD_LABELS:
            raise FileError(f'"{name}" is not a field Turnout imports; nothing was imported.')
        if name in seen:
            raise FileError(
                f'Columns "{headers[seen[name]]}" and "{headers[position]}" are both mapped '
                f"to {FIELD_LABELS[name]}; map only one of them; nothing was imported."
            )
        seen[name] = position


def columns_map(headers: list[str], chosen: list[str] | tuple[str, ...] | None = None) -> ColumnMap:
    """Map a header row to fields; a missing email or consent column is a file error.

    ``chosen`` is the organiser's own mapping from the mapping screen, one field name
    (or IGNORE) per column; without it headings are matched through ALIASES.
    """
    headers = [hidden_remove(h, bidi=True) if isinstance(h, str) else h for h in headers]
    index: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    repeated: list[tuple[int, str, str]] = []
    if chosen is not None:
        chosen_check([clean_cell(h) for h in headers], chosen)
    for position, header in enumerate(headers):
        if chosen is not None:
            if chosen[position] != IGNORE:
                index[chosen[position]] = position
            continue
        if not clean_cell(header):
            continue
        if _header_key(header) in IGNORED:
            continue
        name = _BY_KEY.get(_header_key(header))
        if name is None:
            unknown.append((position, clean_cell(header)))
        elif name in index:
            repeated.append((position, clean_cell(header), name))
        else:
            index[name] = position
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        wanted = {
            "email": '"Email" (or "Email address", "E-mail")',
            "consent": '"Consent to email" (or "Email consent", "Consent")',
        }
        raise FileError(
            "Row 1 has no "
            + " and no ".join(wanted[name] for name in missing)
            + " column. Add the column with that heading and upload the file again; "
            "nothing was imported."
        )
    return ColumnMap(
        index=index, headers=[clean_cell(h) for h in headers], unknown=unknown, repeated=repeated
    )
