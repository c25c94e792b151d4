"""The supporter tally: maintained counts behind every union-wide figure.

Counting 450,000 supporters with their consent and suppression state takes seconds; the
dashboard and the audience builder need it in milliseconds. ``SupporterTally`` holds
how many supporters sit in each district × role × GOTV status × email state (a few
thousand rows for the whole union), and every write that can move a supporter between
cells keeps it exact, inside the write's own transaction:

* ``tally_tracking(contact_ids=...)`` around a change to known contacts (GOTV, consent,
  suppression): their cells are counted before and after, and the difference is added.
  The contacts are locked first, so two changes to one supporter cannot both count
  from the same "before"; additions commute, so changes to different supporters never
  wait for each other except on the same counter row.
* ``tally_scope()`` around bulk work (imports, undo, seeding): districts are marked and
  recounted from scratch once at the end, under a table lock so no concurrent change
  is lost or counted twice.
* Signals (contacts/tally_signals.py) catch single-object writes that bypass the services (the admin's consent
  inline, a contact saved or deleted through the ORM, a suppression created): they
  track the contact just like a service would. ``QuerySet.update``, ``bulk_create``,
  COPY and raw SQL do not send signals; code using them must use one of the two scopes.

``tally_rebuild()`` recounts everything (``manage.py tally_rebuild``; also nightly, to
repair anything written behind the system's back) and ``tally_differences()`` compares
the tally with a direct count.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import (
    ConsentRecord,
    Contact,
    SharedAddress,
    SupporterTally,
    Suppression,
    TagTally,
    TallyRecheck,
)

State = SupporterTally.State
# (district_key, role, gotv_status, state, consented); tag cells put ("tag", tag_id) first.
Cell = tuple
CHUNK = 5000
NO_DISTRICT = 0


# --- counting -------------------------------------------------------------------------


def email_state(at: datetime, *, via: str = "") -> Case:
    """Each supporter's email state, first reason first (as the audience explains it):
    unsubscribed, otherwise suppressed, otherwise consented, otherwise no consent.
    ``via`` is the path to the contact ("contact__" from a tag link)."""
    suppressed = Suppression.objects.filter(address_hash=OuterRef(f"{via}email_hash"))
    consent = ConsentRecord.objects.filter(
        contact=OuterRef(f"{via}pk" if via else "pk"),
        channel=ConsentRecord.Channel.EMAIL,
        withdrawn_at__isnull=True,
        given_at__lte=at,
    )
    return Case(
        When(
            Exists(suppressed.filter(reason=Suppression.Reason.UNSUBSCRIBED)),
            then=Value(State.UNSUBSCRIBED.value),
        ),
        When(Exists(suppressed), then=Value(State.SUPPRESSED.value)),
        When(Exists(consent), then=Value(State.MAILABLE.value)),
        default=Value(State.NO_CONSENT.value),
        output_field=CharField(),
    )


def current_consent(at: datetime, *, via: str = "") -> Exists:
    return Exists(
        ConsentRecord.objects.filter(
            contact=OuterRef(f"{via}pk" if via else "pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=at,
        )
    )


def _count(contacts: QuerySet, at: datetime) -> Counter:
    """Cells of ``contacts``: district cells keyed (district, role, gotv, state) and tag
    cells keyed ("tag", tag, district, role, gotv, state), in one Counter."""
    return _count_districts(contacts, at) + _count_tags(contacts, at)


def _count_tags(contacts: QuerySet, at: datetime) -> Counter:
    links = (
        Contact.tags.through.objects.filter(contact__in=contacts.order_by().values("pk"))
        .order_by()
        .annotate(
            tally_district=Coalesce(
                "contact__district_id", Value(NO_DISTRICT), output_field=IntegerField()
            ),
            tally_state=email_state(at, via="contact__"),
            tally_consented=current_consent(at, via="contact__"),
        )
        .values_list(
            "tag_id",
            "tally_district",
            "contact__role",
            "contact__gotv_status",
            "tally_state",
            "tally_consented",
        )
        .annotate(n=Count("pk"))
    )
    return Counter({("tag", t, d, r, g, s, c): n for t, d, r, g, s, c, n in links})


def _count_districts(contacts: QuerySet, at: datetime) -> Counter:
    rows = (
        contacts.order_by()
        .annotate(
            tally_district=Coalesce("district_id", Value(NO_DISTRICT), output_field=IntegerField()),
            tally_state=email_state(at),
            tally_consented=current_consent(at),
        )
        .values_list("tally_district", "role", "gotv_status", "tally_state", "tally_consented")
        .annotate(n=Count("pk"))
    )
    return Counter({(d, r, g, s, bool(c)): n for d, r, g, s, c, n in rows})


def _count_ids(ids: Iterable[int], at: datetime) -> Counter:
    ids = list(ids)
    total: Counter = Counter()
    for start in range(0, len(ids), CHUNK):
        total.update(_count(Contact.objects.filter(pk__in=ids[start : start + CHUNK]), at))
    return total


def _in_districts(contacts: QuerySet, keys: Iterable[int]) -> QuerySet:
    keys = set(keys)
    where = Q(district_id__in=keys - {NO_DISTRICT})
    if NO_DISTRICT in keys:
        where |= Q(district_id__isnull=True)
    return contacts.filter(where)


# --- writing the tally -----------------------------------------------------------------


def _add(delta: dict[tuple, int]) -> None:
    cells = [(*cell, n) for cell, n in delta.items() if n and cell[0] != "tag"]
    tags = [(*cell[1:], n) for cell, n in delta.items() if n and cell[0] == "tag"]
    keys = ["district_key", "role", "gotv_status", "state", "consented"]
    for model, key, rows in ((SupporterTally, keys, cells), (TagTally, ["tag_id", *keys], tags)):
        if not rows:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(key)
        marks = ", ".join(["%s"] * (len(key) + 1))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}, n) VALUES ({marks}) "  # noqa: S608 - fixed names
                f"ON CONFLICT ({columns}) DO UPDATE SET n = {table}.n + excluded.n",
                rows,
            )


def _district_of(cell: tuple) -> int:
    return cell[2] if cell[0] == "tag" else cell[0]


def _lock_tally() -> None:
    """Recounting replaces rows that concurrent changes add to: make them wait (and wait
    for those in flight) so the recount sees every committed change exactly once.
    SQLite has one writer at a time anyway."""
    if connection.vendor == "postgresql":
        tables = ", ".join(
            connection.ops.quote_name(m._meta.db_table) for m in (SupporterTally, TagTally)
        )
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")


def _recount(keys: set[int] | None, at: datetime) -> None:
    """Replace the tally of districts ``keys`` (every district if None) with a fresh count."""
    _lock_tally()
    contacts = Contact.objects.all()
    tally = SupporterTally.objects.all()
    tag_tally = TagTally.objects.all()
    rechecks = TallyRecheck.objects.all()
    if keys is not None:
        contacts = _in_districts(contacts, keys)
        tally = tally.filter(district_key__in=keys)
        tag_tally = tag_tally.filter(district_key__in=keys)
        rechecks = rechecks.filter(district_key__in=keys)
    counted = _count(contacts, at)
    tally.delete()
    tag_tally.delete()
    SupporterTally.objects.bulk_create(
        [
            SupporterTally(district_key=d, role=r, gotv_status=g, state=s, consented=c, n=n)
            for cell, n in counted.items()
            if cell[0] != "tag"
            for d, r, g, s, c in [cell]
        ],
        batch_size=2000,
    )
    TagTally.objects.bulk_create(
        [
            TagTally(
                tag_id=cell[1], district_key=d, role=r, gotv_status=g, state=s, consented=c, n=n
            )
            for cell, n in counted.items()
            if cell[0] == "tag"
            for d, r, g, s, c in [cell[2:]]
        ],
        batch_size=2000,
    )
    rechecks.delete()
    _schedule_rechecks(contacts, at)
    _note_shared_addresses(contacts)


def _schedule_rechecks(contacts: QuerySet, at: datetime) -> None:
    """Remember when consents dated in the future become current, per district."""
    future = (
        ConsentRecord.objects.filter(
            contact__in=contacts.values("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__gt=at,
        )
        .annotate(
            key=Coalesce("contact__district_id", Value(NO_DISTRICT), output_field=IntegerField())
        )
        .values_list("key")
        .annotate(due=Min("given_at"))
        .order_by()
    )
    for key, due in future:
        found = TallyRecheck.objects.filter(district_key=key).first()
        if found is None:
            TallyRecheck.objects.create(district_key=key, due_at=due)
        elif due < found.due_at:
            TallyRecheck.objects.filter(pk=found.pk).update(due_at=due)


def _note_shared_addresses(contacts: QuerySet) -> None:
    """Record every address hash of ``contacts`` that another contact also holds."""
    hashes = contacts.exclude(email_hash="").values("email_hash")
    shared = (
        Contact.objects.filter(email_hash__in=hashes)
        .values_list("email_hash")
        .annotate(holders=Count("pk"))
        .filter(holders__gt=1)
        .order_by()
    )
    SharedAddress.objects.bulk_create(
        [SharedAddress(address_hash=h) for h, _ in shared], ignore_conflicts=True, batch_size=2000
    )


# --- scopes ------------------------------------------------------------------------------


@dataclass
class _Scope:
    at: datetime
    bulk: bool = False
    ids: set[int] = field(default_factory=set)
    before: Counter = field(default_factory=Counter)
    districts: set[int] = field(default_factory=set)
    everything: bool = False
    new_hashes: set[str] = field(default_factory=set)

    def track(self, ids: Iterable[int]) -> None:
        """Count these contacts' cells now (once each), to compare with the end."""
        new = {pk for pk in ids if pk is not None} - self.ids
        if not new:
            return
        ordered = sorted(new)
        if connection.in_atomic_block:
            for start in range(0, len(ordered), CHUNK):
                # Lock in id order: two scopes never wait on each other in a circle.
                list(
                    Contact.objects.select_for_update()
                    .filter(pk__in=ordered[start : start + CHUNK])
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
        self.before.update(_count_ids(ordered, self.at))
        self.ids |= new

    def track_created(self, pk: int) -> None:
        self.ids.add(pk)

    def finish(self) -> None:
        at = timezone.now()
        if self.everything:
            _recount(None, at)
            recounted: set[int] | None = None  # every district: no delta applies
        else:
            recounted = set(self.districts)
            if recounted:
                _recount(recounted, at)
        if self.ids and recounted is not None:
            after = _count_ids(self.ids, at)
            _add(
                {
                    cell: after.get(cell, 0) - self.before.get(cell, 0)
                    for cell in set(after) | set(self.before)
                    if _district_of(cell) not in recounted
                }
            )
            ids = sorted(self.ids)
            for start in range(0, len(ids), CHUNK):
                _schedule_rechecks(Contact.objects.filter(pk__in=ids[start : start + CHUNK]), at)
        if self.new_hashes:
            hashes = sorted(self.new_hashes - {""})
            for start in range(0, len(hashes), CHUNK):
                _note_shared_addresses(
                    Contact.objects.filter(email_hash__in=hashes[start : start + CHUNK])
                )


_current: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "turnout_tally_scope", default=None
)


