"""Suppressed addresses: never emailed again, never re-subscribed by an import."""

from __future__ import annotations

from collections.abc import Iterable

from contacts.aggregates import tally_tracking
from contacts.models import Contact, Suppression
from contacts.suppression import address_hash


def suppression_add(
    *, email: str, reason: Suppression.Reason | str, source: str = ""
) -> Suppression:
    suppression, _ = Suppression.objects.get_or_create(
        address_hash=address_hash(email), defaults={"reason": reason, "source": source[:200]}
    )
    return suppression


def suppression_add_many(
    *, emails: Iterable[str], reason: Suppression.Reason | str, source: str = ""
) -> int:
    """Suppress many addresses; ones already suppressed keep their first reason."""
    rows = [
        Suppression(address_hash=address_hash(email), reason=reason, source=source[:200])
        for email in {e.strip().lower() for e in emails if e}
    ]
    hashes = [row.address_hash for row in rows]
    holders = [
        pk
        for start in range(0, len(hashes), 2000)
        for pk in Contact.objects.filter(email_hash__in=hashes[start : start + 2000]).values_list(
            "pk", flat=True
        )
    ]
    with tally_tracking(contact_ids=holders):
        Suppression.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)
