"""Reads for the organiser's team page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaign.models import Invitation, TeamMember

User = get_user_model()


@dataclass(frozen=True)
class TeamLine:
    user: object
    member: TeamMember
    districts: list[str]
    state: str  # "active", "invited", "invitation expired", "deactivated"
    invited_until: datetime | None


def team_lines() -> list[TeamLine]:
    """Everyone in the team, organisers first, with where their invitation stands."""
    now = timezone.now()
    members = (
        TeamMember.objects.select_related("user")
        .prefetch_related(
            "districts",
            Prefetch(
                "user__invitations",
                queryset=Invitation.objects.order_by("-created_at"),
                to_attr="latest_invitations",
            ),
        )
        .order_by("role", "user__username")
    )
    lines = []
    for member in members:
        user = member.user
        invitation = user.latest_invitations[0] if user.latest_invitations else None
        if not user.is_active:
            state = "deactivated"
        elif not user.has_usable_password() and invitation and invitation.used_at is None:
            state = "invited" if invitation.is_usable(now) else "invitation expired"
        else:
            state = "active"
        lines.append(
            TeamLine(
                user=user,
                member=member,
                districts=sorted(d.name for d in member.districts.all()),
                state=state,
                invited_until=invitation.expires_at if state == "invited" else None,
            )
        )
    order = {"organiser": 0, "lead": 1, "volunteer": 2}
    return sorted(lines, key=lambda line: (order.get(line.member.role, 9), line.user.username))


def team_member_get(*, pk: int):
    """A teammate's user by id (404 for anyone not in the team)."""
    return get_object_or_404(User.objects.filter(team_member__isnull=False), pk=pk)


def audit_actor_labels() -> list[str]:
    from campaign.models import AuditEvent

    return sorted(
        set(AuditEvent.objects.exclude(actor_label="").values_list("actor_label", flat=True))
    )


def audit_events(
    *,
    actor: str = "",
    action: str = "",
    date_from=None,
    date_to=None,
    target: str = "",
):
    """The audit trail, newest first, filtered. Dates are whole local days."""
    from datetime import datetime, time, timedelta

    from campaign.models import AuditEvent

    events = AuditEvent.objects.all()
    if actor == "-":
        events = events.filter(actor_label="")
    elif actor:
        events = events.filter(actor_label=actor)
    if action:
        events = events.filter(action=action)
    zone = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.combine(date_from, time.min, zone))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time.min, zone)
        events = events.filter(created_at__lt=end)
    if target.strip():
        events = events.filter(target_label__icontains=target.strip())
    return events.order_by("-created_at", "-pk")
