"""Building a drive's messages and handing them to the ESP.

The send engine (sending.py) claims rows and settles them; this module turns claimed
rows into Anymail messages (one batch message with merge data where the ESP can take
it, otherwise one rendered message each over a shared connection) and sorts the ESP's
answer into sent, refused, transient or unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import requests
from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.formats import date_format

from campaign.links import voted_url
from campaign.selectors import campaign_active
from mailings.merge import BATCH_LIMITS, PLACEHOLDERS, Template, fill, merge_data, render
from mailings.models import Mailing, Recipient
from mailings.services.compose import mailing_validate
from mailings.services.unsubscribe import unsubscribe_url

logger = logging.getLogger(__name__)

ONE_CLICK_HEADER = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
# Anymail metadata keys every drive message carries; tracking webhooks read them back.
METADATA_MAILING_ID = "mailing_id"
METADATA_RECIPIENT_ID = "recipient_id"
# Per-recipient ESP statuses that mean the ESP will not deliver.
_REFUSED = {"rejected", "invalid", "failed"}


@dataclass(frozen=True)
class DriveContext:
    """What every message of a drive shares."""

    mailing: Mailing
    template: Template
    esp_name: str
    placeholder: str | None
    candidate: str
    ballot_closes: str

    @property
    def batched(self) -> bool:
        return self.placeholder is not None


def drive_context(*, mailing: Mailing, connection) -> DriveContext:
    campaign = campaign_active()
    esp_name = getattr(connection, "esp_name", type(connection).__name__)
    return DriveContext(
        mailing=mailing,
        template=mailing_validate(subject=mailing.subject, body=mailing.body),
        esp_name=esp_name,
        placeholder=PLACEHOLDERS.get(esp_name),
        candidate=campaign.candidate if campaign else "",
        ballot_closes=(
            date_format(timezone.localtime(campaign.ballot_closes), "l j F Y, H:i")
            if campaign
            else ""
        ),
    )


@dataclass(slots=True)
class Row:
    """What sending needs of one claimed recipient row, read in one joined query."""

    pk: int
    email: str
    email_hash: str
    contact_id: int | None
    first_name: str = ""
    last_name: str = ""
    contact_email: str = ""
    school: str = ""
    district: str = ""

    FIELDS = (
        "pk",
        "email",
        "email_hash",
        "contact_id",
        "contact__first_name",
        "contact__last_name",
        "contact__email",
        "contact__school__name",
        "contact__district__name",
    )

    @classmethod
    def claimed(cls, token: str) -> list[Row]:
        rows = (
            Recipient.objects.filter(claim=token, status=Recipient.Status.SENDING)
            .order_by("pk")
            .values_list(*cls.FIELDS)
        )
        return [cls(*row[:4], *("" if v is None else v for v in row[4:])) for row in rows]


GLOBAL_FIELDS = frozenset({"candidate", "ballot_closes"})


def recipient_values(*, row: Row, fields: frozenset[str]) -> dict[str, str]:
    """One supporter's merge values (raw; the merge engine escapes them for HTML)."""
    values = {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "full_name": f"{row.first_name} {row.last_name}".strip(),
        "school": row.school,
        "district": row.district,
        # Always made: it also goes in the List-Unsubscribe header.
        "unsubscribe_url": unsubscribe_url(recipient_id=row.pk),
    }
    if "voted_url" in fields:
        values["voted_url"] = voted_url(recipient_id=row.pk)
    return values


def chunk_size(*, esp_name: str, batched: bool) -> int:
    by_rate = max(1, int(settings.EMAIL_SEND_RATE * settings.MAILING_CHUNK_SECONDS))
    limit = BATCH_LIMITS.get(esp_name, 1000) if batched else 1000
    return max(1, min(settings.MAILING_BATCH_SIZE, limit, by_rate))


class TransientEspError(Exception):
    pass


@dataclass
class Outcomes:
    sent: list[tuple[Row, str, str]] = field(default_factory=list)
    failed: list[tuple[Row, str]] = field(default_factory=list)
    unknown: list[tuple[Row, str]] = field(default_factory=list)


