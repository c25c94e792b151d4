"""Campaign-wide reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from campaign.models import Campaign
from campaign.roles import Role, scope_for

if TYPE_CHECKING:
    from mailings.models import Mailing


def campaign_active() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).first()


def organiser_emails() -> list[str]:
    """Where campaign-wide warnings go: every active organiser with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(is_superuser=True) | Q(team_member__role=Role.ORGANISER))
    return sorted(set(users.values_list("email", flat=True)))


# --- Dashboards -----------------------------------------------------------------------
# One grouped query per figure group; never one COUNT per district or per school.

# Statuses that still need chasing, in the order a lead should chase them: a pledge
# is the likeliest vote, then someone holding a ballot paper, then the unknown.
NOT_YET_VOTED = ("pledged", "ballot_received", "unknown")


@dataclass(frozen=True)
class BallotCountdown:
    phase: str  # "none", "before", "open" or "closed"
    days: int
    at: datetime | None


def ballot_countdown(*, campaign: Campaign | None, now: datetime | None = None) -> BallotCountdown:
    """Whole days (in the campaign's time zone) to the ballot opening, or to its close."""
    if campaign is None:
        return BallotCountdown("none", 0, None)
    now = now or timezone.now()
    today = timezone.localdate(now)
    if now < campaign.ballot_opens:
        at, phase = campaign.ballot_opens, "before"
    elif now < campaign.ballot_closes:
        at, phase = campaign.ballot_closes, "open"
    else:
        return BallotCountdown("closed", 0, campaign.ballot_closes)
    return BallotCountdown(phase, (timezone.localdate(at) - today).days, at)


@dataclass(frozen=True)
class DistrictTurnout:
    district_id: int
    name: str
    supporters: int
    voted: int
    mine: bool

    @property
    def percent(self) -> float:
        return 100 * self.voted / self.supporters if self.supporters else 0.0


def district_turnout(*, user) -> list[DistrictTurnout]:
    """Turnout among supporters in every district that has any, highest first.

    Every role sees the union-wide picture (percentages compare districts without
    naming anyone); ``mine`` marks the districts the user covers. Views show counts
    only for the user's own districts.
    """
    from contacts.aggregates import tally_sum
    from contacts.models import District

    scope = scope_for(user)
    if scope.role is None:
        return []
    # From the maintained supporter tally (contacts/aggregates.py): a sum over a few
    # thousand rows, not a pass over every supporter of the union.
    rows = (
        tally_sum(include_no_district=False)
        .values("district_key")
        .annotate(supporters=Sum("n"), voted=Sum("n", filter=Q(gotv_status="voted")))
    )
    names = dict(District.objects.values_list("pk", "name"))
    own = scope.district_ids
    lines = [
        DistrictTurnout(
            district_id=row["district_key"],
            name=names.get(row["district_key"], ""),
            supporters=row["supporters"],
            voted=row["voted"] or 0,
            mine=own is not None and row["district_key"] in own,
        )
        for row in rows
        if row["district_key"] in names
    ]
    lines.sort(key=lambda line: (-line.percent, line.name))
    return lines


@dataclass(frozen=True)
class SchoolProgress:
    school_id: int
    name: str
    urn: str | None
    district_name: str
    supporters: int
    by_status: dict[str, int]

    @property
    def voted(self) -> int:
        return self.by_status.get("voted", 0)

    @property
    def pledged(self) -> int:
        return self.by_status.get("pledged", 0)

    @property
    def not_yet_voted(self) -> int:
        return sum(self.by_status.get(status, 0) for status in NOT_YET_VOTED)

    @property
    def percent_voted(self) -> int:
        return round(100 * self.voted / self.supporters) if self.supporters else 0


def lead_school_progress(*, user) -> list[SchoolProgress]:
    """Every school of the user's scope that has supporters, with a count per GOTV
    status, the schools with most supporters not yet voted first. One grouped query.

    ``by_status`` has every status of ``Contact.Gotv`` (zero when none), so a status
    added later is counted without changing this function."""
    from contacts.models import Contact

    rows = (
        Contact.objects.visible_to(user)
        .filter(school__isnull=False)
        .order_by()
        .values("school_id", "school__name", "school__urn", "school__district__name", "gotv_status")
        .annotate(n=Count("pk"))
    )
    schools: dict[int, dict] = {}
    for row in rows:
        school = schools.setdefault(
            row["school_id"],
            {
                "name": row["school__name"],
                "urn": row["school__urn"],
                "district_name": row["school__district__name"],
                "by_status": dict.fromkeys(Contact.Gotv.values, 0),
            },
        )
        school["by_status"][row["gotv_status"]] = row["n"]
    progress = [
        SchoolProgress(
            school_id=pk,
            name=data["name"],
            urn=data["urn"],
            district_name=data["district_name"],
            supporters=sum(data["by_status"].values()),
            by_status=data["by_status"],
        )
        for pk, data in schools.items()
    ]
    progress.sort(key=lambda s: (-s.not_yet_voted, s.name, s.school_id))
    return progress


