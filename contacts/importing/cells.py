"""Reading one spreadsheet cell: text, yes/no, dates, mobiles and roles.

Every function takes what the reader produced (a str from CSV; str, int, float, bool,
date or datetime from XLSX/ODS) so the three formats give the same answers.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from contacts.models import Contact
from contacts.normalise import clean_cell, normalise_uk_mobile

Cell = str | int | float | bool | date | datetime | None
_ZERO_WIDTH = "\u200b\ufeff"


class _EmailValidator(EmailValidator):
    """Django's email validator with its regexes compiled up front: the stock one
    resolves lazy regexes on every call, which shows at 450,000 rows."""

    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
    domain_regex = re.compile(
        EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags
    )
    literal_regex = re.compile(
        EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags
    )


_validate_email = _EmailValidator()


def parse_email(value: Cell) -> str:
    """Trimmed and lower-cased; ValidationError when it is not an address (no repairs)."""
    return email_from_text(cell_text(value))


def email_from_text(text: str) -> str:
    """``parse_email`` of a cell already read with ``cell_text``."""
    email = text.lower()
    if not email:
        raise ValidationError("Email address is empty.", code="invalid_email")
    _validate_email(email)
    return email


def cell_text(value: Cell) -> str:
    """The cell as the organiser sees it, trimmed (no-break spaces too)."""
    if value.__class__ is str:
        # The common case, kept cheap: str.strip() already removes no-break spaces;
        # clean_cell() also knows the zero-width ones.
        text = value.strip()  # type: ignore[union-attr]
        if text and (text[0] in _ZERO_WIDTH or text[-1] in _ZERO_WIDTH):
            return clean_cell(text)
        return text
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_cell(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return clean_cell(str(value))


_YES = frozenset({"yes", "y", "true", "1", "✓", "✔", "☑", "t"})
_NO = frozenset({"no", "n", "false", "0", "", "✗", "✘", "f"})


def parse_yes_no(value: Cell) -> bool | None:
    """True for yes/y/true/1/✓, False for no/n/false/0/blank, None when not understood."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {1: True, 0: False}.get(value)  # type: ignore[call-overload]
    return yes_no_from_text(cell_text(value))


def yes_no_from_text(text: str) -> bool | None:
    """``parse_yes_no`` of a text cell already read with ``cell_text``."""
    text = text.casefold().rstrip(".!")
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


# Excel's day 0 (it wrongly believes 1900 was a leap year, hence the 30th).
_EXCEL_EPOCH = date(1899, 12, 30)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?$")
_UK = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?: [\d:.]+)?$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")


