"""Receivers: every change to an account's password, staff, superuser or active flag
lands in the audit trail, whoever makes it and however (admin forms, the app, a
management command); and only a superuser may change a superuser's account."""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from campaign.models import AuditEvent

User = get_user_model()

# Who is acting in this request (set by AuditActorMiddleware); None outside requests,
# where the trail records "system" (a management command, the shell).
current_actor: ContextVar = ContextVar("turnout_current_actor", default=None)

SIGNED_IN_AT = "turnout_signed_in_at"
LAST_SEEN_AT = "turnout_last_seen_at"
FLAGS = ("is_staff", "is_superuser", "is_active")
_WATCHED = {"password", *FLAGS}


def _actor():
    actor = current_actor.get()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


@receiver(user_logged_in)
def _record_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now


@receiver(pre_save, sender=User)
def _note_account_changes(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if update_fields is not None and not (_WATCHED & set(update_fields)):
        return
    before = None
    if instance.pk is not None:
        before = User.objects.filter(pk=instance.pk).values("password", "username", *FLAGS).first()
    changes: dict[str, dict[str, bool]] = {}
    if before is not None:
        for flag in FLAGS:
            if before[flag] != getattr(instance, flag):
                changes[flag] = {"before": before[flag], "after": getattr(instance, flag)}
    # set_password() leaves the raw password on the instance until saved; a hash that
    # changes without it is Django upgrading the hasher at sign-in, not a new password.
    password_set = getattr(instance, "_password", None) is not None
    password_removed = (
        before is not None
        and before["password"] != instance.password
        and not instance.has_usable_password()
    )
    if before is not None and (password_set or password_removed):
        changes["password"] = {"set": password_set, "unusable": password_removed}
    actor = _actor()
    touches_superuser = instance.is_superuser or (before is not None and before["is_superuser"])
    if changes and actor is not None and touches_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can change a superuser's account.")
    instance._turnout_account_changes = (before is None, changes)


@receiver(post_save, sender=User)
def _audit_account_changes(sender, instance, created=False, raw=False, **kwargs):
    if raw:
        return
    noted = instance.__dict__.pop("_turnout_account_changes", None)
    if noted is None:
        return
    new, changes = noted
    from campaign.services import audit_record

    actor = _actor()
    if new and (actor is not None or instance.is_superuser):
        # An account created by someone in the app or admin, or any superuser (a
        # createsuperuser at the shell too). Factories and fixtures create neither.
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ACCOUNT_CHANGE,
            target=instance,
            detail={"created": True, **{flag: getattr(instance, flag) for flag in FLAGS}},
        )
    elif not new and changes:
        # Never the password or its hash: only that it changed.
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ACCOUNT_CHANGE,
            target=instance,
            detail={"changed": sorted(changes), **changes},
        )


def _audit_permission_change(field: str):
    def receiver_(sender, instance, action, pk_set, reverse=False, **kwargs):
        if action not in ("post_add", "post_remove", "post_clear") or reverse:
            return
        if action != "post_clear" and not pk_set:
            return
        actor = _actor()
        if actor is not None and instance.is_superuser and not actor.is_superuser:
            raise PermissionDenied("Only a superuser can change a superuser's account.")
        from campaign.services import audit_record

        audit_record(
            actor=actor,
            action=AuditEvent.Action.ACCOUNT_CHANGE,
            target=instance,
            detail={"changed": [field], field: {action[5:]: sorted(pk_set or [])}},
        )

    return receiver_


_groups_changed = _audit_permission_change("groups")
_permissions_changed = _audit_permission_change("user_permissions")
m2m_changed.connect(_groups_changed, sender=User.groups.through, weak=False)
m2m_changed.connect(_permissions_changed, sender=User.user_permissions.through, weak=False)
