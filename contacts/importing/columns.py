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


def columns_map(headers: list[str]) -> ColumnMap:
    """Map a header row to fields; a missing email or consent column is a file error."""
    # A heading is shown back to the organiser and stored with the report: no control
    # characters (PostgreSQL cannot store NUL) and no text-direction tricks.
    headers = [hidden_remove(h, bidi=True) if isinstance(h, str) else h for h in headers]
    index: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    repeated: list[tuple[int, str, str]] = []
    for position, header in enumerate(headers):
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