def _classify(exc: Exception) -> tuple[str, str]:
    """transient (safe to retry), ambiguous (may have been accepted) or permanent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "transient", "ESP connection timed out"
    if isinstance(exc, requests.exceptions.Timeout):
        return "ambiguous", "ESP did not answer in time; the message may have been accepted"
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        reason = getattr(cause.args[0], "reason", None) if cause.args else None
        if "NewConnectionError" in type(reason).__name__ or "refused" in str(reason).lower():
            return "transient", "ESP refused the connection"
        return "ambiguous", "Connection to the ESP dropped; the message may have been accepted"
    status = getattr(exc, "status_code", None)
    if status is not None and (status == 429 or status >= 500):
        return "transient", f"ESP answered HTTP {status}"
    if isinstance(exc, AnymailError):
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001 - Anymail's __str__ needs a response object
            text = " ".join(str(arg) for arg in exc.args)
        summary = " ".join(line.strip() for line in text.strip().splitlines()[:4])
        return "permanent", f"ESP refused (HTTP {status}): {summary}"[:480]
    raise exc


class EspSender:
    def __init__(self, *, context: DriveContext, connection):
        self.context = context
        self.connection = connection
        mailing = context.mailing
        self.from_email = mailing.from_email or settings.DEFAULT_FROM_EMAIL
        self.reply_to = [mailing.reply_to] if mailing.reply_to else []
        # Drive-wide values go into the template once, not into every recipient's data.
        self.template = fill(
            context.template,
            {"candidate": context.candidate, "ballot_closes": context.ballot_closes},
        )
        self.fields = self.template.fields
        self.esp_template = self.template.for_esp(context.placeholder) if context.batched else None

    def _values(self, row: Row) -> dict[str, str]:
        return recipient_values(row=row, fields=self.fields)

    def _message(self, rows: list[Row]) -> EmailMultiAlternatives:
        mailing = self.context.mailing
        if self.esp_template is not None:
            template = self.esp_template
            data, headers = {}, {}
            for row in rows:
                values = self._values(row)
                data[row.email] = merge_data(values, self.fields)
                headers[row.email] = {"List-Unsubscribe": f"<{values['unsubscribe_url']}>"}
            extra = dict(ONE_CLICK_HEADER)
        else:
            values = self._values(rows[0])
            template = render(self.template, values)
            extra = {**ONE_CLICK_HEADER, "List-Unsubscribe": f"<{values['unsubscribe_url']}>"}
        message = EmailMultiAlternatives(
            subject=template.subject,
            body=template.text,
            from_email=self.from_email,
            to=[row.email for row in rows],
            reply_to=self.reply_to,
            headers=extra,
            connection=self.connection,
        )
        message.attach_alternative(template.html, "text/html")
        message.tags = [f"drive-{mailing.pk}"]
        message.metadata = {METADATA_MAILING_ID: str(mailing.pk)}
        if self.esp_template is not None:
            message.merge_data = data
            message.merge_headers = headers
            message.merge_metadata = {
                row.email: {METADATA_RECIPIENT_ID: str(row.pk)} for row in rows
            }
        else:
            message.metadata[METADATA_RECIPIENT_ID] = str(rows[0].pk)
        return message

    def send(self, rows: list[Row], out: Outcomes) -> None:
        """Send ``rows`` (all batched, or one at a time); raises TransientEspError to retry."""
        if self.esp_template is None:
            for row in rows:
                self._post([row], out)
        else:
            self._post(rows, out)

    def _post(self, rows: list[Row], out: Outcomes) -> None:
        message = self._message(rows)
        try:
            message.send()
        except Exception as exc:
            kind, reason = _classify(exc)
            if kind == "transient":
                raise TransientEspError(reason) from exc
            if kind == "ambiguous":
                out.unknown += [(row, reason) for row in rows]
            elif len(rows) == 1:
                out.failed.append((rows[0], reason))
            else:
                # One bad address fails the whole call at some ESPs: find it.
                half = len(rows) // 2
                self._post(rows[:half], out)
                self._post(rows[half:], out)
            return
        status = getattr(message, "anymail_status", None)
        for row in rows:
            recipient = status.recipients.get(row.email) if status is not None else None
            if recipient is not None and recipient.status in _REFUSED:
                out.failed.append((row, f"ESP {recipient.status} the address"))
            else:
                message_id = recipient.message_id if recipient else None
                out.sent.append(
                    (
                        row,
                        "" if message_id is None else str(message_id),
                        (recipient.status if recipient else None) or "sent",
                    )
                )
