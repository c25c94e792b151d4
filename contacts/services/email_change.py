"""Changes of a supporter's address that wait for an organiser.

A district lead who types an address already held by a supporter in another district
must not learn that the other record exists. So a lead's change of address is never
applied straight away: it waits as an ``EmailChange``, the lead is told "saved; an
organiser will confirm the new address" whatever the address, and an organiser (who
sees every district) applies it or, when another supporter holds it, resolves that.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.roles import Role, scope_for
from contacts.models import Contact, EmailChange
from contacts.normalise import normalise_email
from contacts.services.audit import audit_about_contact
from contacts.services.records import contact_save

PENDING_MESSAGE = "Saved; an organiser will confirm the new address."


def email_change_needs_organiser(user) -> bool:
    """Whether ``user``'s changes of address wait for an organiser."""
    return scope_for(user).role != Role.ORGANISER


@transaction.atomic
def email_change_request(*, contact: Contact, email: str, actor) -> EmailChange:
    """Keep ``email`` for an organiser to confirm (replacing an earlier request)."""
    email = normalise_email(email)
    contact.email_changes.filter(status=EmailChange.Status.PENDING).update(
        status=EmailChange.Status.SUPERSEDED, resolved_at=timezone.now()
    )
    change = EmailChange.objects.create(contact=contact, new_email=email, requested_by=actor)
    audit_about_contact(
        actor=actor,
        action=AuditEvent.Action.EMAIL_CHANGE,
        contact_id=contact.pk,
        detail={"change": change.pk, "state": "requested"},
    )
    return change


def _require_organiser(actor) -> None:
    if scope_for(actor).role != Role.ORGANISER:
        raise PermissionDenied("Only organisers confirm changes of address.")


def email_change_holder(*, change: EmailChange) -> Contact | None:
    """Another supporter already holding the requested address (organisers only)."""
    return (
        Contact.objects.filter(email__iexact=change.new_email).exclude(pk=change.contact_id).first()
    )


@transaction.atomic
def email_change_apply(*, change: EmailChange, actor) -> Contact:
    """Give the supporter the new address; ValidationError naming the other record when
    another supporter holds it (merge or correct that one first, or reject)."""
    _require_organiser(actor)
    change = EmailChange.objects.select_for_update().get(pk=change.pk)
    if change.status != EmailChange.Status.PENDING:
        raise ValidationError(f"This change is already {change.get_status_display().lower()}.")
    holder = email_change_holder(change=change)
    if holder is not None:
        raise ValidationError(
            f"Supporter {holder.pk} ({holder.full_name}, {holder.district or 'no district'}) "
            "already has this address: update or merge that record first, or reject the change."
        )
    contact = change.contact
    contact.email = change.new_email
    contact_save(contact=contact)
    change.status = EmailChange.Status.APPLIED
    change.resolved_by, change.resolved_at = actor, timezone.now()
    change.save(update_fields=["status", "resolved_by", "resolved_at"])
    audit_about_contact(
        actor=actor,
        action=AuditEvent.Action.EMAIL_CHANGE,
        contact_id=contact.pk,
        detail={"change": change.pk, "state": "applied"},
    )
    return contact


@transaction.atomic
def email_change_reject(*, change: EmailChange, actor, note: str = "") -> EmailChange:
    _require_organiser(actor)
    updated = EmailChange.objects.filter(pk=change.pk, status=EmailChange.Status.PENDING).update(
        status=EmailChange.Status.REJECTED,
        resolved_by=actor,
        resolved_at=timezone.now(),
        note=note[:300],
    )
    if updated:
        audit_about_contact(
            actor=actor,
            action=AuditEvent.Action.EMAIL_CHANGE,
            contact_id=change.contact_id,
            detail={"change": change.pk, "state": "rejected"},
        )
    change.refresh_from_db()
    return change
