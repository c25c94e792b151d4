"""One data row on its way through the importer's checks."""

from __future__ import annotations

from contacts.importing.cells import Cell
from contacts.models import District, School


class Row:
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
