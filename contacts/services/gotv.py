"""Get-out-the-vote status, with its history (who, when, how).

Every route that records a status (tick-off page, paper sheet upload, "I have voted"
link, admin) comes through here, so the drives' "not yet voted" audience and the
history always agree, and the campaign's ballot window applies everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from contacts.aggregates import tally_tracking
from contacts.models import Contact, GotvEvent


def _actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def gotv_set(
    *,
    contact: Contact,
    status: Contact.Gotv | str,
    method: GotvEvent.Method | str,
    actor=None,
    at: datetime | None = None,
) -> bool:
    """Set a contact's GOTV status and record who, when and how. Idempotent: setting
    the status it already has records nothing and returns False. Raises
    ``campaign.gotv.GotvRuleError`` when the ballot window does not allow ``status``."""
    from campaign.gotv import ballot_window_check

    at = at or timezone.now()
    ballot_window_check(status=status, at=at)
    with tally_tracking(contact_ids=[contact.pk]):
        locked = Contact.objects.select_for_update().only("pk", "gotv_status").get(pk=contact.pk)
        if locked.gotv_status == status:
            return False
        GotvEvent.objects.create(
            contact_id=contact.pk,
            status=status,
            previous_status=locked.gotv_status,
            method=method,
            actor=_actor(actor),
            created_at=at,
        )
        Contact.objects.filter(pk=contact.pk).update(gotv_status=status, updated_at=at)
    contact.gotv_status = status
    return True


@transaction.atomic
def gotv_set_many(
    *,
    contact_ids: Iterable[int],
    status: Contact.Gotv | str,
    method: GotvEvent.Method | str,
    actor=None,
    at: datetime | None = None,
) -> int:
    """Set many contacts' status at once, with one history row per actual change.

    Callers pass ids they have already scoped with ``visible_to``. Returns how many
    contacts changed (those already at ``status`` are left alone)."""
    from campaign.gotv import ballot_window_check

    at = at or timezone.now()
    ballot_window_check(status=status, at=at)
    changing = list(
        Contact.objects.select_for_update()
        .filter(pk__in=list(contact_ids))
        .exclude(gotv_status=status)
        .order_by("pk")
        .values_list("pk", "gotv_status")
    )
    if not changing:
        return 0
    with tally_tracking(contact_ids=[pk for pk, _ in changing]):
        _gotv_write_many(changing, status=status, method=method, actor=actor, at=at)
    return len(changing)


def _gotv_write_many(changing, *, status, method, actor, at) -> None:
    GotvEvent.objects.bulk_create(
        [
            GotvEvent(
                contact_id=pk,
                status=status,
                previous_status=previous,
                method=method,
                actor=_actor(actor),
                created_at=at,
            )
            for pk, previous in changing
        ],
        batch_size=1000,
    )
    ids = [pk for pk, _ in changing]
    for start in range(0, len(ids), 1000):
        Contact.objects.filter(pk__in=ids[start : start + 1000]).update(
            gotv_status=status, updated_at=at
        )