def parse_date(value: Cell) -> date | None:
    """A date from ISO, UK day-first dd/mm/yyyy, an Excel serial number or a date cell.

    Returns None for a blank cell; raises ValueError when the cell is not a date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        return _from_serial(float(value))
    return date_from_text(cell_text(value))


def date_from_text(text: str) -> date | None:
    """``parse_date`` of a text cell already read with ``cell_text``."""
    if not text:
        return None
    if match := _ISO.match(text):
        year, month, day = (int(part) for part in match.groups())
        return date(year, month, day)
    if match := _UK.match(text):
        day, month, year = (int(part) for part in match.groups())
        if year < 100:
            year += 2000 if year <= date.today().year % 100 else 1900
        return date(year, month, day)
    if _SERIAL.match(text):
        return _from_serial(float(text))
    raise ValueError("not a date")


def _from_serial(serial: float) -> date:
    # 1 is 1 Jan 1900 and 2958465 is 31 Dec 9999; anything else is not a date.
    if not 1 <= serial < 2958466:
        raise ValueError("not an Excel date")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


# Common UK shapes, after dropping spaces, dashes, dots and brackets around "(0)".
_MOBILE_SHAPE = re.compile(r"^(?:\+44\(0\)|\+44|0044|44|0)?(7\d{9})$")
_MOBILE_JUNK = re.compile(r"[\s\-.\u00a0]")
_GB_MOBILE = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("GB").mobile.national_number_pattern
)
_OFCOM_FICTION = re.compile(r"^7700900\d{3}$")


def parse_mobile(value: Cell) -> str:
    """A UK mobile in E.164, '' for a blank; ValidationError when it is not one.

    Most cells take a fast path checked against phonenumbers' own GB mobile pattern;
    anything unusual goes through ``normalise_uk_mobile`` so the rules stay one.
    """
    return mobile_from_text(cell_text(value))


def mobile_from_text(text: str) -> str:
    """``parse_mobile`` of a cell already read with ``cell_text``."""
    mobile = mobile_or_none(text)
    if mobile is None:
        raise ValidationError(f"{text!r} is not a UK mobile number.", code="invalid_mobile")
    return mobile


def mobile_or_none(text: str) -> str | None:
    """``mobile_from_text``, with None for a cell that is not a UK mobile.

    The import asks this of every row. A ValidationError is a reference cycle (its
    error_list holds the error itself, its traceback the frames and their rows), which
    only the cyclic collector frees: one per bad number kept the collector busy for
    seconds in a union-sized file.
    """
    if not text:
        return ""
    compact = _MOBILE_JUNK.sub("", text)
    match = _MOBILE_SHAPE.match(compact)
    if match:
        national = match.group(1)
        if _OFCOM_FICTION.match(national) or _GB_MOBILE.fullmatch(national):
            return "+44" + national
    elif compact.lstrip("+").isdigit() and len(compact) < 10:
        # Too few digits to be any UK mobile; no need to ask phonenumbers.
        return None
    try:
        return normalise_uk_mobile(text)
    except ValidationError:
        return None


_ROLE_WORDS = {
    "member": Contact.Role.MEMBER,
    "rep": Contact.Role.REP,
    "workplace rep": Contact.Role.REP,
    "school rep": Contact.Role.REP,
    "representative": Contact.Role.REP,
    "activist": Contact.Role.ACTIVIST,
}


def parse_role(value: Cell) -> str | None:
    """A Contact.Role from "Rep?" (yes/no) or "Role" (member/rep/activist); '' for blank.

    Returns None when the cell is not understood.
    """
    if value.__class__ is str:
        return role_from_text(cell_text(value))
    text = cell_text(value).casefold()
    if not text:
        return ""
    if text in _ROLE_WORDS:
        return _ROLE_WORDS[text]
    answer = parse_yes_no(value)
    if answer is True:
        return Contact.Role.REP
    if answer is False:
        return Contact.Role.MEMBER
    return None


# Control characters no cell may hold: C0 except TAB, LF and CR (which single-line
# fields refuse and notes keep), DEL and C1. PostgreSQL cannot store NUL at all.
_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates: in a name they make text display
# in an order other than the one stored (a spoofing trick); RTL names need none of them.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def role_from_text(text: str) -> str | None:
    """``parse_role`` of a text cell already read with ``cell_text``."""
    folded = text.casefold()
    if not folded:
        return ""
    if folded in _ROLE_WORDS:
        return _ROLE_WORDS[folded]
    answer = yes_no_from_text(text)
    if answer is True:
        return Contact.Role.REP
    if answer is False:
        return Contact.Role.MEMBER
    return None


def hidden_remove(text: str, *, bidi: bool = False) -> str:
    """The text without control characters (and, for names, bidi controls)."""
    text = _HIDDEN.sub("", text)
    return _BIDI.sub("", text) if bidi else text


def shown(text: str, limit: int = 60) -> str:
    """A cell quoted in a message: long ones shortened, so a report stays readable."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def is_blank_row(cells: list[Cell]) -> bool:
    for cell in cells:
        if cell.__class__ is str:
            # Called on every row read: most rows answer at their first cell.
            text = cell.strip()  # type: ignore[union-attr]
            if not text:
                continue
            if text[0] not in _ZERO_WIDTH and text[-1] not in _ZERO_WIDTH:
                return False
        if cell_text(cell) != "":
            return False
    return True


__all__ = [
    "Cell",
    "ValidationError",
    "cell_text",
    "date_from_text",
    "email_from_text",
    "hidden_remove",
    "is_blank_row",
    "mobile_from_text",
    "mobile_or_none",
    "parse_date",
    "parse_mobile",
    "parse_role",
    "parse_yes_no",
    "role_from_text",
    "shown",
    "yes_no_from_text",
]
