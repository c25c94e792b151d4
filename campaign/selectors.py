"""Campaign-wide reads."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from campaign.models import Campaign
from campaign.roles import Role


def campaign_active() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).first()


def organiser_emails() -> list[str]:
    """Where campaign-wide warnings go: every active organiser with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(is_superuser=True) | Q(team_member__role=Role.ORGANISER))
    return sorted(set(users.values_list("email", flat=True)))
