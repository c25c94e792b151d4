"""Campaign-wide reads."""

from __future__ import annotations

from campaign.models import Campaign


def campaign_active() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).first()
