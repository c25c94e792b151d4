"""Keyed hashes of email addresses for the suppression list.

The list must outlive the contact (an erased supporter must never be re-imported and
mailed), so it stores an HMAC of the normalised address rather than the address.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def address_hash(email: str) -> str:
    normalised = email.strip().lower().encode()
    return hmac.new(settings.SUPPRESSION_HASH_KEY, normalised, hashlib.sha256).hexdigest()
