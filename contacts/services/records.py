"""Writes to contacts, schools and districts."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import transaction

from contacts.models import Contact, District, GotvEvent, School, name_key
from contacts.normalise import normalise_email, normalise_uk_mobile
from contacts.suppression import address_hash


def contact_prepare(*, contact: Contact) -> Contact:
    """Normalise a contact's email and mobile and derive its district from its school."""
    contact.email = normalise_email(contact.email)
    contact.email_hash = address_hash(contact.email)
    contact.mobile = normalise_uk_mobile(contact.mobile)
    if contact.district_id is None and contact.school_id is not None:
        contact.district_id = (
            contact.school.district_id
            if contact.school is not None
            else School.objects.values_list("district_id", flat=True).get(pk=contact.school_id)
        )
    return contact


def contact_save(*, contact: Contact) -> Contact:
    contact_prepare(contact=contact)
    contact.full_clean(exclude=["tags"])
    contact.save()
    return contact


def school_prepare(*, school: School) -> School:
    school.name = school.name.strip()
    school.name_key = name_key(school.name)
    school.urn = (school.urn or "").strip() or None
    return school


def school_save(*, school: School) -> School:
    school_prepare(school=school)
    school.full_clean()
    school.save()
    return school


def district_get_or_create(*, name: str, region: str = "") -> tuple[District, bool]:
    name = " ".join(name.split())
    existing = District.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing, False
    return District.objects.create(name=name, region=region), True


# Fields a district lead may change on a supporter's page in the app, and whether the
# audit trail keeps their old and new values (personal data such as a phone number or
# notes is named as changed, not copied into the trail).
EDITABLE_FIELDS = {"mobile": False, "role": True, "notes": False, "gotv_status": True}


@transaction.atomic
def contact_details_update(*, actor, contact: Contact, changes: Mapping[str, str]) -> list[str]:
    """Change a supporter's phone, role, notes and GOTV status, audited as one event.

    The GOTV status goes through ``gotv_set`` (its history and the ballot window's
    rules). Raises ``PermissionDenied`` when ``actor`` may not change this supporter
    now, ``ValidationError`` for bad values. Returns the names of the changed fields.
    """
    from campaign.models import AuditEvent
    from campaign.roles import can
    from campaign.services import audit_record
    from contacts.services.gotv import gotv_set

    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    if not can(actor, "change", "contacts.contact") or not (
        Contact.objects.visible_to(actor).filter(pk=contact.pk).exists()
    ):
        raise PermissionDenied("You cannot change this supporter.")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    changed: dict[str, dict] = {}
    for field in ("mobile", "role", "notes"):
        if field not in changes:
            continue
        value = changes[field]
        if field == "mobile":
            value = normalise_uk_mobile(value)
        if getattr(locked, field) != value:
            changed[field] = {"before": getattr(locked, field), "after": value}
            setattr(locked, field, value)
    if changed:
        locked.full_clean(exclude=["tags", "email"])
        locked.save(update_fields=[*changed, "updated_at"])
    status = changes.get("gotv_status")
    if status is not None and status != locked.gotv_status:
        before = locked.gotv_status
        gotv_set(contact=locked, status=status, method=GotvEvent.Method.WEB, actor=actor)
        changed["gotv_status"] = {"before": before, "after": status}
    if changed:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CONTACT_CHANGE,
            target=locked,
            detail={
                "fields": sorted(changed),
                "values": {
                    name: values for name, values in changed.items() if EDITABLE_FIELDS[name]
                },
                "via": "app",
            },
        )
        for name in changed:
            setattr(contact, name, getattr(locked, name))
    return sorted(changed)
