"""Reconciliation: ask the ESP's own record which "unknown" rows it accepted.

A row is unknown when its ESP call may or may not have been accepted (a consumer
killed mid-call, a read timeout, a dropped connection). Delivery webhooks settle some
of them later; this settles the rest without guessing, by reading the ESP's log for
the time window of the row's call:

* **Mailgun** - the events API (``GET /v3/<domain>/events``): "accepted" events in
  the call's window, filtered by the drive's tag (or by recipient for a small call),
  matched on the recipient row id carried in the message's user variables and the
  address. Found: proven sent. Not found, once the window is older than
  ``MAILING_RECONCILE_LAG_SECONDS`` (the log may lag the present): proven not sent.
* **Postmark** - the outbound message search (``GET /messages/outbound``) by
  recipient, tag and date window, matched on the row id in the message metadata.
* **Amazon SES** keeps no searchable log of sent messages (only what its event
  publishing pushed at the time), **Brevo** and the embedded **outbox** are not
  supported: their unknown rows stay unknown for a person to check.

Proven-sent rows become "sent". Proven-not-sent rows stay unknown with
``esp_check="not_sent"``: "Send again" (``mailing_send_again``) then sends them, and
the pre-send check against delivery events still guards each one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection
from django.utils import timezone

from campaign.roles import Role, scope_for
from mailings.models import Mailing, Recipient
from mailings.services.messages import METADATA_RECIPIENT_ID

logger = logging.getLogger(__name__)

# Seconds either side of a call's claim that its acceptance may be stamped with (clock
# skew between us and the ESP, and an ESP that accepts after our client gave up).
WINDOW_MARGIN = 120
# A call of at most this many rows is looked up recipient by recipient.
BY_RECIPIENT_MAX = 3
MAX_PAGES = 2000


class ReconcileError(Exception):
    """The ESP could not be asked (network, credentials); nothing was changed."""


@dataclass(frozen=True)
class UnsureRow:
    pk: int
    email: str


@dataclass(frozen=True)
class Window:
    begin: datetime
    end: datetime
    over: datetime  # when the call was over on our side

    def complete(self, now: datetime) -> bool:
        """Whether the ESP's log can be trusted to show this call by now."""
        return self.over + timedelta(seconds=settings.MAILING_RECONCILE_LAG_SECONDS) <= now


@dataclass
class ReconcileResult:
    esp: str
    supported: bool
    checked: int = 0
    proven_sent: int = 0
    proven_not_sent: int = 0
    still_unknown: int = 0
    # Rows whose call is too recent for the ESP's log to be complete: ask again later.
    too_recent: int = 0
    note: str = ""
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "esp": self.esp,
            "supported": self.supported,
            "checked": self.checked,
            "proven_sent": self.proven_sent,
            "proven_not_sent": self.proven_not_sent,
            "still_unknown": self.still_unknown,
            "too_recent": self.too_recent,
            "note": self.note,
            "errors": self.errors,
        }


class EspLog:
    """One ESP's record of accepted messages. ``accepted`` returns {row id: message id}
    for the rows the ESP shows it accepted in the window; it must list everything or
    raise ReconcileError (a partial listing would wrongly prove rows not sent)."""

    name = ""

    def accepted(
        self, *, mailing: Mailing, rows: list[UnsureRow], window: Window
    ) -> dict[int, str]:
        raise NotImplementedError


def _match(rows: list[UnsureRow], recipient: str, row_id: object) -> int | None:
    """The row an ESP record is about: its row id and its address must both agree."""
    by_id = {row.pk: row for row in rows}
    try:
        pk = int(str(row_id))
    except (TypeError, ValueError):
        return None
    row = by_id.get(pk)
    if row is None or row.email.strip().lower() != (recipient or "").strip().lower():
        return None
    return pk


