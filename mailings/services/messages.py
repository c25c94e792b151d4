"""Building a drive's messages and handing them to the ESP.

The send engine (sending.py) claims rows and settles them; this module turns claimed
rows into Anymail messages (one batch message with merge data where the ESP can take
it, otherwise one rendered message each over a shared connection) and sorts the ESP's
answer into sent, refused, transient or unknown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import requests
from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.utils import timezone
from django.utils.formats import date_format

from campaign.links import voted_url
from campaign.selectors import campaign_active
from mailings.merge import (
    BATCH_LIMITS,
    FIELDS,
    PLACEHOLDERS,
    Template,
    fill,
    merge_data,
    render,
)
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
# A merge value in a header must be one line: no line breaks (including the Unicode
# ones Python's email package splits on) and no other control characters.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_SUBJECT_FIELD = re.compile(r"\{\{([a-z_]+)\}\}")


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


def chunk_cap(*, esp_name: str, batched: bool) -> int:
    """The most rows one ESP call may carry: the ESP's batch limit, the batch, and
    ``MAILING_CHUNK_SECONDS`` of the global rate (pause/cancel act between calls).
    Without batch sending each call carries one message, so one row is claimed at a time."""
    if not batched:
        return 1
    by_rate = max(1, int(settings.EMAIL_SEND_RATE * settings.MAILING_CHUNK_SECONDS))
    limit = BATCH_LIMITS.get(esp_name, 1000)
    return max(1, min(settings.MAILING_BATCH_SIZE, limit, by_rate))


class MessageBuildError(Exception):
    """One recipient's message cannot be built; the reason names no personal data."""


class TransientEspError(Exception):
    pass


@dataclass
class Outcomes:
    sent: list[tuple[Row, str, str]] = field(default_factory=list)
    failed: list[tuple[Row, str]] = field(default_factory=list)
    unknown: list[tuple[Row, str]] = field(default_factory=list)
    # Settled without sending: the ESP had already reported this message (row, id, event).
    proven: list[tuple[Row, str, str]] = field(default_factory=list)


def _classify(exc: Exception) -> tuple[str, str]:
    """transient (safe to retry), ambiguous (may have been accepted), unbuildable
    (nothing left: the message itself is wrong) or permanent (the ESP refused)."""
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
    if isinstance(exc, (BadHeaderError, UnicodeError)) or type(exc) is ValueError:
        # Raised while the message is put together, before anything leaves.
        return "unbuildable", f"the message could not be put together ({type(exc).__name__})"
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
        self.subject_fields = frozenset(_SUBJECT_FIELD.findall(self.template.subject))
        self.esp_template = self.template.for_esp(context.placeholder) if context.batched else None

    def _values(self, row: Row) -> dict[str, str]:
        """One recipient's merge values, checked; MessageBuildError if unusable."""
        try:
            values = recipient_values(row=row, fields=self.fields)
        except Exception as exc:  # noqa: BLE001 - the reason is logged without the values
            raise MessageBuildError(
                f"a merge value could not be made ({type(exc).__name__})"
            ) from None
        for name in self.subject_fields:
            if _NOT_ONE_LINE.search(values.get(name, "")):
                label = FIELDS.get(name, name).lower()
                raise MessageBuildError(
                    f"the {label} ({name}) contains a line break or control character, "
                    "which cannot go in the subject; correct the supporter's record"
                )
        return values

    def _build_failed(self, row: Row, exc: Exception, out: Outcomes) -> None:
        reason = f"Message not built: {exc}"[:480]
        # Row id and reason only: the values themselves (a name, an address) stay out
        # of the log, and no traceback is written.
        logger.warning("Drive %s, recipient row %s: %s", self.context.mailing.pk, row.pk, reason)
        out.failed.append((row, reason))

    def _message(self, rows: list[Row], out: Outcomes) -> tuple[EmailMultiAlternatives, list[Row]]:
        """The message for ``rows`` and the rows it carries; a row whose message cannot
        be built is failed (in ``out``) and left out, so the others still go."""
        mailing = self.context.mailing
        kept: list[Row] = []
        if self.esp_template is not None:
            template = self.esp_template
            data, headers = {}, {}
            for row in rows:
                try:
                    values = self._values(row)
                    row_data = merge_data(values, self.fields)
                except (MessageBuildError, ValueError) as exc:
                    self._build_failed(row, exc, out)
                    continue
                data[row.email] = row_data
                headers[row.email] = {"List-Unsubscribe": f"<{values['unsubscribe_url']}>"}
                kept.append(row)
            extra = dict(ONE_CLICK_HEADER)
        else:
            try:
                values = self._values(rows[0])
            except MessageBuildError as exc:
                self._build_failed(rows[0], exc, out)
                return None, []
            kept = rows[:1]
            template = render(self.template, values)
            extra = {**ONE_CLICK_HEADER, "List-Unsubscribe": f"<{values['unsubscribe_url']}>"}
        if not kept:
            return None, []
        message = EmailMultiAlternatives(
            subject=template.subject,
            body=template.text,
            from_email=self.from_email,
            to=[row.email for row in kept],
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
                row.email: {METADATA_RECIPIENT_ID: str(row.pk)} for row in kept
            }
        else:
            message.metadata[METADATA_RECIPIENT_ID] = str(kept[0].pk)
        return message, kept

    def send(self, rows: list[Row], out: Outcomes) -> None:
        """Send ``rows`` (all batched, or one at a time); raises TransientEspError to retry."""
        if self.esp_template is None:
            for row in rows:
                self._post([row], out)
        else:
            self._post(rows, out)

    def _post(self, rows: list[Row], out: Outcomes) -> None:
        message, rows = self._message(rows, out)
        if message is None:
            return
        try:
            message.send()
        except Exception as exc:
            kind, reason = _classify(exc)
            if kind == "unbuildable" and len(rows) == 1:
                self._build_failed(rows[0], MessageBuildError(reason), out)
                return
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
