"""Writes to contacts, schools and districts."""

from __future__ import annotations

from contacts.models import Contact, District, School, name_key
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
