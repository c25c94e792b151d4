"""Subject access (UK GDPR art. 15): a copy of everything held on one supporter, as
JSON and as a readable PDF. Organisers only; every copy made is audited."""

from __future__ import annotations

import json
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format

from campaign.models import AuditEvent
from campaign.roles import Role, scope_for
from contacts.models import Contact
from contacts.selectors import subject_access_data
from contacts.services.audit import audit_about_contact

FORMATS = ("json", "pdf")


def subject_access_allowed(user) -> bool:
    return scope_for(user).role == Role.ORGANISER


_TIMES = {"at", "given_at", "withdrawn_at", "sent_at", "added", "last_changed", "requested_at"}


def _readable(value, key: str = ""):
    """ISO times as "1 Dec 2026, 09:41" (local time) for the printed copy."""
    if isinstance(value, dict):
        return {k: _readable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v, key) for v in value]
    if key in _TIMES and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return date_format(timezone.localtime(moment), "j M Y, H:i")
    return value


def _pdf(data: dict) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    class _NoFetch(URLFetcher):
        # The copy is self-contained: nothing in it (a supporter's notes included) may
        # make WeasyPrint load a file or a URL.
        def fetch(self, url, headers=None):
            raise ValueError(f"Subject access copies load nothing ({url[:60]!r}).")

    html = render_to_string(
        "contacts/subject_access.html", {"data": _readable(data), "made_at": timezone.now()}
    )
    # The stylesheet is handed over as a file, not fetched: the page itself loads nothing.
    style = CSS(filename=finders.find("campaign/subject-access.css"))
    return HTML(string=html, url_fetcher=_NoFetch(timeout=1)).write_pdf(stylesheets=[style])


def subject_access_export(*, actor, contact: Contact, fmt: str, via: str = "admin") -> bytes:
    """The supporter's data as ``fmt`` (json or pdf); audited, organisers only
    (``actor`` None: a command run by the operator)."""
    if actor is not None and not subject_access_allowed(actor):
        raise PermissionDenied("Only organisers may make a subject access copy.")
    if fmt not in FORMATS:
        raise ValueError(f"Format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    data = subject_access_data(contact=contact)
    if fmt == "json":
        body = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    else:
        body = _pdf(data)
    audit_about_contact(
        actor=actor,
        action=AuditEvent.Action.SUBJECT_ACCESS,
        contact_id=contact.pk,
        counts={key: len(value) for key, value in data.items() if isinstance(value, list)},
        detail={"format": fmt, "via": via},
    )
    return body
