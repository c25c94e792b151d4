"""Reads for canvass sheets and tick-off: always through ``visible_to`` and, for sheets,
only supporters with a current email consent (the only people we hold lawfully)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from campaign.models import CanvassPack, ChaseResult
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


# --- the district lead's GOTV workspace ------------------------------------------------
# Counted over the supporters a lead can canvass (visible_to + a current email consent),
# the same people the sheets print.

CHASE_ORDER = ("pledged", "ballot_received", "unknown")
MY_SCHOOLS_LIMIT = 500


@dataclass(frozen=True)
class SchoolLine:
    """One line of My schools. ``school`` is None for a district's supporters with no
    school recorded."""

    district: District
    school: School | None
    supporters: int
    voted: int
    pledged: int
    not_reached: int
    wont_vote: int

    @property
    def not_voted(self) -> int:
        return self.supporters - self.voted - self.wont_vote

    @property
    def percent_voted(self) -> int:
        return round(100 * self.voted / self.supporters) if self.supporters else 0


def my_schools(*, user, district_id: int | None = None) -> list[SchoolLine]:
    """Per school (and per district, its "no school recorded" line): supporters, voted,
    pledged, not reached; the schools with most supporters still to vote first."""
    contacts = canvass_contacts(user=user)
    schools = School.objects.visible_to(user).select_related("district")
    if district_id is not None:
        contacts = contacts.filter(district_id=district_id)
        schools = schools.filter(district_id=district_id)
    gotv = Contact.Gotv
    counted = (
        contacts.order_by()
        .values("district_id", "school_id")
        .annotate(
            supporters=Count("pk"),
            voted=Count("pk", filter=Q(gotv_status=gotv.VOTED)),
            pledged=Count("pk", filter=Q(gotv_status=gotv.PLEDGED)),
            wont_vote=Count("pk", filter=Q(gotv_status=gotv.WONT_VOTE)),
            not_reached=Count(
                "pk",
                filter=Q(chase__last_result=ChaseResult.NOT_REACHED)
                & ~Q(gotv_status__in=[gotv.VOTED, gotv.WONT_VOTE]),
            ),
        )
    )
    by_key = {(row["district_id"], row["school_id"]): row for row in counted}
    lines = []
    for school in schools.order_by("name", "pk")[:MY_SCHOOLS_LIMIT]:
        row = by_key.pop((school.district_id, school.pk), None) or {}
        lines.append(_progress(school.district, school, row))
    districts = {d.pk: d for d in District.objects.filter(pk__in={k[0] for k in by_key if k[0]})}
    for (district_pk, school_pk), row in by_key.items():
        if school_pk is None and district_pk in districts:
            lines.append(_progress(districts[district_pk], None, row))
    lines.sort(key=lambda line: (-line.not_voted, -line.supporters, _line_name(line)))
    return lines


def _line_name(line: SchoolLine) -> str:
    return line.school.name if line.school else f"~{line.district.name}"


def _progress(district, school, row) -> SchoolLine:
    return SchoolLine(
        district=district,
        school=school,
        supporters=row.get("supporters", 0),
        voted=row.get("voted", 0),
        pledged=row.get("pledged", 0),
        not_reached=row.get("not_reached", 0),
        wont_vote=row.get("wont_vote", 0),
    )


def chase_list(
    *,
    user,
    district_id: int | None = None,
    school_id: int | None = None,
    no_school: bool = False,
) -> QuerySet[Contact]:
    """Every supporter of the user's schools still to vote: pledged first (and those
    with a ballot paper), then unknown. Voted and won't-vote supporters leave it."""
    contacts = canvass_contacts(user=user).filter(gotv_status__in=CHASE_ORDER)
    if district_id is not None:
        contacts = contacts.filter(district_id=district_id)
    if school_id is not None:
        contacts = contacts.filter(school_id=school_id)
    elif no_school:
        contacts = contacts.filter(school__isnull=True)
    priority = Case(
        *(When(gotv_status=status, then=Value(n)) for n, status in enumerate(CHASE_ORDER)),
        output_field=IntegerField(),
    )
    return (
        contacts.annotate(chase_priority=priority)
        .select_related("school", "district", "chase")
        .order_by(
            "chase_priority",
            F("school__name").asc(nulls_last=True),
            "last_name",
            "first_name",
            "pk",
        )
    )
