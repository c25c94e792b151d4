"""Campaign-wide writes: the audit trail and team roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from campaign.models import AuditEvent, TeamMember
from campaign.roles import Role, can, forget_scope

User = get_user_model()


def audit_record(
    *,
    actor,
    action: AuditEvent.Action | str,
    target: models.Model | None = None,
    counts: Mapping[str, int] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. Never updates or removes anything."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        counts=dict(counts or {}),
        detail=dict(detail or {}),
    )


def _describe(member: TeamMember | None) -> dict[str, Any]:
    if member is None:
        return {"role": None, "districts": [], "all_districts": False}
    return {
        "role": member.role,
        "districts": sorted(member.districts.values_list("name", flat=True)),
        "all_districts": member.all_districts,
    }


def team_member_validate(*, role: str | None, districts, all_districts: bool) -> None:
    """The rules a role assignment must satisfy; shared by the admin form and the service."""
    if role == Role.LEAD and not list(districts):
        raise ValidationError({"districts": "A district lead needs at least one district."})
    if all_districts and role != Role.VOLUNTEER:
        raise ValidationError({"all_districts": "Only volunteers can be granted every district."})


LAST_ORGANISER = (
    "{name} is the campaign's last organiser: make someone else an organiser first, so "
    "the campaign is never left without one."
)


def organisers_other_than(user) -> int:
    """Active organisers (and superusers, who act as organisers) besides ``user``."""
    members = (
        TeamMember.objects.filter(role=Role.ORGANISER, user__is_active=True)
        .exclude(user=user)
        .values("user_id")
    )
    supers = User.objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
    return len(
        set(members.values_list("user_id", flat=True)) | set(supers.values_list("pk", flat=True))
    )


def last_organiser_check(*, user, role_after: str | None, active_after: bool = True) -> None:
    """Refuse a change that would leave the campaign with no organiser at all."""
    member = TeamMember.objects.filter(user=user).first()
    is_organiser = user.is_active and (
        user.is_superuser or (member is not None and member.role == Role.ORGANISER)
    )
    stays = active_after and (role_after == Role.ORGANISER or user.is_superuser)
    if is_organiser and not stays and organisers_other_than(user) == 0:
        raise ValidationError(LAST_ORGANISER.format(name=user.get_username()))


@transaction.atomic
def team_member_set(
    *,
    actor,
    user,
    role: Role | str,
    districts: Iterable[models.Model] = (),
    all_districts: bool = False,
) -> TeamMember:
    """Give ``user`` a role (and districts), recording the change in the audit trail."""
    if not can(actor, "change", "campaign.teammember"):
        raise PermissionDenied("Only organisers can change roles.")
    role = Role(role)
    districts = list(districts)
    team_member_validate(role=role, districts=districts, all_districts=all_districts)
    last_organiser_check(user=user, role_after=role, active_after=user.is_active)
    member = TeamMember.objects.filter(user=user).first()
    before = _describe(member)
    if member is None:
        member = TeamMember(user=user)
    member.role = role
    member.all_districts = all_districts
    member.save()
    member.districts.set(districts if role != Role.ORGANISER else [])
    if not user.is_staff:
        # Everyone in the team works through the admin until the web app lands.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    forget_scope(user)
    after = _describe(member)
    if before != after:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ROLE_CHANGE,
            target=user,
            detail={"before": before, "after": after},
        )
    return member


@transaction.atomic
def team_member_remove(*, actor, user) -> None:
    """Take ``user`` out of the team: no role, no admin access."""
    if not can(actor, "change", "campaign.teammember"):
        raise PermissionDenied("Only organisers can change roles.")
    member = TeamMember.objects.filter(user=user).first()
    if member is None:
        return
    last_organiser_check(user=user, role_after=None)
    before = _describe(member)
    member.delete()
    if user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    forget_scope(user)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.ROLE_CHANGE,
        target=user,
        detail={"before": before, "after": _describe(None)},
    )


@transaction.atomic
def team_member_deactivate(*, actor, user) -> None:
    """Stop ``user`` signing in (their role and history are kept, for the record and
    to reactivate them). The account signals audit the change; the last organiser
    cannot be deactivated."""
    if not can(actor, "change", "campaign.teammember"):
        raise PermissionDenied("Only organisers can change the team.")
    if user.pk == getattr(actor, "pk", None):
        raise ValidationError("You cannot deactivate your own account.")
    last_organiser_check(user=user, role_after=None, active_after=False)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        # Signed-in sessions end too: Django's backend refuses inactive users on
        # every request.
        forget_scope(user)


@transaction.atomic
def team_member_reactivate(*, actor, user) -> None:
    if not can(actor, "change", "campaign.teammember"):
        raise PermissionDenied("Only organisers can change the team.")
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        forget_scope(user)
