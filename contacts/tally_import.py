"""The supporter tally after an import, counted from the rows the import wrote.

Recounting every district an import touched re-reads each of their supporters with
their consent and suppression state: at 450,000 rows that is seconds of the import's
own transaction. When the union had no supporters before the import, every supporter
in those districts is one the import just created, still invisible to everyone else
until it commits, and the importer already knows each one's district, role and
consent: adding those counts to the tally gives what the recount would. Anything
that may differ (contacts that existed before, a suppression that arrived while the
file was read) falls back to the recount.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from contacts.aggregates import NO_DISTRICT, _add, tally_scope
from contacts.models import Contact, ImportChange, SupporterTally, Suppression, TallyRecheck


def import_district_ids(*, batch) -> set[int | None]:
    """Every district an import's contacts are in now or were in before it changed them:
    what an import, or its undo, must recount."""
    created = Contact.objects.filter(source_import=batch)
    changes = ImportChange.objects.filter(batch=batch)
    changed = Contact.objects.filter(pk__in=changes.values("contact_id"))
    ids: set[int | None] = set()
    for contacts in (created, changed):
        ids.update(contacts.order_by().values_list("district_id", flat=True).distinct())
    for previous in changes.exclude(previous={}).values_list("previous", flat=True):
        if "district_id" in previous:
            ids.add(previous["district_id"])
    return ids


def tally_recount_import(*, batch) -> None:
    """After an import has written its rows (COPY and bulk writes send no signals)."""
    with tally_scope(district_ids=import_district_ids(batch=batch)):
        pass


class CreatedCells:
    """What an import created, by tally cell (only new contacts: no tags, GOTV unknown,
    one email consent each, never withdrawn and never dated after the import's day)."""

    def __init__(self, *, started_at: datetime) -> None:
        self.started_at = started_at
        # (district key, role) -> contacts whose consent is current from the start.
        self.current: Counter = Counter()
        # (district key, role, given_at) for consents dated later than the start
        # (midday today, for an import run in the morning).
        self.later: Counter = Counter()

    def add(self, contacts: Iterable[tuple[int | None, str, datetime]]) -> None:
        """Count new contacts given as (district id, role, consent given at)."""
        started, current, later = self.started_at, self.current, self.later
        for district_id, role, given_at in contacts:
            key = NO_DISTRICT if district_id is None else district_id
            if given_at <= started:
                current[key, role] += 1
            else:
                later[key, role, given_at] += 1


def tally_count_import(*, batch, created: CreatedCells | None) -> None:
    """After an import has written its rows: add what it created to the tally when that
    is exact (see the module doc), otherwise recount the districts it touched."""
    if created is None or not _add_created(batch=batch, created=created):
        tally_recount_import(batch=batch)


def _add_created(*, batch, created: CreatedCells) -> bool:
    imported = Contact.objects.filter(source_import=batch)
    if Suppression.objects.filter(address_hash__in=imported.values("email_hash")).exists():
        return False  # suppressed while the file was being read: let the recount say how
    at = timezone.now()
    mailable, no_consent = SupporterTally.State.MAILABLE.value, SupporterTally.State.NO_CONSENT
    unknown = Contact.Gotv.UNKNOWN.value
    delta: Counter = Counter()
    for (district, role), n in created.current.items():
        delta[district, role, unknown, mailable, True] += n
    due: dict[int, datetime] = {}
    for (district, role, given_at), n in created.later.items():
        if given_at <= at:
            delta[district, role, unknown, mailable, True] += n
        else:
            delta[district, role, unknown, no_consent.value, False] += n
            due[district] = min(given_at, due.get(district, given_at))
    _add(delta)
    if due:
        known = dict(
            TallyRecheck.objects.filter(district_key__in=due)
            .values_list("district_key")
            .annotate(first=Min("due_at"))
        )
        for district, when in due.items():
            if district not in known:
                TallyRecheck.objects.create(district_key=district, due_at=when)
            elif when < known[district]:
                TallyRecheck.objects.filter(district_key=district).update(due_at=when)
    return True
