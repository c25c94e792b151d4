"""Reads of supporter data, always through ``visible_to``."""

from __future__ import annotations

import re

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

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


# --- The supporter pages (search with filters, one supporter's history) --------------

NOT_YET_VOTED = ("pledged", "ballot_received", "unknown")
# A mobile as people type it: "+44 7700 900123", "07700900123", "7700 900 123". A bare
# six-digit number is a school's URN, not a phone.
_PHONE_LIKE = re.compile(r"^(?:[+0][\d\s().-]{5,}|[\d\s().-]{9,})$")


def supporter_search(
    *,
    user,
    q: str = "",
    district=None,
    school: str = "",
    role: str = "",
    gotv: str = "",
    consent: str = "",
    tag=None,
) -> QuerySet[Contact]:
    """Supporters the user may see now matching the search and every filter given.

    ``q`` matches names and email addresses (through ``contact_list``), or a mobile
    number when it looks like one; ``school`` a school's name or URN; ``gotv`` a status
    or "not_voted"; ``consent`` "yes"/"no" for a current email consent."""
    query = q.strip()
    if query and _PHONE_LIKE.match(query):
        digits = re.sub(r"\D", "", query)
        # Stored as E.164 (+447700900123): match the national part whatever was typed.
        national = digits[2:] if digits.startswith("44") else digits.lstrip("0")
        contacts = contact_list(user=user, district_id=getattr(district, "pk", None)).filter(
            mobile__contains=national
        )
    else:
        contacts = contact_list(user=user, query=query, district_id=getattr(district, "pk", None))
    if school:
        school = school.strip()
        contacts = contacts.filter(Q(school__name__icontains=school) | Q(school__urn=school))
    if role:
        contacts = contacts.filter(role=role)
    if gotv == "not_voted":
        contacts = contacts.filter(gotv_status__in=NOT_YET_VOTED)
    elif gotv:
        contacts = contacts.filter(gotv_status=gotv)
    if consent:
        consented = _current_consent()
        contacts = contacts.filter(consented) if consent == "yes" else contacts.exclude(consented)
    if tag is not None:
        contacts = contacts.filter(tags=tag)
    return contacts


def _current_consent():
    from contacts.models import ConsentRecord

    return Exists(
        ConsentRecord.objects.filter(
            contact=OuterRef("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=timezone.now(),
        )
    )


def supporter_search_counts(*, contacts: QuerySet[Contact]) -> dict[str, int]:
    """How many matched, and how many of them cannot be emailed and why, in one query:
    ``no_consent`` (not emailed, not printed on canvass sheets) and ``suppressed``
    (consent on record, but unsubscribed, bounced or complained: not emailed)."""
    from contacts.models import Suppression

    consented = _current_consent()
    suppressed = Exists(Suppression.objects.filter(address_hash=OuterRef("email_hash")))
    counts = contacts.order_by().aggregate(
        total=Count("pk"),
        consented=Count("pk", filter=Q(consented)),
        mailable=Count("pk", filter=Q(consented) & ~Q(suppressed)),
    )
    return {
        "total": counts["total"],
        "no_consent": counts["total"] - counts["consented"],
        "suppressed": counts["consented"] - counts["mailable"],
        "mailable": counts["mailable"],
    }


def contact_gotv_history(*, contact: Contact):
    return contact.gotv_events.select_related("actor").order_by("-created_at", "-pk")


def contact_drives(*, contact: Contact) -> list:
    """The drives this supporter was in, newest first, each with its send status and the
    latest delivery event. The supporter is already in the viewer's scope; drive names
    and outcomes are campaign records, not other supporters' data."""
    from mailings.models import DeliveryEvent, Recipient

    latest = DeliveryEvent.objects.filter(recipient=OuterRef("pk")).order_by("-occurred_at", "-pk")
    return list(
        Recipient.objects.filter(contact=contact)
        .select_related("mailing")
        .annotate(
            last_event=Subquery(latest.values("event_type")[:1]),
            last_event_at=Subquery(latest.values("occurred_at")[:1]),
        )
        .order_by("-created_at", "-pk")
    )
