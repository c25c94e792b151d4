"""Writing a drive: its text (checked by the merge engine) and its audience."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from campaign.roles import can
from campaign.selectors import campaign_active
from contacts.models import Contact, District, School, Tag
from mailings.merge import Template, compile_mailing
from mailings.models import Mailing


def mailing_validate(*, subject: str, body: str) -> Template:
    """Compile a drive's text; raises ValidationError naming every problem."""
    campaign = campaign_active()
    return compile_mailing(
        subject=subject, body=body, sender_name=campaign.sender_name if campaign else "us"
    )


def _check_audience(*, actor, districts, schools, roles, gotv_statuses) -> None:
    errors: dict[str, list[str]] = {}
    hidden = [
        d for d in districts if not District.objects.visible_to(actor).filter(pk=d.pk).exists()
    ]
    if hidden:
        errors["districts"] = [
            f"You cannot send to {', '.join(d.name for d in hidden)}: not one of your districts."
        ]
    hidden = [s for s in schools if not School.objects.visible_to(actor).filter(pk=s.pk).exists()]
    if hidden:
        errors["schools"] = [
            f"You cannot send to {', '.join(str(s) for s in hidden)}: not in your districts."
        ]
    bad = sorted(set(roles) - set(Contact.Role.values))
    if bad:
        errors["roles"] = [
            f"Unknown role {', '.join(bad)}; choose from {', '.join(Contact.Role.values)}."
        ]
    bad = sorted(set(gotv_statuses) - set(Contact.Gotv.values))
    if bad:
        errors["gotv_statuses"] = [
            f"Unknown GOTV status {', '.join(bad)}; choose from {', '.join(Contact.Gotv.values)}."
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def mailing_create(
    *,
    actor,
    name: str,
    subject: str,
    body: str,
    districts: Iterable[District] = (),
    schools: Iterable[School] = (),
    tags: Iterable[Tag] = (),
    roles: Iterable[str] = (),
    gotv_statuses: Iterable[str] = (),
    scheduled_for: datetime | None = None,
) -> Mailing:
    if not can(actor, "add", "mailings.mailing"):
        raise PermissionDenied("Your role cannot write email drives.")
    districts, schools, tags = list(districts), list(schools), list(tags)
    roles, gotv_statuses = list(roles), list(gotv_statuses)
    if not name.strip():
        raise ValidationError({"name": "Give the drive a name."})
    mailing_validate(subject=subject, body=body)
    _check_audience(
        actor=actor, districts=districts, schools=schools, roles=roles, gotv_statuses=gotv_statuses
    )
    mailing = Mailing.objects.create(
        name=name.strip(),
        subject=subject.strip(),
        body=body,
        created_by=actor,
        roles=roles,
        gotv_statuses=gotv_statuses,
        scheduled_for=scheduled_for,
    )
    mailing.districts.set(districts)
    mailing.schools.set(schools)
    mailing.tags.set(tags)
    return mailing


@transaction.atomic
def mailing_update(*, actor, mailing: Mailing, **fields) -> Mailing:
    """Change a drive that has not started. Audience fields may be given as lists."""
    if not can(actor, "change", "mailings.mailing") or not (
        Mailing.objects.visible_to(actor).filter(pk=mailing.pk).exists()
    ):
        raise PermissionDenied("You cannot change this drive.")
    locked = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if not locked.is_editable:
        raise ValidationError(
            f"The drive is {locked.get_status_display().lower()}; it cannot change."
        )
    relations = {k: list(fields.pop(k)) for k in ("districts", "schools", "tags") if k in fields}
    for key, value in fields.items():
        setattr(locked, key, value)
    mailing_validate(subject=locked.subject, body=locked.body)
    _check_audience(
        actor=actor,
        districts=relations.get("districts", []),
        schools=relations.get("schools", []),
        roles=locked.roles,
        gotv_statuses=locked.gotv_statuses,
    )
    if locked.status == Mailing.Status.AWAITING_APPROVAL:
        # Approval was asked for what the drive said before; changes need a fresh look.
        locked.status = Mailing.Status.DRAFT
    locked.save()
    for key, value in relations.items():
        getattr(locked, key).set(value)
    return locked
