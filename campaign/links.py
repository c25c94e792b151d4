"""Signed links that go out in emails and on printed sheets.

A token carries one id, signed with a per-purpose salt and a timestamp, so links
cannot be forged, guessed or reused for another purpose, and can expire.

Links in a drive carry the drive's recipient row (so the drive and, through it, the
campaign are known) and expire with the campaign:

* "I have voted" works only until the campaign's ballot closes;
* unsubscribe keeps working until ``MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE`` days after
  the ballot closes (two years by default), and never less than
  ``MAILING_UNSUBSCRIBE_MAX_AGE_DAYS`` after the email was sent.

Previews and test sends carry :data:`PREVIEW_TOKEN` instead, which names nobody: the
link opens a page saying it is a preview, and posting it records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.utils import timezone

if TYPE_CHECKING:
    from campaign.models import Campaign

UNSUBSCRIBE = "unsubscribe"
# Tokens made before links carried the drive held a contact id; they are honoured only
# inside the running campaign (signed after it began, before its ballot closes).
VOTED = "voted"
VOTED_RECIPIENT = "voted.recipient"
PREVIEW_TOKEN = "preview"  # noqa: S105 - not a secret: the dummy token of previews


class LinkExpired(signing.SignatureExpired):
    """The token is genuine but its campaign is over."""


def signed_token(*, purpose: str, value: int) -> str:
    return signing.dumps(value, salt=f"turnout.{purpose}")


def token_value(*, purpose: str, token: str, max_age: timedelta | None = None) -> int:
    """The id inside ``token``; raises signing.BadSignature (or SignatureExpired)."""
    value = signing.loads(token, salt=f"turnout.{purpose}", max_age=max_age)
    if not isinstance(value, int) or isinstance(value, bool):
        raise signing.BadSignature("Token does not hold an id.")
    return value


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}/{path.lstrip('/')}"


def voted_url(*, recipient_id: int) -> str:
    """The "I have voted" link of one recipient of a drive (served at /voted/<token>/)."""
    return absolute_url(f"voted/{signed_token(purpose=VOTED_RECIPIENT, value=recipient_id)}/")


def preview_url(kind: str) -> str:
    """The dummy link a preview or test send carries instead of a personal one."""
    return absolute_url(f"{kind}/{PREVIEW_TOKEN}/")


def is_preview(token: str) -> bool:
    return token == PREVIEW_TOKEN


def unsubscribe_deadline(campaign: Campaign) -> datetime:
    return campaign.ballot_closes + timedelta(days=settings.MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE)


@dataclass(frozen=True)
class VotedLink:
    contact_id: int
    recipient_id: int | None
    campaign: Campaign | None


def voted_link_resolve(*, token: str, at: datetime | None = None) -> VotedLink:
    """Who an "I have voted" token names, if it may still record.

    Raises signing.BadSignature for a forged or foreign token and LinkExpired once the
    ballot of the token's campaign has closed (or, for an old contact token, when it
    was signed before the running campaign began).
    """
    from campaign.models import Campaign
    from campaign.selectors import campaign_active
    from mailings.models import Recipient

    at = at or timezone.now()
    try:
        recipient_id = token_value(purpose=VOTED_RECIPIENT, token=token)
    except signing.BadSignature:
        recipient_id = None
    if recipient_id is not None:
        row = (
            Recipient.objects.filter(pk=recipient_id)
            .values_list("contact_id", "mailing__campaign_id")
            .first()
        )
        if row is None or row[0] is None:
            raise signing.BadSignature("The drive's recipient row is gone.")
        contact_id, campaign_id = row
        campaign = (
            Campaign.objects.filter(pk=campaign_id).first() if campaign_id else campaign_active()
        )
        if campaign is None or at >= campaign.ballot_closes:
            raise LinkExpired("The ballot has closed.")
        return VotedLink(contact_id=contact_id, recipient_id=recipient_id, campaign=campaign)

    # An old-style token holding a contact id.
    campaign = campaign_active()
    if campaign is None:
        raise LinkExpired("There is no campaign running.")
    # A day's grace: token times are whole seconds and clocks differ a little.
    max_age = max(timedelta(0), at - campaign.created_at) + timedelta(days=1)
    contact_id = token_value(purpose=VOTED, token=token, max_age=max_age)
    if at >= campaign.ballot_closes:
        raise LinkExpired("The ballot has closed.")
    return VotedLink(contact_id=contact_id, recipient_id=None, campaign=campaign)
