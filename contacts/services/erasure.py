"""Erasure (UK GDPR art. 17): a supporter's personal data removed for good.

What goes: the contact row with its consent records, GOTV history, pending address
changes and import undo data; the address, its keyed hash, the ESP message id and any
ESP wording on every drive row (``Recipient``) and delivery event that was theirs; the
rejected rows of import reports that held the address.

What stays: a keyed-hash suppression (``consent_withdraw(how=ERASURE)``), so no drive
ever mails the address again and a later import reports it as suppressed instead of
re-adding the person; each drive's rows and events as anonymous counts (statuses,
types, times), so drive statistics do not change; and an audit entry naming the
supporter only by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import CharField, Q, TextField, Value
from django.db.models.functions import Cast, Concat

from campaign.models import AuditEvent
from campaign.roles import Role, scope_for
from contacts.models import ConsentRecord, Contact, ImportBatch
from contacts.services.audit import audit_about_contact
from contacts.services.consent import consent_withdraw
from contacts.suppression import address_hash

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"


@dataclass(frozen=True)
class Erased:
    contact_id: int
    recipients: int
    events: int
    import_reports: int


def erasure_allowed(user) -> bool:
    return scope_for(user).role == Role.ORGANISER


def erased_address(recipient_id: int) -> str:
    """A placeholder unique per row (a drive holds each address once)."""
    return f"erased-{recipient_id}@{ERASED_DOMAIN}"


def recipients_anonymise(*, recipients) -> tuple[int, int]:
    """Strip the address from drive rows and their events; (rows, events) changed."""
    from mailings.models import DeliveryEvent, Recipient

    ids = list(recipients.values_list("pk", flat=True))
    events = 0
    changed = 0
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        hashes = set(
            Recipient.objects.filter(pk__in=chunk)
            .exclude(email_hash="")
            .values_list("email_hash", flat=True)
        )
        changed += Recipient.objects.filter(pk__in=chunk).update(
            email=Concat(Value("erased-"), Cast("pk", CharField()), Value(f"@{ERASED_DOMAIN}")),
            email_hash="",
            contact=None,
            esp_message_id="",
            error="",
        )
        mine = Q(recipient_id__in=chunk)
        if hashes:
            mine |= Q(address_hash__in=hashes)
        events += DeliveryEvent.objects.filter(mine).update(
            address_hash="", message_id="", description=""
        )
    return changed, events


def _scrub(value, email: str):
    """``value`` with every row (list) or problem (dict) mentioning ``email`` erased."""
    if isinstance(value, str):
        return ERASED if email in value.lower() else value
    if isinstance(value, list):
        if any(isinstance(v, str) and email in v.lower() for v in value):
            return [ERASED if isinstance(v, str) else v for v in value]
        return [_scrub(v, email) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, email) for k, v in value.items()}
    return value


def import_reports_scrub(*, email: str) -> int:
    """Erase an address's rows from stored import reports; returns reports changed."""
    email = email.strip().lower()
    if not email:
        return 0
    changed = 0
    batches = ImportBatch.objects.annotate(text=Cast("report", TextField())).filter(
        text__icontains=email
    )
    for batch in batches.only("pk", "report"):
        scrubbed = _scrub(batch.report, email)
        if scrubbed != batch.report:
            ImportBatch.objects.filter(pk=batch.pk).update(report=scrubbed)
            changed += 1
    return changed


@transaction.atomic
def contact_erase(*, contact: Contact, actor, why: str = "request", check: bool = True) -> Erased:
    """Erase one supporter (organisers only, unless ``check`` is off for commands)."""
    from mailings.models import Recipient

    if check and not erasure_allowed(actor):
        raise PermissionDenied("Only organisers may erase a supporter.")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    contact_id, email = contact.pk, contact.email
    # Suppress first: the keyed hash is what remembers "never again" after this.
    consent_withdraw(
        contacts=[contact],
        how=ConsentRecord.WithdrawnHow.ERASURE,
        actor=actor,
        source="Erased on request" if why == "request" else "Erased (retention)",
    )
    hashes = {address_hash(email)} | ({contact.email_hash} - {""})
    recipients = Recipient.objects.filter(Q(contact_id=contact_id) | Q(email_hash__in=hashes))
    if email:
        recipients = recipients | Recipient.objects.filter(email__iexact=email)
    rows, events = recipients_anonymise(recipients=recipients)
    reports = import_reports_scrub(email=email)
    contact.delete()
    audit_about_contact(
        actor=actor,
        action=AuditEvent.Action.ERASURE,
        contact_id=contact_id,
        counts={"recipients": rows, "delivery_events": events, "import_reports": reports},
        detail={"why": why},
    )
    return Erased(contact_id=contact_id, recipients=rows, events=events, import_reports=reports)


def contacts_erase(*, contacts: Iterable[Contact], actor, why: str = "request") -> list[Erased]:
    return [contact_erase(contact=contact, actor=actor, why=why) for contact in contacts]


def contacts_erase_bulk(*, contact_ids: list[int], actor, why: str) -> dict[str, int]:
    """Erase many supporters in chunks (retention): the same result as contact_erase
    for each, with one audit entry for the lot (written by the caller)."""
    from mailings.models import Recipient

    totals = {"supporters": 0, "recipients": 0, "delivery_events": 0}
    for start in range(0, len(contact_ids), 2000):
        chunk = contact_ids[start : start + 2000]
        with transaction.atomic():
            contacts = Contact.objects.filter(pk__in=chunk)
            consent_withdraw(
                contacts=contacts,
                how=ConsentRecord.WithdrawnHow.ERASURE,
                actor=actor,
                source="Erased (retention)",
            )
            # By contact only (indexed): retention then anonymises every row of the
            # finished campaign's drives, whoever they belonged to.
            rows, events = recipients_anonymise(
                recipients=Recipient.objects.filter(contact_id__in=chunk)
            )
            totals["recipients"] += rows
            totals["delivery_events"] += events
            totals["supporters"] += contacts.delete()[1].get("contacts.Contact", 0)
    return totals
