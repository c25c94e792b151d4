"""Normalising what people type: emails and UK mobile numbers.

Shared by the admin forms, the services and the spreadsheet importer so a value is
cleaned the same way wherever it arrives.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Spaces people paste from spreadsheets and web pages, beyond what str.strip() knows.
_EXTRA_SPACES = "\u00a0\u2007\u202f\u200b\ufeff"


def clean_cell(value: str) -> str:
    return value.strip().strip(_EXTRA_SPACES).strip()


def normalise_email(raw: str) -> str:
    """Trim and lower-case; raise ValidationError if it is not an address. No repairs."""
    email = clean_cell(raw or "").lower()
    if not email:
        raise ValidationError("Email address is empty.", code="invalid_email")
    validate_email(email)
    return email


def normalise_uk_mobile(raw: str) -> str:
    """Return a UK mobile in E.164 (+447…), or '' for a blank; ValidationError otherwise."""
    text = clean_cell(raw or "")
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not _is_uk_mobile(number):
        raise ValidationError(f"{text!r} is not a UK mobile number.", code="invalid_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Ofcom keeps 07700 900000-900999 for fiction; demo data and tests use it, and
# phonenumbers calls it invalid because no network will ever assign it.
_OFCOM_FICTION = re.compile(r"^7700900\d{3}$")


def _is_uk_mobile(number: phonenumbers.PhoneNumber) -> bool:
    if number.country_code != 44:
        return False
    if _OFCOM_FICTION.match(str(number.national_number)):
        return True
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    )