class MailgunLog(EspLog):
    name = "Mailgun"

    def __init__(self, backend):
        self.api_url = backend.api_url.rstrip("/")
        self.api_key = backend.api_key
        self.sender_domain = backend.sender_domain
        self.session = requests.Session()
        self.session.auth = ("api", self.api_key)

    def _domain(self, mailing: Mailing) -> str:
        if self.sender_domain:
            return self.sender_domain
        # As Anymail does: the domain of the drive's From address.
        address = (mailing.from_email or settings.DEFAULT_FROM_EMAIL).rsplit("<", 1)[-1]
        return address.rstrip(">").rsplit("@", 1)[-1]

    def _get(self, url: str, params: dict | None) -> dict:
        try:
            response = self.session.get(url, params=params, timeout=settings.ESP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise ReconcileError(
                f"Mailgun's events API did not answer ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ReconcileError(f"Mailgun's events API answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise ReconcileError(
                "Mailgun's events API answered something other than JSON"
            ) from None

    def _events(self, domain: str, params: dict):
        url, query = f"{self.api_url}/{domain}/events", params
        for _ in range(MAX_PAGES):
            page = self._get(url, query)
            items = page.get("items") or []
            if not items:
                return
            yield from items
            url, query = (page.get("paging") or {}).get("next"), None
            if not url:
                raise ReconcileError("Mailgun's events API gave no next page")
        raise ReconcileError(f"More than {MAX_PAGES} pages of events in one call's window")

    def accepted(
        self, *, mailing: Mailing, rows: list[UnsureRow], window: Window
    ) -> dict[int, str]:
        domain = self._domain(mailing)
        base = {
            "begin": f"{window.begin.timestamp():.3f}",
            "end": f"{window.end.timestamp():.3f}",
            "ascending": "yes",
            "limit": "300",
            "event": "accepted",
        }
        queries = (
            [{**base, "recipient": row.email} for row in rows]
            if len(rows) <= BY_RECIPIENT_MAX
            else [{**base, "tags": f"drive-{mailing.pk}"}]
        )
        found: dict[int, str] = {}
        for query in queries:
            for event in self._events(domain, query):
                variables = event.get("user-variables") or {}
                pk = _match(rows, event.get("recipient", ""), variables.get(METADATA_RECIPIENT_ID))
                if pk is not None and str(variables.get("mailing_id", mailing.pk)) == str(
                    mailing.pk
                ):
                    headers = (event.get("message") or {}).get("headers") or {}
                    message_id = headers.get("message-id", "")
                    found[pk] = f"<{message_id}>" if message_id else ""
        return found


class PostmarkLog(EspLog):
    name = "Postmark"
    # Postmark's API reads and writes dates in US Eastern time.
    ZONE = ZoneInfo("America/New_York")
    PAGE = 500

    def __init__(self, backend):
        self.api_url = backend.api_url.rstrip("/")
        self.token = backend.server_token

    def _get(self, params: dict) -> dict:
        try:
            response = requests.get(
                f"{self.api_url}/messages/outbound",
                params=params,
                headers={"Accept": "application/json", "X-Postmark-Server-Token": self.token},
                timeout=settings.ESP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise ReconcileError(
                f"Postmark's message search did not answer ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ReconcileError(f"Postmark's message search answered HTTP {response.status_code}")
        return response.json()

    def accepted(
        self, *, mailing: Mailing, rows: list[UnsureRow], window: Window
    ) -> dict[int, str]:
        found: dict[int, str] = {}
        fmt = "%Y-%m-%dT%H:%M:%S"
        for row in rows:
            offset = 0
            while True:
                page = self._get(
                    {
                        "recipient": row.email,
                        "tag": f"drive-{mailing.pk}",
                        "fromdate": window.begin.astimezone(self.ZONE).strftime(fmt),
                        "todate": window.end.astimezone(self.ZONE).strftime(fmt),
                        "count": self.PAGE,
                        "offset": offset,
                    }
                )
                messages = page.get("Messages") or []
                for message in messages:
                    metadata = message.get("Metadata") or {}
                    recipients = [r for r in message.get("Recipients") or []] or [
                        to.get("Email", "") for to in message.get("To") or []
                    ]
                    for recipient in recipients:
                        pk = _match(rows, recipient, metadata.get(METADATA_RECIPIENT_ID))
                        if pk is not None:
                            found[pk] = message.get("MessageID", "")
                offset += len(messages)
                if not messages or offset >= int(page.get("TotalCount") or 0):
                    break
                if offset >= 10_000:
                    raise ReconcileError("Postmark's search stops at 10,000 messages")
        return found


UNSUPPORTED = {
    "Amazon SES": "Amazon SES keeps no searchable log of sent messages",
    "Brevo": "reconciling with Brevo is not supported yet",
    "Outbox": "the embedded outbox keeps no ESP log; check its files by hand",
}


def esp_log_for(connection) -> EspLog | None:
    esp_name = getattr(connection, "esp_name", type(connection).__name__)
    if esp_name == "Mailgun":
        return MailgunLog(connection)
    if esp_name == "Postmark":
        return PostmarkLog(connection)
    return None


def _may_reconcile(actor) -> None:
    if actor is not None and scope_for(actor).role != Role.ORGANISER:
        raise PermissionDenied("Only organisers can reconcile a drive with the ESP.")


def _window(claimed_at: datetime | None, lease_until: datetime | None, mailing: Mailing) -> Window:
    """Where in the ESP's log a call's acceptance can be, and when the call was over.

    It began at the claim. It was over when the client gave up (claim + the ESP
    timeout) or, for a killed consumer, by the end of its lease (the sweeper calls a row
    unknown only after that). The log is complete for it ``MAILING_RECONCILE_LAG_SECONDS``
    later; the query reaches that far, with a margin for clock skew either side."""
    margin = timedelta(seconds=WINDOW_MARGIN)
    lag = timedelta(seconds=settings.MAILING_RECONCILE_LAG_SECONDS)
    if claimed_at is None:  # rows from before claims were stamped: the whole drive
        begin = mailing.started_at or mailing.created_at
        over = mailing.finished_at or timezone.now()
    else:
        begin = claimed_at
        over = lease_until or claimed_at + timedelta(seconds=settings.ESP_TIMEOUT_SECONDS)
    return Window(begin=begin - margin, end=over + lag + margin, over=over)


def mailing_reconcile(*, actor, mailing: Mailing, log: EspLog | None = None) -> ReconcileResult:
    """Settle a drive's unknown rows from the ESP's own log (see module docstring).

    ``actor=None`` is the server itself (the command run in a shell). Rows already
    proven not sent are asked about again (a late entry would still prove them sent).
    """
    _may_reconcile(actor)
    if log is None:
        connection = get_connection()
        log = esp_log_for(connection)
        esp_name = getattr(connection, "esp_name", type(connection).__name__)
    else:
        esp_name = log.name
    rows = Recipient.objects.filter(mailing=mailing, status=Recipient.Status.UNKNOWN)
    result = ReconcileResult(esp=esp_name, supported=log is not None)
    if log is None:
        result.note = UNSUPPORTED.get(esp_name, f"{esp_name} has no API to ask")
        result.still_unknown = rows.count()
        _audit(actor=actor, mailing=mailing, result=result)
        return result
    calls: dict[tuple, list[UnsureRow]] = {}
    for pk, email, claim, claimed_at, lease_until in rows.order_by("pk").values_list(
        "pk", "email", "claim", "claimed_at", "lease_until"
    ):
        calls.setdefault((claim, claimed_at, lease_until), []).append(UnsureRow(pk, email))
    for (_, claimed_at, lease_until), call_rows in calls.items():
        result.checked += len(call_rows)
        window = _window(claimed_at, lease_until, mailing)
        try:
            accepted = log.accepted(mailing=mailing, rows=call_rows, window=window)
        except ReconcileError as exc:
            result.errors.append(str(exc))
            result.still_unknown += len(call_rows)
            continue
        now = timezone.now()
        for row in call_rows:
            if row.pk in accepted:
                result.proven_sent += Recipient.objects.filter(
                    pk=row.pk, status=Recipient.Status.UNKNOWN
                ).update(
                    status=Recipient.Status.SENT,
                    esp_check=Recipient.EspCheck.SENT,
                    esp_checked_at=now,
                    esp_message_id=accepted[row.pk][:255],
                    error="Proven sent: the ESP's log shows it accepted the message",
                )
            elif window.complete(now):
                Recipient.objects.filter(pk=row.pk, status=Recipient.Status.UNKNOWN).update(
                    esp_check=Recipient.EspCheck.NOT_SENT,
                    esp_checked_at=now,
                    error="Proven not sent: the ESP's log has no such message; safe to send again",
                )
                result.proven_not_sent += 1
            else:
                result.too_recent += 1
                result.still_unknown += 1
    if result.too_recent:
        result.note = (
            f"{result.too_recent} rows were sent less than "
            f"{settings.MAILING_RECONCILE_LAG_SECONDS // 60} minutes ago; the ESP's log "
            "may not show them yet. Ask again later."
        )
    logger.info("Drive %s reconciled with %s: %s", mailing.pk, esp_name, result.as_dict())
    _audit(actor=actor, mailing=mailing, result=result)
    return result


def _audit(*, actor, mailing: Mailing, result: ReconcileResult) -> None:
    from campaign.models import AuditEvent
    from campaign.services import audit_record

    audit_record(
        actor=actor,
        action=AuditEvent.Action.DRIVE_RECONCILE,
        target=mailing,
        counts={
            "checked": result.checked,
            "proven_sent": result.proven_sent,
            "proven_not_sent": result.proven_not_sent,
            "still_unknown": result.still_unknown,
        },
        detail={"esp": result.esp, "errors": result.errors[:5], "note": result.note},
    )
