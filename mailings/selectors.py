"""Reads for email drives: audiences, progress, rows to review. Always scoped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaign.roles import scope_for
from contacts.aggregates import email_state, tag_tally_sum, tally_sum
from contacts.models import Contact, SharedAddress, SupporterTally
from mailings.models import Mailing, Recipient, RecipientTally

EXCLUSION_REASONS = {
    "no_consent": "No current consent",
    "unsubscribed": "Unsubscribed",
    "suppressed": "Suppressed (bounce or complaint)",
    "duplicate": "Duplicate address",
}


def mailing_get(*, user, pk: int) -> Mailing:
    return get_object_or_404(Mailing.objects.visible_to(user), pk=pk)


@dataclass(frozen=True)
class AudienceFilters:
    """What a drive's audience builder selects; empty means "any"."""

    district_ids: tuple[int, ...] = ()
    school_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()
    gotv_statuses: tuple[str, ...] = ()

    @classmethod
    def of(cls, mailing: Mailing) -> AudienceFilters:
        return cls(
            district_ids=tuple(mailing.districts.values_list("pk", flat=True)),
            school_ids=tuple(mailing.schools.values_list("pk", flat=True)),
            tag_ids=tuple(mailing.tags.values_list("pk", flat=True)),
            roles=tuple(mailing.roles or ()),
            gotv_statuses=tuple(mailing.gotv_statuses or ()),
        )


def audience_contacts(*, mailing: Mailing) -> QuerySet[Contact]:
    """Everyone the drive's filters match, never outside what its sender may see."""
    if mailing.pk is None:
        return Contact.objects.none()
    return audience_contacts_for(user=mailing.created_by, filters=AudienceFilters.of(mailing))


def audience_contacts_for(*, user, filters: AudienceFilters) -> QuerySet[Contact]:
    """Everyone ``filters`` match among what ``user`` may see (e.g. a composer's draft)."""
    contacts = Contact.objects.visible_to(user).order_by()
    if filters.district_ids:
        contacts = contacts.filter(district_id__in=filters.district_ids)
    if filters.school_ids:
        contacts = contacts.filter(school_id__in=filters.school_ids)
    if filters.tag_ids:
        tagged = Contact.tags.through.objects.filter(
            contact_id=OuterRef("pk"), tag_id__in=filters.tag_ids
        )
        contacts = contacts.filter(Exists(tagged))
    if filters.roles:
        contacts = contacts.filter(role__in=filters.roles)
    if filters.gotv_statuses:
        contacts = contacts.filter(gotv_status__in=filters.gotv_statuses)
    return contacts


def audience_breakdown(*, mailing: Mailing) -> dict[str, int]:
    """Live audience count and why the rest are left out.

    Each excluded contact is counted once, under the first reason that applies:
    unsubscribed, suppressed, no current consent, duplicate address.
    """
    if mailing.pk is None:
        return dict.fromkeys(BREAKDOWN_KEYS, 0)
    return audience_breakdown_for(user=mailing.created_by, filters=AudienceFilters.of(mailing))


BREAKDOWN_KEYS = ("matched", "mailable", "no_consent", "unsubscribed", "suppressed", "duplicate")
# Past this many shared addresses (normally there are none) look them up in SQL.
_SHARED_IN_PYTHON = 5000


def audience_breakdown_for(*, user, filters: AudienceFilters) -> dict[str, int]:
    """``audience_breakdown`` for filters not (yet) saved on a drive.

    Filters of districts, roles, GOTV statuses and one tag are answered from the
    supporter tally (a sum over at most a few thousand rows, whatever the audience's
    size); schools, or several tags at once, go through one pass over the matching
    supporters.
    """
    contacts = audience_contacts_for(user=user, filters=filters)
    if filters.school_ids or len(filters.tag_ids) > 1:
        by_state = _one_pass_by_state(contacts)
    else:
        by_state = _tally_by_state(user=user, filters=filters)
    eligible = by_state.get(SupporterTally.State.MAILABLE, 0)
    duplicate = _duplicates(contacts) if eligible else 0
    return {
        "matched": sum(by_state.values()),
        "mailable": eligible - duplicate,
        "no_consent": by_state.get(SupporterTally.State.NO_CONSENT, 0),
        "unsubscribed": by_state.get(SupporterTally.State.UNSUBSCRIBED, 0),
        "suppressed": by_state.get(SupporterTally.State.SUPPRESSED, 0),
        "duplicate": duplicate,
    }


