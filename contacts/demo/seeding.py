"""Demo data: a believable, entirely fictional union membership for trying Turnout out.

Everything is drawn from ``random.Random`` streams seeded from the options, so the same
options always give the same people, schools and districts. Emails use the reserved
``example.*`` domains and mobiles Ofcom's drama range, so nothing here can reach a
real person. Writes are chunked bulk inserts inside one transaction: union scale
(450,000 supporters) stays fast and small in memory, and a failure leaves nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import reset_queries, transaction
from django.utils import timezone

from campaign.models import AuditEvent, Campaign
from campaign.roles import Role as TeamRole
from campaign.services import audit_record, team_member_set
from contacts.aggregates import tally_rebuild
from contacts.demo.plan import (
    ContactSpec,
    DistrictSpec,
    SchoolSpec,
    _chunks,
    plan_contacts,
    plan_districts,
    plan_schools,
    stream,
)
from contacts.demo.vocabulary import (
    CAMPAIGN_CANDIDATES,
    DEMO_TAGS,
)
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    GotvEvent,
    School,
    Suppression,
    Tag,
    name_key,
)
from contacts.services.consent import SUPPRESS_AS
from contacts.suppression import address_hash

DEMO_PASSWORD = "turnout-demo"  # noqa: S105 - printed to the developer; refused unless DEBUG

# Called as progress(stage, done, total) after each chunk is written.
ProgressFn = Callable[[str, int, int], None]


class SeedRefused(Exception):
    """Seeding would damage real data or leak known passwords; nothing was written."""


@dataclass(frozen=True)
class SeedOptions:
    contacts: int = 3000
    schools: int = 120
    districts: int = 12
    seed: int = 1
    users: bool = False
    # Big enough to amortise a round trip, small enough to keep memory flat.
    chunk_size: int = 5000

    def __post_init__(self) -> None:
        if self.districts < 1:
            raise ValueError("At least one district is needed.")
        if self.schools < 0 or self.contacts < 0:
            raise ValueError("Counts cannot be negative.")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be positive.")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    # None when the account already existed and kept its own password.
    password: str | None
    role: str
    districts: tuple[str, ...] = ()


@dataclass
class SeedResult:
    counts: dict[str, int]
    seconds: float
    campaign: str | None = None
    logins: list[DemoLogin] = field(default_factory=list)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def check_can_seed(options: SeedOptions) -> None:
    """Raise SeedRefused unless seeding with ``options`` is safe here."""
    if options.users and not settings.DEBUG:
        raise SeedRefused(
            "--users creates logins with a published password; it is refused unless DEBUG is on."
        )
    if options.users and options.districts < 2:
        raise SeedRefused("--users needs at least two districts (for lead_a and lead_b).")
    if Contact.objects.exists():
        raise SeedRefused("seed_demo only fills an empty database: supporters already exist.")


def seed(options: SeedOptions, *, progress: ProgressFn = _no_progress) -> SeedResult:
    """Fill an empty database with demo data; all or nothing."""
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        check_can_seed(options)
        district_plans = plan_districts(
            stream(options.seed, "districts"),
            options.districts,
            frozenset(n.casefold() for n in District.objects.values_list("name", flat=True)),
        )
        district_ids = _write_districts(district_plans, progress)
        school_plans = plan_schools(
            stream(options.seed, "schools"),
            district_plans,
            options.schools,
            frozenset(School.objects.exclude(urn=None).values_list("urn", flat=True)),
        )
        school_ids = _write_schools(school_plans, district_ids, options.chunk_size, progress)
        tag_ids = {name: Tag.objects.get_or_create(name=name)[0].pk for name in DEMO_TAGS}
        counts = _write_contacts(
            plan_contacts(
                stream(options.seed, "contacts"),
                options.contacts,
                school_plans,
                len(district_plans),
                now,
            ),
            school_ids,
            district_ids,
            tag_ids,
            options,
            progress,
        )
        campaign = _ensure_campaign(stream(options.seed, "campaign"), now)
        counts["gotv_events"] = _write_gotv_history(stream(options.seed, "gotv"), now)
        tally_rebuild()  # bulk inserts send no signals
        logins = create_demo_users(district_ids) if options.users else []
        counts = {
            "districts": len(district_ids),
            "schools": len(school_ids),
            **counts,
            "users": len(logins),
        }
        audit_record(
            actor=None,
            action=AuditEvent.Action.SEED,
            counts=counts,
            detail={
                "seed": options.seed,
                "contacts": options.contacts,
                "schools": options.schools,
                "districts": options.districts,
                "users": options.users,
            },
        )
    return SeedResult(
        counts=counts,
        seconds=time.perf_counter() - started,
        campaign=campaign,
        logins=logins,
    )


def _write_districts(plans: Sequence[DistrictSpec], progress: ProgressFn) -> list[int]:
    created = District.objects.bulk_create(
        [District(name=p.name, region=p.region) for p in plans], batch_size=5000
    )
    progress("districts", len(created), len(plans))
    return [d.pk for d in created]


def _write_schools(
    plans: Sequence[SchoolSpec], district_ids: Sequence[int], chunk: int, progress: ProgressFn
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(plans), chunk):
        batch = [
            School(
                name=p.name,
                name_key=name_key(p.name),
                urn=p.urn,
                district_id=district_ids[p.district_index],
            )
            for p in plans[start : start + chunk]
        ]
        ids.extend(s.pk for s in School.objects.bulk_create(batch))
        reset_queries()
        progress("schools", len(ids), len(plans))
    if not plans:
        progress("schools", 0, 0)
    return ids


def _write_contacts(
    specs: Iterator[ContactSpec],
    school_ids: Sequence[int],
    district_ids: Sequence[int],
    tag_ids: dict[str, int],
    options: SeedOptions,
    progress: ProgressFn,
) -> dict[str, int]:
    wording = settings.CONSENT_DEFAULT_WORDING
    version = settings.CONSENT_DEFAULT_VERSION
    Tagging = Contact.tags.through
    done = current = withdrawn = taggings = suppressed = 0
    for chunk in _chunks(specs, options.chunk_size):
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    first_name=s.first_name,
                    last_name=s.last_name,
                    email=s.email,
                    email_hash=address_hash(s.email),
                    mobile=s.mobile,
                    school_id=school_ids[s.school_index] if s.school_index is not None else None,
                    district_id=district_ids[s.district_index],
                    role=s.role,
                    gotv_status=s.gotv_status,
                    created_at=s.created_at,
                )
                for s in chunk
            ]
        )
        consents = []
        tagging = []
        # consent_withdraw suppresses the address too; demo data keeps that invariant.
        suppressions = []
        for spec, contact in zip(chunk, contacts, strict=True):
            if (c := spec.consent) is not None:
                consents.append(
                    ConsentRecord(
                        contact_id=contact.pk,
                        channel=ConsentRecord.Channel.EMAIL,
                        given_at=c.given_at,
                        source=c.source,
                        wording=wording,
                        version=version,
                        method=c.method,
                        withdrawn_at=c.withdrawn_at,
                        withdrawn_how=c.withdrawn_how,
                        created_at=c.given_at,
                    )
                )
                if c.withdrawn_at is None:
                    current += 1
                else:
                    withdrawn += 1
                    how = ConsentRecord.WithdrawnHow(c.withdrawn_how)
                    suppressions.append(
                        Suppression(
                            address_hash=address_hash(spec.email),
                            reason=SUPPRESS_AS[how],
                            source=how.label,
                            created_at=c.withdrawn_at,
                        )
                    )
            tagging.extend(Tagging(contact_id=contact.pk, tag_id=tag_ids[t]) for t in spec.tags)
        ConsentRecord.objects.bulk_create(consents)
        Tagging.objects.bulk_create(tagging)
        Suppression.objects.bulk_create(suppressions, ignore_conflicts=True)
        suppressed += len(suppressions)
        done += len(chunk)
        taggings += len(tagging)
        # Under DEBUG every multi-megabyte INSERT would otherwise stay in connection.queries.
        reset_queries()
        progress("contacts", done, options.contacts)
    if options.contacts == 0:
        progress("contacts", 0, 0)
    return {
        "contacts": done,
        "consent_records": current + withdrawn,
        "consent_current": current,
        "consent_withdrawn": withdrawn,
        "consent_none": done - current - withdrawn,
        "tag_links": taggings,
        "suppressed": suppressed,
    }


def _ensure_campaign(rng: random.Random, now: datetime) -> str | None:
    """Create an active campaign unless one is already running; returns its name if created."""
    if Campaign.objects.filter(is_active=True).exists():
        return None
    candidate = rng.choice(CAMPAIGN_CANDIDATES)
    # Whole days at noon read better in the demo than "now + 7 days, 15:42:07".
    noon = timezone.localtime(now).replace(hour=12, minute=0, second=0, microsecond=0)
    campaign = Campaign.objects.create(
        name=f"{candidate} for General Secretary",
        candidate=candidate,
        # Open now (since a few days, for three more weeks), so every journey can be
        # tried at once: recording votes, the chase list, drives.
        ballot_opens=noon - timedelta(days=3),
        ballot_closes=noon + timedelta(days=21),
        sender_name=f"{candidate} for General Secretary",
        sender_email="team@campaign.example.org",
        reply_to="replies@campaign.example.org",
        is_active=True,
    )
    return campaign.name


def _write_gotv_history(rng: random.Random, now: datetime) -> int:
    """A GOTV history for every demo supporter with a status: pledges made in the weeks
    before the ballot opened, votes and ballot papers since, as the product records
    them (so "voted so far", the chase list and each supporter's history agree)."""
    campaign = Campaign.objects.filter(is_active=True).first()
    if campaign is None:
        return 0
    opens = min(campaign.ballot_opens, now)
    methods = [GotvEvent.Method.CANVASS, GotvEvent.Method.WEB, GotvEvent.Method.EMAIL_LINK]
    after_opening = {Contact.Gotv.VOTED, Contact.Gotv.BALLOT_RECEIVED}
    written = 0
    statuses = (
        Contact.objects.exclude(gotv_status=Contact.Gotv.UNKNOWN)
        .order_by("pk")
        .values_list("pk", "gotv_status")
    )
    batch: list[GotvEvent] = []
    for pk, status in statuses.iterator(chunk_size=5000):
        if status in after_opening:
            at = opens + (now - opens) * rng.random()
            method = rng.choice(methods)
        else:
            at = opens - timedelta(days=21) * rng.random()
            method = rng.choice(methods[:2])  # the "I have voted" link only says voted
        batch.append(
            GotvEvent(
                contact_id=pk,
                status=status,
                previous_status=Contact.Gotv.UNKNOWN,
                method=method,
                created_at=at,
            )
        )
        if len(batch) >= 5000:
            GotvEvent.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    GotvEvent.objects.bulk_create(batch)
    return written + len(batch)


def create_demo_users(district_ids: Sequence[int]) -> list[DemoLogin]:
    """Demo logins for every role, all with DEMO_PASSWORD. Only ever in DEBUG.

    Accounts that already exist keep their password: the developer may have chosen it.
    """
    if not settings.DEBUG:
        raise SeedRefused("Demo logins are refused unless DEBUG is on.")
    if len(district_ids) < 2:
        raise SeedRefused("Demo logins need at least two districts.")
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    admin_password: str | None = None
    if admin is None:
        admin = User.objects.create_superuser("admin", "admin@campaign.example.org", DEMO_PASSWORD)
        admin_password = DEMO_PASSWORD
    elif not admin.is_superuser:
        raise SeedRefused("A user called 'admin' exists and is not a superuser.")
    by_id = District.objects.in_bulk(district_ids[:2])
    first, second = by_id[district_ids[0]], by_id[district_ids[1]]
    team = (
        ("organiser", TeamRole.ORGANISER, []),
        ("volunteer", TeamRole.VOLUNTEER, [first, second]),
        ("lead_a", TeamRole.LEAD, [first]),
        ("lead_b", TeamRole.LEAD, [second]),
    )
    logins = [DemoLogin("admin", admin_password, "Superuser")]
    for username, role, districts in team:
        user = User.objects.filter(username=username).first()
        password: str | None = None
        if user is None:
            user = User.objects.create_user(
                username, f"{username}@campaign.example.org", DEMO_PASSWORD
            )
            password = DEMO_PASSWORD
        team_member_set(actor=admin, user=user, role=role, districts=districts)
        logins.append(DemoLogin(username, password, role.label, tuple(d.name for d in districts)))
    return logins