@contextmanager
def _scope(*, bulk: bool) -> Iterator[_Scope]:
    outer = _current.get()
    if outer is not None:
        # Nested: the outermost scope counts everything once, at its end.
        if bulk and not outer.bulk:
            outer.bulk = True
        yield outer
        return
    scope = _Scope(at=timezone.now(), bulk=bulk)
    token = _current.set(scope)
    try:
        with transaction.atomic():
            yield scope
            scope.finish()
    finally:
        _current.reset(token)


@contextmanager
def tally_tracking(*, contact_ids: Iterable[int]) -> Iterator[_Scope]:
    """Keep the tally exact across a change to these contacts (see the module doc)."""
    with _scope(bulk=False) as scope:
        scope.track(contact_ids)
        yield scope


@contextmanager
def tally_scope(*, district_ids: Iterable[int | None] = ()) -> Iterator[_Scope]:
    """Recount the districts touched by bulk work once, at the end (see the module doc).
    Contacts saved or deleted inside mark their districts; callers add the rest."""
    with _scope(bulk=True) as scope:
        tally_mark_districts(district_ids)
        yield scope


def tally_mark_districts(district_ids: Iterable[int | None]) -> None:
    """Inside ``tally_scope``: recount these districts (None = no district) at its end."""
    scope = _current.get()
    if scope is None:
        raise RuntimeError("tally_mark_districts() needs an enclosing tally_scope().")
    scope.districts.update(NO_DISTRICT if d is None else d for d in district_ids)


