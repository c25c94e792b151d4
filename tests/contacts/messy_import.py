"""A messy supporter spreadsheet with a known outcome, for the import screens' tests
(unit and browser): an email column whose heading the alias matcher does not know, a
misspelt district, a repeated address, rows without consent or a valid address."""

from __future__ import annotations

from pathlib import Path

import openpyxl

EMAIL_HEADING = "E-mail address (home)"
HEADERS = ["Full name", EMAIL_HEADING, "School", "District", "Consent", "Stall notes"]

# What importing it does, given one existing supporter (``existing_email``) whose
# name it changes, a district "Cardiff" with a school "Oakfield Academy", and
# "Cardif" mapped onto "Cardiff".
KNOWN_OUTCOME = {
    "rows": 8,
    "created": 4,
    "updated": 1,
    "unchanged": 0,
    "rejected": 2,
    "duplicate": 1,
}


def messy_rows(existing_email: str) -> list[list]:
    return [
        ["Siân Llewellyn-Jones", "sian.lj@example.org", "Oakfield Academy", "Cardif", "yes", ""],
        ["Mohammed Al-Sayed", "m.alsayed@example.org", "Oakfield Academy", "Cardif", "Y", "rep"],
        ["Zofia Nowak-Kowalska", "zofia@example.org", "", "Cardiff", "yes", ""],
        ["Renamed Supporter", existing_email, "", "", "yes", ""],
        ["No Consent", "noconsent@example.org", "", "Cardiff", "no", ""],
        ["Bad Address", "not-an-address", "", "Cardiff", "yes", ""],
        ["Siân Again", "SIAN.LJ@example.org", "", "Cardif", "yes", "repeat"],
        ["王 芳", "wang.fang@example.org", "", "Cardif", "yes", ""],
    ]


def messy_xlsx(path: Path, *, existing_email: str) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in messy_rows(existing_email):
        sheet.append(row)
    workbook.save(path)
    return path
