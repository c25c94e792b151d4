"""Reads for the drives app: drive list lines, the composer's audience, exclusions,
supporters to preview as, the live page's figures. Scoped at the moment of reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from campaign.selectors import NOT_YET_VOTED
from contacts.aggregates import email_state
from contacts.models import Contact, SharedAddress, SupporterTally
from mailings.merge import FIELDS, suggest_field, unknown_fields
from mailings.models import Mailing, MailingGuard, Recipient, RecipientTally
from mailings.selectors import (
    EXCLUSION_REASONS,
    AudienceFilters,
    audience_contacts_for,
    mailing_progress,
)

# The audience builder's presets: GOTV statuses they tick.
PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "not_yet_voted": ("Not yet voted", NOT_YET_VOTED),
    "pledged_not_voted": ("Pledged but not voted", ("pledged",)),
}

# What each merge field means and what it looks like, for the composer's picker.
FIELD_EXAMPLES: dict[str, str] = {
    "first_name": "Siân",
    "last_name": "Featherstonehaugh-Smythe",
    "full_name": "Siân Featherstonehaugh-Smythe",
    "school": "St Mary's Catholic Primary School",
    "district": "Tower Hamlets",
    "candidate": "the campaign's candidate",
    "ballot_closes": "the day and time the ballot closes",
    "unsubscribe_url": "a personal one-click unsubscribe link",
    "voted_url": 'a personal "I have voted" link',
}


@dataclass(frozen=True)
class FieldHelp:
    name: str
    meaning: str
    example: str


def merge_field_help(*, campaign=None) -> list[FieldHelp]:
    examples = dict(FIELD_EXAMPLES)
    if campaign is not None:
        # The values every supporter gets: shown as they will be, not as a made-up example.
        examples["candidate"] = campaign.candidate
        if campaign.ballot_closes:
            examples["ballot_closes"] = date_format(
                timezone.localtime(campaign.ballot_closes), "l j F Y, H:i"
            )
    return [FieldHelp(name, meaning, examples.get(name, "")) for name, meaning in FIELDS.items()]


@dataclass(frozen=True)
class FieldHint:
    part: str  # "subject" or "body"
    unknown: str
    suggestion: str | None


def merge_hints(*, subject: str, body: str) -> list[FieldHint]:
    """Each unknown merge field of the subject and body with its nearest real name."""
    return [
        FieldHint(part, name, suggest_field(name))
        for part, text in (("subject", subject), ("body", body))
        for name in unknown_fields(text)
    ]


def drive_lines(*, user, status: str | None = None) -> QuerySet[Mailing]:
    """The drives ``user`` may see, newest activity first, with their rows by status
    (on PostgreSQL summed from the ledger the database keeps, a few lines per drive,
    not counted) and when each last sent."""
    drives = Mailing.objects.visible_to(user).select_related("created_by")
    if status:
        drives = drives.filter(status=status)
    if connection.vendor == "postgresql":
        lines = RecipientTally.objects.filter(mailing_id=OuterRef("pk")).order_by()
        summed = Sum("n")
    else:  # SQLite keeps no ledger (migration mailings 0009): its drives are small
        lines = Recipient.objects.filter(mailing_id=OuterRef("pk")).order_by()
        summed = Count("pk")

    def rows(status: str | None = None):
        of = lines if status is None else lines.filter(status=status)
        total = of.values("mailing_id").annotate(total=summed).values("total")
        return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)

    counted = {f"n_{value}": rows(value) for value in Recipient.Status.values}
    # The partial index of sent rows by time (recipient_sent_at) answers each at once.
    last_sent = (
        Recipient.objects.filter(
            mailing_id=OuterRef("pk"), status=Recipient.Status.SENT, sent_at__isnull=False
        )
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    return (
        drives.annotate(n_rows=rows(), last_sent=Subquery(last_sent), **counted)
        .annotate(n_done=F("n_rows") - F("n_queued") - F("n_sending"))
        .order_by("-updated_at", "-pk")
    )


@dataclass
class Exclusion:
    contact: Contact
    reason: str


@dataclass
class ExclusionPage:
    rows: list[Exclusion]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


def audience_exclusions(
    *, user, filters: AudienceFilters, page: int = 1, per_page: int = 25
) -> ExclusionPage:
    """Who the filters match but will not get the email, and why, one page at a time:
    no current consent, unsubscribed, suppressed, then duplicate addresses (everyone
    after the first supporter at one address)."""
    contacts = audience_contacts_for(user=user, filters=filters)
    stated = contacts.annotate(state=email_state(timezone.now()))
    left_out = stated.exclude(state=SupporterTally.State.MAILABLE)
    shared = SharedAddress.objects.values("address_hash")
    mailable_shared = stated.filter(state=SupporterTally.State.MAILABLE, email_hash__in=shared)
    firsts = mailable_shared.order_by().values("email_hash").annotate(first=Min("pk"))
    duplicates = mailable_shared.exclude(pk__in=firsts.values("first"))
    by_state = dict(left_out.order_by().values_list("state").annotate(n=Count("pk")))
    n_duplicates = duplicates.count()
    total = sum(by_state.values()) + n_duplicates
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    rows: list[Exclusion] = []
    ordered = left_out.select_related("school", "district").order_by(
        "last_name", "first_name", "pk"
    )
    n_left_out = sum(by_state.values())
    if start < n_left_out:
        rows = [
            Exclusion(contact, EXCLUSION_REASONS.get(contact.state, contact.state))
            for contact in ordered[start : start + per_page]
        ]
    if len(rows) < per_page:
        offset = max(0, start - n_left_out)
        rows += [
            Exclusion(contact, EXCLUSION_REASONS["duplicate"])
            for contact in duplicates.select_related("school", "district").order_by(
                "email_hash", "pk"
            )[offset : offset + per_page - len(rows)]
        ]
    counts = {key: by_state.get(key, 0) for key in ("no_consent", "unsubscribed", "suppressed")}
    counts["duplicate"] = n_duplicates
    return ExclusionPage(rows=rows, total=total, page=page, pages=pages, counts=counts)


def audience_people_named(*, user, filters: AudienceFilters, query: str, limit: int = 8):
    """Supporters of the audience whose name matches ``query`` (to preview as)."""
    words = query.split()
    if not words:
        return []
    people = audience_contacts_for(user=user, filters=filters).select_related("school")
    for word in words[:4]:
        people = people.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return list(people.order_by("last_name", "first_name", "pk")[:limit])


def audience_person(*, user, filters: AudienceFilters, contact_id: int | None) -> Contact | None:
    """One supporter of the audience (to preview as), or the first mailable one."""
    people = audience_contacts_for(user=user, filters=filters).select_related("school", "district")
    if contact_id is not None:
        return people.filter(pk=contact_id).first()
    return people.mailable().order_by("pk").first() or people.order_by("pk").first()


@dataclass(frozen=True)
class LiveFigures:
    progress: dict[str, int]
    total: int
    done: int
    per_minute: int
    guard_reason: str


def drive_live_figures(*, mailing: Mailing) -> LiveFigures:
    """The live page's numbers: rows by status, how many are settled, the send rate over
    the last minute, and why the guard paused the drive (if it did)."""
    rows = Recipient.objects.filter(mailing=mailing).order_by()
    progress = mailing_progress(mailing=mailing)
    total = sum(progress.values())
    done = total - progress["queued"] - progress["sending"]
    since = timezone.now() - timedelta(seconds=60)
    per_minute = rows.filter(status=Recipient.Status.SENT, sent_at__gte=since).count()
    guard = MailingGuard.objects.filter(mailing=mailing).values_list("reason", flat=True).first()
    guard_reason = guard if mailing.status == Mailing.Status.PAUSED and guard else ""
    return LiveFigures(progress, total, done, per_minute, guard_reason)


def drive_audience_person(*, mailing: Mailing, viewer, contact_id: int | None) -> Contact | None:
    """A supporter of a saved drive's audience whom ``viewer`` may also see (to preview
    as, or to base a test send on); the first mailable one by default."""
    from mailings.selectors import audience_contacts

    people = (
        audience_contacts(mailing=mailing)
        .filter(pk__in=Contact.objects.visible_to(viewer).values("pk"))
        .select_related("school", "district")
    )
    if contact_id is not None:
        return people.filter(pk=contact_id).first()
    return people.mailable().order_by("pk").first() or people.order_by("pk").first()