def tally_mark_everything() -> None:
    """Inside ``tally_scope``: recount the whole union at its end."""
    scope = _current.get()
    if scope is None:
        raise RuntimeError("tally_mark_everything() needs an enclosing tally_scope().")
    scope.everything = True


def tally_rebuild() -> None:
    """Recount the whole tally from the supporters, in one transaction."""
    with tally_scope():
        tally_mark_everything()


def tally_catch_up(*, now: datetime | None = None) -> int:
    """Recount districts where a consent dated in the future has become current.
    Readers call this first; it is one indexed query when there is nothing to do."""
    now = now or timezone.now()
    due = list(TallyRecheck.objects.filter(due_at__lte=now).values_list("district_key", flat=True))
    if due:
        with tally_scope(district_ids=[d or None for d in due]):
            pass
    return len(due)


def tally_differences() -> dict[tuple, tuple[int, int]]:
    """Cells where the tally and a direct count disagree: {cell: (tally, direct)}."""
    direct = _count(Contact.objects.all(), timezone.now())
    stored = Counter(
        {
            (t.district_key, t.role, t.gotv_status, t.state, t.consented): t.n
            for t in SupporterTally.objects.all()
        }
    )
    stored.update(
        {
            ("tag", t.tag_id, t.district_key, t.role, t.gotv_status, t.state, t.consented): t.n
            for t in TagTally.objects.all()
        }
    )
    return {
        cell: (stored.get(cell, 0), direct.get(cell, 0))
        for cell in set(direct) | set(stored)
        if stored.get(cell, 0) != direct.get(cell, 0)
    }


