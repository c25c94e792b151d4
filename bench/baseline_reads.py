"""The union-wide reads as they were before the supporter tally and the search indexes,
kept callable for ``bench/reads.py`` only, so each run measures its own baseline.

Copied from contacts/selectors.py and mailings/selectors.py at commit 618a65b: one
COUNT per dashboard figure over the whole table, ``icontains`` search across five
columns through a join, Django's counting Paginator, and the audience breakdown as one
pass with a correlated suppression lookup and a COUNT(DISTINCT) of address hashes.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts.models import ConsentRecord, Contact, District, School, Suppression


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


def contact_page(*, user, query: str = "", district_id: int | None = None, page=1, per_page=50):
    contacts = contact_list(user=user, query=query, district_id=district_id)
    return Paginator(contacts, per_page).get_page(page)


def audience_contacts_for(*, user, filters) -> QuerySet[Contact]:
    contacts = Contact.objects.visible_to(user).order_by()
    if filters.district_ids:
        contacts = contacts.filter(district_id__in=filters.district_ids)
    if filters.school_ids:
        contacts = contacts.filter(school_id__in=filters.school_ids)
    if filters.tag_ids:
        tagged = Contact.tags.through.objects.filter(
            contact_id=OuterRef("pk"), tag_id__in=filters.tag_ids
        )
        contacts = contacts.filter(Exists(tagged))
    if filters.roles:
        contacts = contacts.filter(role__in=filters.roles)
    if filters.gotv_statuses:
        contacts = contacts.filter(gotv_status__in=filters.gotv_statuses)
    return contacts


def audience_breakdown_queryset(*, user, filters):
    now = timezone.now()
    reason = Subquery(
        Suppression.objects.filter(address_hash=OuterRef("email_hash")).values("reason")[:1]
    )
    consent = Exists(
        ConsentRecord.objects.filter(
            contact=OuterRef("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=now,
        )
    )
    return audience_contacts_for(user=user, filters=filters).annotate(
        suppressed_as=reason, consented=consent
    )


def audience_breakdown_for(*, user, filters) -> dict[str, int]:
    unsubscribed = Q(suppressed_as=Suppression.Reason.UNSUBSCRIBED)
    eligible = Q(suppressed_as__isnull=True, consented=True)
    counts = audience_breakdown_queryset(user=user, filters=filters).aggregate(
        matched=Count("pk"),
        unsubscribed=Count("pk", filter=unsubscribed),
        suppressed=Count("pk", filter=Q(suppressed_as__isnull=False) & ~unsubscribed),
        no_consent=Count("pk", filter=Q(suppressed_as__isnull=True, consented=False)),
        eligible=Count("pk", filter=eligible),
        hashed=Count("email_hash", filter=eligible & ~Q(email_hash=""), distinct=True),
        unhashed=Count("pk", filter=eligible & Q(email_hash="")),
    )
    counts["addresses"] = counts["hashed"] + counts["unhashed"]
    return {
        "matched": counts["matched"],
        "mailable": counts["addresses"],
        "no_consent": counts["no_consent"],
        "unsubscribed": counts["unsubscribed"],
        "suppressed": counts["suppressed"],
        "duplicate": counts["eligible"] - counts["addresses"],
    }
