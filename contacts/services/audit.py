"""Audit entries about one supporter that never hold their personal data.

The trail is append-only and outlives an erasure, so an entry names the supporter by
id only ("Supporter 123"), never by name or address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaign.models import AuditEvent

CONTACT_TARGET = "contacts.contact"


def contact_label(contact_id: int) -> str:
    return f"Supporter {contact_id}"


def audit_about_contact(
    *,
    actor,
    action: AuditEvent.Action | str,
    contact_id: int,
    counts: Mapping[str, int] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        target_type=CONTACT_TARGET,
        target_id=str(contact_id),
        target_label=contact_label(contact_id),
        counts=dict(counts or {}),
        detail=dict(detail or {}),
    )
