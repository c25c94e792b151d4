"""Who may see and do what: the single source of truth for roles and scope.

Every queryset's ``visible_to(user)`` and every admin permission check ends up here,
so a change to the rules is made once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Role(models.TextChoices):
    ORGANISER = "organiser", "Organiser"
    VOLUNTEER = "volunteer", "Volunteer"
    LEAD = "lead", "District lead"


@dataclass(frozen=True)
class Scope:
    """What part of the membership a user may see.

    ``district_ids`` is ``None`` for "every district".
    """

    role: Role | None
    district_ids: frozenset[int] | None

    @property
    def sees_everything(self) -> bool:
        return self.role is not None and self.district_ids is None

    @property
    def sees_nothing(self) -> bool:
        return self.role is None or (self.district_ids is not None and not self.district_ids)


NO_SCOPE = Scope(role=None, district_ids=frozenset())
_CACHE_ATTR = "_turnout_scope"


def scope_for(user) -> Scope:
    """Return (and cache on the user object for this request) the user's scope."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = _compute_scope(user)
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user) -> None:
    """Drop a cached scope after the user's role or districts change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _compute_scope(user) -> Scope:
    from campaign.models import TeamMember

    if user.is_superuser:
        return Scope(role=Role.ORGANISER, district_ids=None)
    member = TeamMember.objects.filter(user=user).first()
    if member is None:
        return NO_SCOPE
    role = Role(member.role)
    if role == Role.ORGANISER or (role == Role.VOLUNTEER and member.all_districts):
        return Scope(role=role, district_ids=None)
    ids = frozenset(member.districts.values_list("pk", flat=True))
    return Scope(role=role, district_ids=ids)


# What each role may do, per model ("app_label.model_name"). Organisers may do
# everything except where APPEND_ONLY or NEVER_DELETED say otherwise. Rows outside a
# user's scope are filtered by visible_to() before these rules apply.
_ALL = frozenset({"view", "add", "change", "delete"})
ROLE_PERMISSIONS: dict[Role, dict[str, frozenset[str]]] = {
    Role.VOLUNTEER: {
        "contacts.contact": frozenset({"view"}),
        "contacts.school": frozenset({"view"}),
        "contacts.district": frozenset({"view"}),
        "contacts.consentrecord": frozenset({"view"}),
        "mailings.mailing": frozenset({"view", "add", "change"}),
        "campaign.campaign": frozenset({"view"}),
    },
    Role.LEAD: {
        "contacts.contact": frozenset({"view", "change"}),
        "contacts.school": frozenset({"view"}),
        "contacts.district": frozenset({"view"}),
        "contacts.consentrecord": frozenset({"view"}),
        "campaign.campaign": frozenset({"view"}),
    },
}
# Evidence that must never be edited or removed through the app.
APPEND_ONLY = frozenset({"campaign.auditevent"})
NEVER_DELETED = frozenset(
    {"contacts.consentrecord", "contacts.importbatch", "contacts.suppression", "contacts.gotvevent"}
)


def can(user, action: str, model_label: str) -> bool:
    """May ``user`` perform ``action`` (view/add/change/delete) on ``model_label`` rows?"""
    scope = scope_for(user)
    if scope.role is None:
        return False
    model_label = model_label.lower()
    if model_label in APPEND_ONLY:
        return action == "view" and scope.role == Role.ORGANISER
    if action == "delete" and model_label in NEVER_DELETED:
        return False
    if scope.role == Role.ORGANISER:
        return True
    return action in ROLE_PERMISSIONS[scope.role].get(model_label, frozenset())