def chase_next(*, user, limit: int = 5):
    """The first supporters to chase: not yet voted, pledged first, then ballot
    received, then unknown; by school and name within each."""
    from contacts.models import Contact

    priority = Case(
        *(When(gotv_status=status, then=Value(i)) for i, status in enumerate(NOT_YET_VOTED)),
        output_field=IntegerField(),
    )
    return list(
        Contact.objects.visible_to(user)
        .filter(gotv_status__in=NOT_YET_VOTED)
        .select_related("school")
        .annotate(chase_priority=priority)
        .order_by("chase_priority", "school__name", "last_name", "first_name", "pk")[:limit]
    )


@dataclass
class DriveLine:
    mailing: Mailing
    progress: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.progress.values())

    @property
    def finished(self) -> int:
        """Rows that will not be sent again: sent, failed, skipped, cancelled, unknown."""
        return self.total - self.progress.get("queued", 0) - self.progress.get("sending", 0)

    @property
    def sent(self) -> int:
        return self.progress.get("sent", 0)

    @property
    def unknown(self) -> int:
        return self.progress.get("unknown", 0)


def _drive_lines(mailings) -> list[DriveLine]:
    from mailings.selectors import recipient_counts

    mailings = list(mailings)
    progress = recipient_counts(mailing_ids=[m.pk for m in mailings])
    return [DriveLine(mailing=m, progress=progress[m.pk]) for m in mailings]


def drives_awaiting_approval(*, user) -> list[Mailing]:
    from mailings.models import Mailing

    return list(
        Mailing.objects.visible_to(user)
        .filter(status=Mailing.Status.AWAITING_APPROVAL)
        .select_related("created_by")
        .order_by("updated_at", "pk")
    )


def drives_sending(*, user) -> list[DriveLine]:
    """Drives sending or paused now, with their rows by status (one grouped query)."""
    from mailings.models import Mailing

    mailings = (
        Mailing.objects.visible_to(user)
        .filter(status__in=[Mailing.Status.SENDING, Mailing.Status.PAUSED])
        .select_related("created_by")
        .order_by("started_at", "pk")
    )
    return _drive_lines(mailings)


def drives_of(*, user, limit: int = 10) -> list[DriveLine]:
    """The user's own drives, newest first, with progress."""
    from mailings.models import Mailing

    mailings = Mailing.objects.visible_to(user).filter(created_by=user).order_by("-created_at")
    return _drive_lines(mailings[:limit])


def unknown_rows_by_drive(*, user) -> list[tuple[Mailing, int]]:
    """Recipient rows whose fate is unknown (a crash mid-send), per drive, for review."""
    from mailings.models import Mailing, Recipient

    rows = (
        Recipient.objects.visible_to(user)
        .filter(status=Recipient.Status.UNKNOWN)
        .order_by()
        .values_list("mailing_id")
        .annotate(n=Count("pk"))
    )
    counts = dict(rows)
    mailings = Mailing.objects.filter(pk__in=counts).order_by("-created_at")
    return [(mailing, counts[mailing.pk]) for mailing in mailings]


def imports_recent(*, user, limit: int = 5):
    """The latest imports the user may see (organisers), without their big reports."""
    from contacts.models import ImportBatch

    return list(
        ImportBatch.objects.visible_to(user)
        .select_related("created_by")
        .defer("report", "options", "created_objects")
        .order_by("-created_at", "-pk")[:limit]
    )


def chase_flags_for_organisers(*, user=None, limit: int = 20) -> list:
    """Supporters a district lead asked an organiser to help with, newest first.
    With ``user``, only those the user may see."""
    from campaign.models import ChaseState
    from contacts.models import Contact

    flags = ChaseState.objects.filter(needs_organiser=True)
    if user is not None:
        flags = flags.filter(contact__in=Contact.objects.visible_to(user).values("pk"))
    return list(
        flags.select_related(
            "contact", "contact__school", "contact__district", "updated_by"
        ).order_by("-flagged_at", "-pk")[:limit]
    )
