"""Campaign-wide reads."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from campaign.models import Campaign, ChaseResult, ChaseState
from campaign.roles import Role
from contacts.models import Contact, District, School


def campaign_active() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).first()


def organiser_emails() -> list[str]:
    """Where campaign-wide warnings go: every active organiser with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(is_superuser=True) | Q(team_member__role=Role.ORGANISER))
    return sorted(set(users.values_list("email", flat=True)))


# --- the district lead's GOTV workspace ------------------------------------------------
# Counted over the supporters a lead can canvass (visible_to + a current email consent),
# the same people the sheets print.

CHASE_ORDER = ("pledged", "ballot_received", "unknown")
MY_SCHOOLS_LIMIT = 500


@dataclass(frozen=True)
class SchoolProgress:
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


def my_schools(*, user, district_id: int | None = None) -> list[SchoolProgress]:
    """Per school (and per district, its "no school recorded" line): supporters, voted,
    pledged, not reached; the schools with most supporters still to vote first."""
    from campaign.canvass.selectors import canvass_contacts

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


def _line_name(line: SchoolProgress) -> str:
    return line.school.name if line.school else f"~{line.district.name}"


def _progress(district, school, row) -> SchoolProgress:
    return SchoolProgress(
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
    from campaign.canvass.selectors import canvass_contacts

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


def chase_flags_for_organisers(*, user=None, limit: int = 20) -> list[ChaseState]:
    """Supporters a district lead asked an organiser to help with, newest first.
    With ``user``, only those the user may see."""
    flags = ChaseState.objects.filter(needs_organiser=True)
    if user is not None:
        flags = flags.filter(contact__in=Contact.objects.visible_to(user).values("pk"))
    return list(
        flags.select_related(
            "contact", "contact__school", "contact__district", "updated_by"
        ).order_by("-flagged_at", "-pk")[:limit]
    )


def not_yet_voted_count(*, user) -> int:
    """Supporters of the user's schools still to chase (the chase list's length)."""
    return chase_list(user=user).order_by().count()
