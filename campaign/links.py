"""Signed links that go out in emails and on printed sheets.

A token carries one id, signed with a per-purpose salt and a timestamp, so links
cannot be forged, guessed or reused for another purpose, and can expire.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing

UNSUBSCRIBE = "unsubscribe"
VOTED = "voted"


def signed_token(*, purpose: str, value: int) -> str:
    return signing.dumps(value, salt=f"turnout.{purpose}")


def token_value(*, purpose: str, token: str, max_age: timedelta | None = None) -> int:
    """The id inside ``token``; raises signing.BadSignature (or SignatureExpired)."""
    value = signing.loads(token, salt=f"turnout.{purpose}", max_age=max_age)
    if not isinstance(value, int):
        raise signing.BadSignature("Token does not hold an id.")
    return value


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}/{path.lstrip('/')}"


def voted_url(*, contact_id: int) -> str:
    """The "I have voted" link for one supporter (served at /voted/<token>/)."""
    return absolute_url(f"voted/{signed_token(purpose=VOTED, value=contact_id)}/")
