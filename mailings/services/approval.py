"""Asking for, and answering, an organiser's approval of a big drive.

The request tells every organiser at once (email, and the dashboard's approval queue
reads the drive's status); an organiser approves (``mailing_approve``) or sends it
back to its author with a comment. Every step is in the audit trail."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from campaign.links import absolute_url
from campaign.models import AuditEvent
from campaign.roles import Role, scope_for
from campaign.selectors import organiser_emails
from campaign.services import audit_record
from mailings.models import Mailing

logger = logging.getLogger(__name__)

Status = Mailing.Status


def _tell(subject: str, body: str, to: list[str]) -> None:
    # The drive's state stands whether or not the notice goes out; the dashboard shows it.
    try:
        send_mail(subject, body, None, to)
    except Exception:  # noqa: BLE001
        logger.exception("Could not email a drive approval notice")


def mailing_approval_requested(*, actor, mailing: Mailing, size: int) -> None:
    """Record that ``actor`` asked for approval of ``mailing`` (already awaiting
    approval, inside the caller's transaction) and tell every organiser by email."""
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_APPROVAL_REQUEST,
        target=mailing,
        counts={"audience": size},
    )
    to = sorted(set(organiser_emails()) - {getattr(actor, "email", "")})
    if not to:
        return
    who = actor.get_username() if actor is not None else "A scheduled drive"
    subject = f"Approval needed: {mailing.name}"[:150]
    body = (
        f"{who} asks you to approve the drive “{mailing.name}” to {size:,} supporters.\n\n"
        f"Subject: {mailing.subject}\n\n"
        f"Review it, then approve it or send it back with a comment:\n"
        f"{absolute_url(reverse('drive-detail', args=[mailing.pk]))}\n"
    )
    transaction.on_commit(lambda: _tell(subject, body, to))


@transaction.atomic
def mailing_send_back(*, actor, mailing: Mailing, comment: str) -> Mailing:
    """An organiser returns a drive awaiting approval to its author as a draft, saying
    what to change; the author is told by email and sees the comment on the drive."""
    if scope_for(actor).role != Role.ORGANISER:
        raise PermissionDenied("Only organisers can send a drive back.")
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": "Say what needs to change before it can go."})
    locked = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if locked.status != Status.AWAITING_APPROVAL:
        raise ValidationError("The drive is not awaiting approval.")
    locked.status = Status.DRAFT
    locked.status_reason = f"Sent back by {actor.get_username()}: {comment}"[:300]
    locked.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_SEND_BACK,
        target=locked,
        detail={"comment": comment[:1000]},
    )
    author = locked.created_by
    if author.email and author != actor:
        subject = f"Drive sent back: {locked.name}"[:150]
        body = (
            f"{actor.get_username()} sent back your drive “{locked.name}”:\n\n{comment}\n\n"
            f"Change it and ask again:\n"
            f"{absolute_url(reverse('drive-detail', args=[locked.pk]))}\n"
        )
        transaction.on_commit(lambda: _tell(subject, body, [author.email]))
    return locked
