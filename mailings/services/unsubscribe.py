"""Unsubscribing from a drive's link or a mail provider's one-click POST (RFC 8058)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from campaign.links import (
    UNSUBSCRIBE,
    LinkExpired,
    absolute_url,
    signed_token,
    token_value,
    unsubscribe_deadline,
)
from contacts.models import ConsentRecord, Contact, Suppression
from contacts.services import consent_withdraw, suppression_add
from contacts.services.erasure import ERASED_DOMAIN
from mailings.models import Recipient


def unsubscribe_url(*, recipient_id: int) -> str:
    """The personal unsubscribe link: a signed token holding the recipient row id."""
    return absolute_url(f"u/{signed_token(purpose=UNSUBSCRIBE, value=recipient_id)}/")


def unsubscribe_recipient(*, token: str) -> Recipient | None:
    """The recipient row a token names; raises signing.BadSignature / SignatureExpired.

    A link works for MAILING_UNSUBSCRIBE_MAX_AGE_DAYS after it was sent, and beyond
    that until MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE days after its campaign's ballot
    closed (campaign/links.py)."""
    max_age = timedelta(days=settings.MAILING_UNSUBSCRIBE_MAX_AGE_DAYS)
    try:
        recipient_id = token_value(purpose=UNSUBSCRIBE, token=token, max_age=max_age)
        fresh = True
    except signing.SignatureExpired:
        recipient_id = token_value(purpose=UNSUBSCRIBE, token=token)
        fresh = False
    recipient = (
        Recipient.objects.select_related("mailing", "mailing__campaign")
        .filter(pk=recipient_id)
        .first()
    )
    if recipient is not None and not fresh:
        campaign = recipient.mailing.campaign
        if campaign is None or timezone.now() >= unsubscribe_deadline(campaign):
            raise LinkExpired("The campaign of this link closed long ago.")
    return recipient


@transaction.atomic
def unsubscribe_confirm(*, recipient: Recipient, one_click: bool) -> None:
    """Withdraw consent and suppress the address at once.

    Queued rows of every drive are re-checked at send time, so no later or in-flight
    send reaches the address; rows still queued are settled as skipped now so the
    drive's progress shows it.
    """
    how = (
        ConsentRecord.WithdrawnHow.ONE_CLICK
        if one_click
        else ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK
    )
    source = f"Drive {recipient.mailing_id}"
    contacts = Contact.objects.filter(pk=recipient.contact_id)
    if recipient.contact_id is not None and contacts.exists():
        consent_withdraw(contacts=contacts, how=how, source=source)
    elif not recipient.email.endswith(f"@{ERASED_DOMAIN}"):
        # The contact was deleted since; still make sure the address is never mailed.
        # (An erased row holds no address: erasure suppressed it already.)
        suppression_add(
            email=recipient.email, reason=Suppression.Reason.UNSUBSCRIBED, source=source
        )
    Recipient.objects.filter(email=recipient.email, status=Recipient.Status.QUEUED).update(
        status=Recipient.Status.SKIPPED, error="Unsubscribed"
    )


def token_error(exc: signing.BadSignature) -> str:
    if isinstance(exc, signing.SignatureExpired):
        return "expired"
    return "invalid"