# --- reading -----------------------------------------------------------------------------


def tally_sum(
    *,
    district_ids: Iterable[int] | None = None,
    include_no_district: bool = True,
    roles: Iterable[str] = (),
    gotv_statuses: Iterable[str] = (),
) -> QuerySet:
    """Tally rows of the given districts (None = all), roles and GOTV statuses."""
    tally_catch_up()
    rows = SupporterTally.objects.filter(n__gt=0)
    if district_ids is not None:
        keys = set(district_ids)
        if include_no_district:
            keys.add(NO_DISTRICT)
        rows = rows.filter(district_key__in=keys)
    elif not include_no_district:
        rows = rows.exclude(district_key=NO_DISTRICT)
    roles, gotv_statuses = list(roles), list(gotv_statuses)
    if roles:
        rows = rows.filter(role__in=roles)
    if gotv_statuses:
        rows = rows.filter(gotv_status__in=gotv_statuses)
    return rows.order_by()


def tag_tally_sum(
    *,
    tag_id: int,
    district_ids: Iterable[int] | None = None,
    include_no_district: bool = True,
    roles: Iterable[str] = (),
    gotv_statuses: Iterable[str] = (),
) -> QuerySet:
    """``tally_sum`` for the supporters carrying one tag."""
    tally_catch_up()
    rows = TagTally.objects.filter(tag_id=tag_id, n__gt=0)
    if district_ids is not None:
        keys = set(district_ids)
        if include_no_district:
            keys.add(NO_DISTRICT)
        rows = rows.filter(district_key__in=keys)
    elif not include_no_district:
        rows = rows.exclude(district_key=NO_DISTRICT)
    roles, gotv_statuses = list(roles), list(gotv_statuses)
    if roles:
        rows = rows.filter(role__in=roles)
    if gotv_statuses:
        rows = rows.filter(gotv_status__in=gotv_statuses)
    return rows.order_by()
