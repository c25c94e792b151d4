"""Helpers shared by the drive commands."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from mailings.models import Mailing


def user_named(username: str | None):
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}; give an existing username to --as.")
        return user
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if user is None:
        raise CommandError("No superuser to act as; pass --as USERNAME.")
    return user


def mailing_by_id(pk: int, *, user=None) -> Mailing:
    """The drive, as ``user`` may see it; with no user (a shell on the server) any drive."""
    drives = Mailing.objects.all() if user is None else Mailing.objects.visible_to(user)
    mailing = drives.filter(pk=pk).first()
    if mailing is None:
        who = f" that {user.get_username()} may see" if user is not None else ""
        raise CommandError(f"No drive {pk}{who}.")
    return mailing


def validation_text(exc) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(getattr(exc, "messages", [str(exc)]))
