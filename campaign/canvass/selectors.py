"""Reads for canvass sheets and tick-off: always through ``visible_to`` and, for sheets,
only supporters with a current email consent (the only people we hold lawfully)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from campaign.models import CanvassPack
from campaign.roles import can
from contacts.models import Contact, District, School


def canvass_allowed(user) -> bool:
    """Printing sheets and recording results is canvassing: for those who may change
    supporter records (organisers, district leads), never read-only volunteers."""
    return can(user, "change", "contacts.contact")


def canvass_contacts(*, user) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).with_current_email_consent()


def canvass_school_get(*, user, pk: int | None = None, urn: str | None = None) -> School:
    schools = School.objects.visible_to(user).select_related("district")
    if pk is not None:
        return get_object_or_404(schools, pk=pk)
    if urn:
        return get_object_or_404(schools, urn=urn.strip())
    raise Http404("No school given.")


def canvass_district_get(*, user, pk: int | None = None, name: str | None = None) -> District:
    districts = District.objects.visible_to(user)
    if pk is not None:
        return get_object_or_404(districts, pk=pk)
    if name:
        return get_object_or_404(districts, name__iexact=" ".join(name.split()))
    raise Http404("No district given.")


@dataclass(frozen=True)
class SheetRow:
    pk: int
    first_name: str
    last_name: str
    role: str
    mobile: str
    email: str
    gotv_status: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def sort_name(self) -> str:
        from campaign.canvass.layout import sort_name

        return sort_name(self.first_name, self.last_name)


ROW_FIELDS = ("pk", "first_name", "last_name", "role", "mobile", "email", "gotv_status")


def sheet_rows(*, user, school_ids: list[int]) -> dict[int, list[SheetRow]]:
    """Supporters per school, in sheet order (surname, first name), in one query."""
    rows: dict[int, list[SheetRow]] = defaultdict(list)
    queryset = (
        canvass_contacts(user=user)
        .filter(school_id__in=school_ids)
        .order_by("school_id", "last_name", "first_name", "pk")
        .values_list("school_id", *ROW_FIELDS)
    )
    for school_id, *values in queryset.iterator(chunk_size=5000):
        rows[school_id].append(SheetRow(*values))
    return rows


def sheet_rows_without_school(*, user, district: District) -> list[SheetRow]:
    """Supporters of ``district`` with no school recorded, for their own sheet."""
    queryset = (
        canvass_contacts(user=user)
        .filter(district=district, school__isnull=True)
        .order_by("last_name", "first_name", "pk")
        .values_list(*ROW_FIELDS)
    )
    return [SheetRow(*values) for values in queryset.iterator(chunk_size=5000)]


def district_schools(*, user, district: District) -> list[School]:
    return list(
        School.objects.visible_to(user).filter(district=district).select_related("district")
    )


@dataclass(frozen=True)
class SchoolCount:
    school_id: int
    supporters: int
    voted: int
    # Supporters of the school who are not printed: no current email consent.
    left_off: int = 0


def school_counts(*, user, school_ids: list[int]) -> dict[int, SchoolCount]:
    counted = (
        canvass_contacts(user=user)
        .filter(school_id__in=school_ids)
        .order_by()
        .values("school_id")
        .annotate(
            supporters=Count("pk"), voted=Count("pk", filter=Q(gotv_status=Contact.Gotv.VOTED))
        )
    )
    everyone = dict(
        Contact.objects.visible_to(user)
        .filter(school_id__in=school_ids)
        .order_by()
        .values("school_id")
        .annotate(total=Count("pk"))
        .values_list("school_id", "total")
    )
    counts = {
        row["school_id"]: SchoolCount(
            row["school_id"],
            row["supporters"],
            row["voted"],
            everyone.get(row["school_id"], 0) - row["supporters"],
        )
        for row in counted
    }
    for school_id, total in everyone.items():
        counts.setdefault(school_id, SchoolCount(school_id, 0, 0, total))
    return counts


@dataclass(frozen=True)
class LeftOff:
    """Why a district's supporters are missing from its school sheets."""

    no_consent: int  # not printed anywhere: no current email consent
    no_school: int  # printed on the district's "No school recorded" sheet instead


def district_left_off(*, user, district: District) -> LeftOff:
    everyone = Contact.objects.visible_to(user).filter(district=district)
    printable = canvass_contacts(user=user).filter(district=district)
    return LeftOff(
        no_consent=everyone.count() - printable.count(),
        no_school=printable.filter(school__isnull=True).count(),
    )


def canvass_pack_get(*, user, pk: int) -> CanvassPack:
    return get_object_or_404(
        CanvassPack.objects.visible_to(user).select_related("district", "requested_by"), pk=pk
    )


def canvass_packs_recent(*, user, district: District | None = None) -> QuerySet[CanvassPack]:
    packs = CanvassPack.objects.visible_to(user).select_related("district", "requested_by")
    if district is not None:
        packs = packs.filter(district=district)
    return packs[:10]
