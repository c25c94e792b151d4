"""Inviting a teammate: one form gives them an account, a role and districts, and
emails them a link to set their own password. The link works once, for
settings.INVITATION_VALID_DAYS; only a hash of it is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from campaign.links import absolute_url
from campaign.models import AuditEvent, Campaign, Invitation
from campaign.roles import Role, can
from campaign.services import audit_record, team_member_set

User = get_user_model()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return absolute_url(reverse("invitation-accept", args=[token]))


@transaction.atomic
def invitation_send(
    *,
    actor,
    email: str,
    role: Role | str,
    districts: Iterable[models.Model] = (),
    all_districts: bool = False,
) -> Invitation:
    """Invite ``email`` to the team with ``role``: the account (without a password),
    the role and districts, and an email with a single-use link to set a password.
    Inviting someone already invited but not yet signed up sends a fresh link and
    retires the old one. Raises ValidationError (by field) when the invitation cannot
    be made; nothing is then written or sent."""
    if not can(actor, "change", "campaign.teammember"):
        raise PermissionDenied("Only organisers can invite teammates.")
    email = email.strip().lower()
    user = (
        User.objects.annotate(email_lower=Lower("email"))
        .filter(models.Q(email_lower=email) | models.Q(username__iexact=email))
        .first()
    )
    if user is not None and (user.has_usable_password() or user.last_login is not None):
        raise ValidationError(
            {"email": f"{email} already has an account: change their role in the team list."}
        )
    if user is None:
        user = User(username=email[:150], email=email)
        user.set_unusable_password()
        user.save()
    districts = list(districts)
    team_member_set(
        actor=actor, user=user, role=role, districts=districts, all_districts=all_districts
    )
    now = timezone.now()
    Invitation.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        email=email,
        token_hash=_hash(token),
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    _email(invitation=invitation, token=token, actor=actor, role=Role(role))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.INVITATION_SEND,
        target=user,
        detail={
            "email": email,
            "role": str(Role(role)),
            "districts": sorted(d.name for d in districts),
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation


def _email(*, invitation: Invitation, token: str, actor, role: Role) -> None:
    campaign = Campaign.objects.filter(is_active=True).first()
    context = {
        "campaign": campaign,
        "invited_by": actor.get_username(),
        "role": role.label,
        "url": invitation_url(token),
        "expires_at": invitation.expires_at,
        "username": invitation.user.get_username(),
    }
    send_mail(
        subject=render_to_string("campaign/invitation_subject.txt", context).strip(),
        message=render_to_string("campaign/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


def invitation_find(*, token: str) -> Invitation | None:
    """The invitation a link carries, usable or not (the page says which)."""
    return Invitation.objects.select_related("user").filter(token_hash=_hash(token)).first()


def invitation_problem(invitation: Invitation | None, at=None) -> str:
    """Why a link cannot be used, in words; "" when it can."""
    at = at or timezone.now()
    if invitation is None:
        return "This invitation link is not valid. Check you copied the whole link."
    if invitation.used_at is not None:
        return "This invitation link has already been used. Sign in with the password you set."
    if invitation.revoked_at is not None:
        return "A newer invitation replaced this one: use the link in the latest email."
    if at >= invitation.expires_at:
        return "This invitation link has expired. Ask an organiser to invite you again."
    return ""


@transaction.atomic
def invitation_accept(*, token: str, password: str):
    """Set the invited teammate's password, once; returns their user. The password
    is checked by the form (Django's validators) before this is called."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=_hash(token)).first()
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    user = invitation.user
    user.set_password(password)
    user.is_active = True
    user.save()
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    audit_record(
        actor=user,
        action=AuditEvent.Action.INVITATION_ACCEPT,
        target=user,
        detail={
            "invited_by": invitation.invited_by.get_username() if invitation.invited_by else ""
        },
    )
    return user
