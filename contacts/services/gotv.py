"""Get-out-the-vote status, with its history."""

from __future__ import annotations

from django.db import transaction

from contacts.models import Contact, GotvEvent


@transaction.atomic
def gotv_set(
    *, contact: Contact, status: Contact.Gotv | str, method: GotvEvent.Method | str, actor=None
) -> bool:
    """Set a contact's GOTV status and record who, when and how. Idempotent: setting
    the status it already has records nothing and returns False."""
    locked = Contact.objects.select_for_update().only("pk", "gotv_status").get(pk=contact.pk)
    if locked.gotv_status == status:
        return False
    GotvEvent.objects.create(
        contact_id=contact.pk,
        status=status,
        previous_status=locked.gotv_status,
        method=method,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    Contact.objects.filter(pk=contact.pk).update(gotv_status=status)
    contact.gotv_status = status
    return True
