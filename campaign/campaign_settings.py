"""Changing the campaign's own settings (name, candidate, ballot dates, sender),
checked and audited with the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from campaign.models import AuditEvent, Campaign
from campaign.roles import can
from campaign.services import audit_record

EDITABLE = (
    "name",
    "candidate",
    "ballot_opens",
    "ballot_closes",
    "sender_name",
    "sender_email",
    "reply_to",
)
# Domains that mean "no ESP set up yet": nothing to compare a sender with.
_LOCAL = {"localhost", "localhost.localdomain", "example.com"}


def esp_sender_domain() -> str | None:
    """The domain the ESP sends for: Mailgun's sender domain when set, else the
    domain of DEFAULT_FROM_EMAIL (None on a machine with no real sender yet)."""
    domain = (settings.ANYMAIL or {}).get("MAILGUN_SENDER_DOMAIN") or settings.DEFAULT_FROM_EMAIL
    domain = domain.rsplit("@", 1)[-1].strip(" >").lower()
    return None if not domain or domain in _LOCAL else domain


def _related(a: str, b: str) -> bool:
    """The same domain, or one a subdomain of the other (mg.example.org, example.org)."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def campaign_validate(values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    opens, closes = values.get("ballot_opens"), values.get("ballot_closes")
    if opens and closes and closes <= opens:
        errors["ballot_closes"] = "The ballot must close after it opens."
    sender = values.get("sender_email") or ""
    domain = esp_sender_domain()
    if sender and domain and not _related(sender.rsplit("@", 1)[-1].lower(), domain):
        errors["sender_email"] = (
            f"Mail is sent through the ESP for {domain}: use an address at {domain}, or "
            "the ESP will refuse or spam-folder the drives."
        )
    if errors:
        raise ValidationError(errors)


def _same(before: Any, after: Any) -> bool:
    """Equal, counting date-times to the minute (the form shows no seconds)."""
    if isinstance(before, datetime) and isinstance(after, datetime):
        return before.replace(second=0, microsecond=0) == after.replace(second=0, microsecond=0)
    return before == after


def _stored(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@transaction.atomic
def campaign_update(*, actor, campaign: Campaign | None, values: dict[str, Any]) -> Campaign:
    """Save the campaign's settings (creating the active campaign if there is none);
    audits each changed field with its value before and after."""
    if not can(actor, "change", "campaign.campaign"):
        raise PermissionDenied("Only organisers can change the campaign's settings.")
    values = {name: values[name] for name in EDITABLE if name in values}
    campaign_validate(values)
    created = campaign is None
    if created:
        campaign = Campaign(is_active=True)
        before = {}
    else:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        before = {name: getattr(campaign, name) for name in EDITABLE}
    changed = [
        name for name in EDITABLE if name in values and not _same(before.get(name), values[name])
    ]
    if not changed and not created:
        return campaign
    for name in changed:
        setattr(campaign, name, values[name])
    campaign.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CAMPAIGN_CHANGE,
        target=campaign,
        detail={
            "created": created,
            "fields": changed,
            "before": {name: _stored(before.get(name)) for name in changed},
            "after": {name: _stored(values[name]) for name in changed},
        },
    )
    return campaign
