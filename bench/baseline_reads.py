"""The union-wide reads as they were before the supporter tally and the search indexes,
kept callable for ``bench/reads.py`` only, so each run measures its own baseline.

Copied from contacts/selectors.py and mailings/selectors.py at commit 618a65b, and the
web app's supporter list and dashboard reads as first built (e0c5e57): one
COUNT per dashboard figure over the whole table, ``icontains`` search across five
columns through a join, Django's counting Paginator, and the audience breakdown as one
pass with a correlated suppression lookup and a COUNT(DISTINCT) of address hashes.
"""

from __future__ import annotations

import re

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


# --- The web app's pages as app-shell built them (commit e0c5e57), before the tally ---

NOT_YET_VOTED = ("pledged", "ballot_received", "unknown")
_PHONE_LIKE = re.compile(r"^(?:[+0][\d\s().-]{5,}|[\d\s().-]{9,})$")


def supporter_search(
    *, user, q="", district=None, school="", role="", gotv="", consent="", tag=None
) -> QuerySet[Contact]:
    query = q.strip()
    district_id = getattr(district, "pk", None)
    if query and _PHONE_LIKE.match(query):
        digits = re.sub(r"\D", "", query)
        national = digits[2:] if digits.startswith("44") else digits.lstrip("0")
        contacts = contact_list(user=user, district_id=district_id).filter(
            mobile__contains=national
        )
    else:
        contacts = contact_list(user=user, query=query, district_id=district_id)
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
    return Exists(
        ConsentRecord.objects.filter(
            contact=OuterRef("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=timezone.now(),
        )
    )


def supporter_search_figures(*, user, **filters) -> dict[str, int]:
    contacts = supporter_search(user=user, **filters)
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


def supporter_page(*, contacts, count: int, searched: bool, page=1, per_page: int = 50):
    paginator = Paginator(contacts, per_page)
    paginator.__dict__["count"] = count
    return paginator.get_page(page)


def district_turnout(*, user):
    from campaign.roles import scope_for
    from campaign.selectors import DistrictTurnout

    scope = scope_for(user)
    if scope.role is None:
        return []
    rows = (
        Contact.objects.filter(district__isnull=False)
        .order_by()
        .values("district_id")
        .annotate(supporters=Count("pk"), voted=Count("pk", filter=Q(gotv_status="voted")))
    )
    names = dict(District.objects.values_list("pk", "name"))
    own = scope.district_ids
    lines = [
        DistrictTurnout(
            district_id=row["district_id"],
            name=names.get(row["district_id"], ""),
            supporters=row["supporters"],
            voted=row["voted"],
            mine=own is not None and row["district_id"] in own,
        )
        for row in rows
    ]
    lines.sort(key=lambda line: (-line.percent, line.name))
    return lines
