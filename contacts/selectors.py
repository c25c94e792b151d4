"""Reads of supporter data, always through ``visible_to``."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from contacts.models import Contact, District, School


def contact_counts(*, user) -> dict[str, int]:
    contacts = Contact.objects.visible_to(user)
    return {
        "contacts": contacts.count(),
        "mailable": contacts.mailable().count(),
        "voted": contacts.filter(gotv_status=Contact.Gotv.VOTED).count(),
        "schools": School.objects.visible_to(user).count(),
        "districts": District.objects.visible_to(user).count(),
    }


def contact_list(*, user, query: str = "", district_id: int | None = None) -> QuerySet[Contact]:
    contacts = Contact.objects.visible_to(user).select_related("school", "district")
    if district_id:
        contacts = contacts.filter(district_id=district_id)
    for word in query.split():
        contacts = contacts.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(school__name__icontains=word)
            | Q(school__urn=word)
        )
    return contacts


def contact_get(*, user, pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.visible_to(user).select_related("school", "district"), pk=pk
    )


def school_get(*, user, pk: int) -> School:
    return get_object_or_404(School.objects.visible_to(user).select_related("district"), pk=pk)