def _one_pass_by_state(contacts: QuerySet[Contact]) -> dict[str, int]:
    counted = (
        contacts.annotate(state=email_state(timezone.now()))
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if connection.vendor != "postgresql":
        return dict(counted)
    with transaction.atomic(), connection.cursor() as cursor:
        # The per-row consent and suppression checks make the planner's cost estimate
        # large enough to JIT-compile the query, which takes seconds; the query itself
        # takes milliseconds.
        cursor.execute("SET LOCAL jit = off")
        return dict(counted)


def _tally_by_state(*, user, filters: AudienceFilters) -> dict[str, int]:
    scope = scope_for(user)
    if scope.sees_nothing:
        return {}
    district_ids = set(filters.district_ids) if filters.district_ids else None
    if scope.district_ids is not None:
        district_ids = (
            set(scope.district_ids) if district_ids is None else district_ids & scope.district_ids
        )
    where = {
        "district_ids": district_ids,
        "include_no_district": district_ids is None,
        "roles": filters.roles,
        "gotv_statuses": filters.gotv_statuses,
    }
    if filters.tag_ids:
        rows = tag_tally_sum(tag_id=filters.tag_ids[0], **where)
    else:
        rows = tally_sum(**where)
    return dict(rows.values_list("state").annotate(total=Sum("n")))


def _duplicates(contacts: QuerySet[Contact]) -> int:
    """Consented contacts of the audience beyond the first at one address (hash): one
    message per address. Only hashes in SharedAddress can repeat, so only their
    holders are looked at (usually nobody)."""
    shared = list(SharedAddress.objects.values_list("address_hash", flat=True)[:_SHARED_IN_PYTHON])
    if not shared:
        return 0
    hashes = (
        shared if len(shared) < _SHARED_IN_PYTHON else SharedAddress.objects.values("address_hash")
    )
    twins = (
        contacts.filter(email_hash__in=hashes)
        .alias(state=email_state(timezone.now()))
        .filter(state=SupporterTally.State.MAILABLE)
        .aggregate(n=Count("pk"), addresses=Count("email_hash", distinct=True))
    )
    return twins["n"] - twins["addresses"]


def recipient_counts(*, mailing_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each drive's rows by status (every status present, zero if none), summed from
    the ledger PostgreSQL keeps (RecipientTally): a few lines a drive, however big."""
    ids = list(dict.fromkeys(mailing_ids))
    counts = {pk: dict.fromkeys(Recipient.Status.values, 0) for pk in ids}
    if not ids:
        return counts
    if connection.vendor == "postgresql":
        lines = (
            RecipientTally.objects.filter(mailing_id__in=ids)
            .order_by()
            .values_list("mailing_id", "status")
            .annotate(total=Sum("n"))
        )
    else:  # SQLite keeps no ledger (migration mailings 0009): its drives are small
        lines = (
            Recipient.objects.filter(mailing_id__in=ids)
            .order_by()
            .values_list("mailing_id", "status")
            .annotate(total=Count("pk"))
        )
    for mailing_id, status, total in lines:
        counts[mailing_id][status] = total
    return counts


def mailing_progress(*, mailing: Mailing) -> dict[str, int]:
    """Recipient rows by status (every status present, zero if none)."""
    return recipient_counts(mailing_ids=[mailing.pk])[mailing.pk]


def mailing_is_settled(*, mailing: Mailing) -> bool:
    if mailing.is_listing:
        return False
    return not Recipient.objects.filter(
        mailing=mailing, status__in=[Recipient.Status.QUEUED, Recipient.Status.SENDING]
    ).exists()


def mailing_unknown_figures(*, mailing: Mailing) -> dict[str, int]:
    """What is known about the rows whose send was unsure (the drive page and
    ``mailing_status`` show these three numbers):

    * ``proven_sent``: the ESP's own record (its event log, or an event it reported)
      proved it accepted the message; settled as sent;
    * ``proven_not_sent``: the ESP's event log proved it never accepted it: safe to send
      again;
    * ``still_unknown``: no proof either way yet (ask the ESP again later, or check).
    """
    Check = Recipient.EspCheck
    unknown = Q(status=Recipient.Status.UNKNOWN)
    return (
        Recipient.objects.filter(mailing=mailing)
        .filter(unknown | ~Q(esp_check=""))
        .aggregate(
            proven_sent=Count("pk", filter=Q(esp_check=Check.SENT)),
            proven_not_sent=Count("pk", filter=unknown & Q(esp_check=Check.NOT_SENT)),
            still_unknown=Count("pk", filter=unknown & ~Q(esp_check=Check.NOT_SENT)),
        )
    )


def review_page(*, mailing: Mailing, offset: int = 0, limit: int = 1000) -> dict:
    """One page of a drive's rows to review (unknown), with the total, so a reader
    always knows whether the list was cut and where the next page starts."""
    rows = Recipient.objects.filter(mailing=mailing, status=Recipient.Status.UNKNOWN)
    total = rows.count()
    offset, limit = max(0, offset), max(1, limit)
    page = [
        {"id": pk, "email": email, "reason": error, "esp_check": check or "unchecked"}
        for pk, email, error, check in rows.order_by("pk").values_list(
            "pk", "email", "error", "esp_check"
        )[offset : offset + limit]
    ]
    following = offset + len(page)
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "truncated": following < total,
        "next_offset": following if following < total else None,
        "rows": page,
    }


def recipients_for_review(*, user, mailing: Mailing | None = None) -> QuerySet[Recipient]:
    """Rows whose fate is unknown (a crash or a timeout mid-send): for a person to check."""
    rows = Recipient.objects.visible_to(user).filter(status=Recipient.Status.UNKNOWN)
    if mailing is not None:
        rows = rows.filter(mailing=mailing)
    return rows.select_related("mailing")


def preview_contact(*, mailing: Mailing, contact_id: int | None) -> Contact | None:
    """A contact of the audience to preview as (the first mailable one by default)."""
    contacts = audience_contacts(mailing=mailing).select_related("school", "district")
    if contact_id is not None:
        return get_object_or_404(contacts, pk=contact_id)
    return contacts.mailable().order_by("pk").first() or contacts.order_by("pk").first()


def recipient_for_event(
    *, recipient_id: object = None, message_id: str = "", email: str = ""
) -> Recipient | None:
    """The row a tracking event is about: by the row id carried in the message's
    metadata (``recipient_id``), else by the ESP message id and the address."""
    try:
        pk = int(str(recipient_id)) if recipient_id not in (None, "") else None
    except ValueError:
        pk = None
    if pk is not None:
        found = Recipient.objects.filter(pk=pk).first()
        if found is not None:
            return found
    if message_id and email:
        return Recipient.objects.filter(
            esp_message_id=message_id, email=email.strip().lower()
        ).first()
    return None
