"""Organisers' second factor: TOTP devices (django-otp) and their QR codes."""

from __future__ import annotations

import segno
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaign.models import AuditEvent

DEVICE_NAME = "Authenticator app"


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def otp_device_pending(*, user) -> TOTPDevice:
    """The unconfirmed device being enrolled (one per user; kept across page loads so the
    QR code scanned stays the one verified)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def otp_qr_data_uri(device: TOTPDevice) -> str:
    # A data: image, allowed by the CSP's img-src; the secret never leaves this page.
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def otp_secret_text(device: TOTPDevice) -> str:
    """The base32 secret, in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean_token(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())


@transaction.atomic
def otp_device_confirm(*, request, device: TOTPDevice, token: str) -> bool:
    """Confirm an enrolment with a first code from the app; the session is verified."""
    from campaign.services import audit_record

    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    allowed, _ = device.verify_is_allowed()
    if not allowed or not device.verify_token(_clean_token(token)):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One authenticator per account: enrolling again replaces the old one.
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.SECOND_FACTOR,
        target=device.user,
        detail={"enrolled": DEVICE_NAME},
    )
    return True


@transaction.atomic
def otp_session_verify(*, request, token: str) -> tuple[bool, str]:
    """Check a code against the user's confirmed device; (ok, message when refused)."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=request.user, confirmed=True)
        .order_by("pk")
        .first()
    )
    if device is None:
        return False, "You have no authenticator app set up."
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False, "Too many wrong codes: wait a minute, then try the newest code."
    if not device.verify_token(_clean_token(token)):
        return False, "That code is not right. Enter the 6-digit code your app shows now."
    otp_login(request, device)
    return True, ""
