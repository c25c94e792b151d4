"""Reads for email drives: audiences, progress, rows to review. Always scoped."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts.models import ConsentRecord, Contact, Suppression
from mailings.models import Mailing, Recipient

EXCLUSION_REASONS = {
    "no_consent": "No current consent",
    "unsubscribed": "Unsubscribed",
    "suppressed": "Suppressed (bounce or complaint)",
    "duplicate": "Duplicate address",
}


def mailing_get(*, user, pk: int) -> Mailing:
    return get_object_or_404(Mailing.objects.visible_to(user), pk=pk)


def audience_contacts(*, mailing: Mailing) -> QuerySet[Contact]:
    """Everyone the drive's filters match, never outside what its sender may see."""
    contacts = Contact.objects.visible_to(mailing.created_by).order_by()
    if mailing.pk is None:
        return contacts.none()
    district_ids = list(mailing.districts.values_list("pk", flat=True))
    school_ids = list(mailing.schools.values_list("pk", flat=True))
    tag_ids = list(mailing.tags.values_list("pk", flat=True))
    if district_ids:
        contacts = contacts.filter(district_id__in=district_ids)
    if school_ids:
        contacts = contacts.filter(school_id__in=school_ids)
    if tag_ids:
        tagged = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag_id__in=tag_ids)
        contacts = contacts.filter(Exists(tagged))
    if mailing.roles:
        contacts = contacts.filter(role__in=mailing.roles)
    if mailing.gotv_statuses:
        contacts = contacts.filter(gotv_status__in=mailing.gotv_statuses)
    return contacts


def audience_breakdown(*, mailing: Mailing) -> dict[str, int]:
    """Live audience count and why the rest are left out, in one query.

    Each excluded contact is counted once, under the first reason that applies:
    unsubscribed, suppressed, no current consent, duplicate address.
    """
    now = timezone.now()
    reason = Subquery(
        Suppression.objects.filter(address_hash=OuterRef("email_hash")).values("reason")[:1]
    )
    consent = Exists(
        ConsentRecord.objects.filter(
            contact=OuterRef("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=now,
        )
    )
    unsubscribed = Q(suppressed_as=Suppression.Reason.UNSUBSCRIBED)
    eligible = Q(suppressed_as__isnull=True, consented=True)
    counts = (
        audience_contacts(mailing=mailing)
        .annotate(suppressed_as=reason, consented=consent)
        .aggregate(
            matched=Count("pk"),
            unsubscribed=Count("pk", filter=unsubscribed),
            suppressed=Count("pk", filter=Q(suppressed_as__isnull=False) & ~unsubscribed),
            no_consent=Count("pk", filter=Q(suppressed_as__isnull=True, consented=False)),
            eligible=Count("pk", filter=eligible),
            hashed=Count("email_hash", filter=eligible & ~Q(email_hash=""), distinct=True),
            unhashed=Count("pk", filter=eligible & Q(email_hash="")),
        )
    )
    # Contacts sharing one normalised address (one hash) get one message; a contact
    # without a hash counts on its own (addresses are unique per contact anyway).
    counts["addresses"] = counts["hashed"] + counts["unhashed"]
    return {
        "matched": counts["matched"],
        "mailable": counts["addresses"],
        "no_consent": counts["no_consent"],
        "unsubscribed": counts["unsubscribed"],
        "suppressed": counts["suppressed"],
        "duplicate": counts["eligible"] - counts["addresses"],
    }


def mailing_progress(*, mailing: Mailing) -> dict[str, int]:
    """Recipient rows by status (every status present, zero if none)."""
    counts = dict.fromkeys(Recipient.Status.values, 0)
    rows = (
        Recipient.objects.filter(mailing=mailing)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts.update(dict(rows))
    return counts


def mailing_is_settled(*, mailing: Mailing) -> bool:
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
