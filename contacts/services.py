"""Writes to supporter data. Views, admin, commands and tasks call these."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.services import audit_record
from contacts.models import ConsentRecord, Contact, District, School, name_key
from contacts.normalise import normalise_email, normalise_uk_mobile


def contact_prepare(*, contact: Contact) -> Contact:
    """Normalise a contact's email and mobile and derive its district from its school."""
    contact.email = normalise_email(contact.email)
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


def consent_give(
    *,
    contact: Contact,
    given_at: datetime,
    source: str,
    wording: str,
    method: ConsentRecord.Method | str,
    version: str = "",
) -> ConsentRecord:
    return ConsentRecord.objects.create(
        contact=contact,
        channel=ConsentRecord.Channel.EMAIL,
        given_at=given_at,
        source=source,
        wording=wording,
        version=version,
        method=method,
    )


@transaction.atomic
def consent_withdraw(
    *,
    contacts,
    how: ConsentRecord.WithdrawnHow | str,
    actor=None,
    at: datetime | None = None,
) -> int:
    """Withdraw every current email consent of ``contacts`` at once. Returns how many."""
    at = at or timezone.now()
    contact_ids = (
        [c.pk for c in contacts] if not hasattr(contacts, "values") else contacts.values("pk")
    )
    withdrawn = ConsentRecord.objects.filter(
        contact_id__in=contact_ids,
        channel=ConsentRecord.Channel.EMAIL,
        withdrawn_at__isnull=True,
    ).update(withdrawn_at=at, withdrawn_how=how)
    if withdrawn:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CONSENT_WITHDRAW,
            counts={"consent_records": withdrawn},
            detail={"how": str(how)},
        )
    return withdrawn
