"""Consent to email (PECR): given, and withdrawn at once and for good."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.services import audit_record
from contacts.aggregates import tally_tracking
from contacts.models import ConsentRecord, Contact, Suppression
from contacts.services.suppression import suppression_add_many

# Why consent was withdrawn -> why the address is suppressed for good.
SUPPRESS_AS = {
    ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK: Suppression.Reason.UNSUBSCRIBED,
    ConsentRecord.WithdrawnHow.ONE_CLICK: Suppression.Reason.UNSUBSCRIBED,
    ConsentRecord.WithdrawnHow.REQUEST: Suppression.Reason.UNSUBSCRIBED,
    ConsentRecord.WithdrawnHow.HARD_BOUNCE: Suppression.Reason.HARD_BOUNCE,
    ConsentRecord.WithdrawnHow.SOFT_BOUNCES: Suppression.Reason.SOFT_BOUNCES,
    ConsentRecord.WithdrawnHow.COMPLAINT: Suppression.Reason.COMPLAINT,
    ConsentRecord.WithdrawnHow.ERASURE: Suppression.Reason.ERASED,
}


def consent_give(
    *,
    contact: Contact,
    given_at: datetime,
    source: str,
    wording: str,
    method: ConsentRecord.Method | str,
    version: str = "",
) -> ConsentRecord:
    return ConsentRecord.objects.create(
        contact=contact,
        channel=ConsentRecord.Channel.EMAIL,
        given_at=given_at,
        source=source,
        wording=wording,
        version=version,
        method=method,
    )


@transaction.atomic
def consent_withdraw(
    *,
    contacts,
    how: ConsentRecord.WithdrawnHow | str,
    actor=None,
    at: datetime | None = None,
    source: str = "",
) -> int:
    """Withdraw every current email consent of ``contacts`` at once and suppress their
    addresses, so no later import or drive reaches them. Returns how many records."""
    at = at or timezone.now()
    how = ConsentRecord.WithdrawnHow(how)
    contact_ids = (
        list(contacts.values_list("pk", flat=True))
        if hasattr(contacts, "values_list")
        else [c.pk for c in contacts]
    )
    with tally_tracking(contact_ids=contact_ids):
        emails = Contact.objects.filter(pk__in=contact_ids).values_list("email", flat=True)
        suppression_add_many(
            emails=list(emails), reason=SUPPRESS_AS[how], source=source or how.label
        )
        withdrawn = ConsentRecord.objects.filter(
            contact_id__in=contact_ids,
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
        ).update(withdrawn_at=at, withdrawn_how=how)
    if withdrawn:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CONSENT_WITHDRAW,
            counts={"consent_records": withdrawn},
            detail={"how": str(how)},
        )
    return withdrawn
