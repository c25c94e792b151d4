"""The address a request came from, as django-axes counts sign-in failures by it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """Behind the TLS proxy (``BEHIND_TLS_PROXY``) every request comes from the proxy,
    so the client is the last address the proxy appended to X-Forwarded-For. Earlier
    entries are whatever the client sent and could be forged to dodge a lockout."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")
