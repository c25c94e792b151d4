"""The embedded "ESP": an Anymail backend that keeps every message as a .eml file.

It goes through Anymail's own machinery (pre/post-send signals, ``anymail_status``,
tags, metadata, merge data), so code written against it behaves the same when a
real ESP is configured. Organisers can read the outbox in the app (/outbox/).

Batch sends are personalised as Mailgun does it: ``%recipient.KEY%`` in the subject,
bodies and per-recipient headers (``merge_headers``) is replaced by that recipient's
``merge_data`` value, so the outbox shows each supporter the mail they would get.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from datetime import UTC, datetime
from email.utils import formataddr
from pathlib import Path

from anymail.backends.base import AnymailBaseBackend, BasePayload
from anymail.message import AnymailRecipientStatus
from django.conf import settings

# Headers carrying what a real ESP would keep beside the message.
MESSAGE_ID_HEADER = "X-Outbox-Message-Id"
TAGS_HEADER = "X-Outbox-Tags"
METADATA_HEADER = "X-Outbox-Metadata"
MERGE_DATA_HEADER = "X-Outbox-Merge-Data"
# Mailgun's batch substitution syntax, which the drives engine compiles to for the outbox.
MERGE_FIELD = re.compile(r"%recipient\.([^%]+)%")


def _personalise(message, data: dict, headers: dict):
    """A copy of ``message`` with one recipient's merge data and headers filled in."""

    def fill(text):
        if not isinstance(text, str):
            return text
        return MERGE_FIELD.sub(lambda m: str(data.get(m.group(1), m.group(0))), text)

    personal = copy.copy(message)
    personal.subject = fill(message.subject)
    personal.body = fill(message.body)
    personal.alternatives = [
        type(alt)(fill(alt[0]), alt[1]) if isinstance(alt, tuple) else alt
        for alt in getattr(message, "alternatives", [])
    ]
    personal.extra_headers = {**message.extra_headers, **headers}
    return personal


class OutboxBackend(AnymailBaseBackend):
    esp_name = "Outbox"

    def __init__(self, outbox_dir: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def build_message_payload(self, message, defaults):
        return OutboxPayload(message=message, defaults=defaults, backend=self)

    def post_to_esp(self, payload: OutboxPayload, message):
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        if payload.is_batch():
            # As with an ESP's batch send: one message, and one id, per "to" recipient.
            return {
                to.addr_spec: self._write(payload, message, only_to=to) for to in payload.to_list
            }
        message_id = self._write(payload, message)
        return {email: message_id for email in payload.all_recipients}

    def parse_recipient_status(self, response, payload, message):
        return {
            email: AnymailRecipientStatus(message_id=message_id, status="sent")
            for email, message_id in response.items()
        }

    def _write(self, payload: OutboxPayload, message, only_to=None) -> str:
        message_id = uuid.uuid4().hex
        recipient = only_to.addr_spec if only_to else None
        if recipient and (recipient in payload.merge_data or recipient in payload.merge_headers):
            message = _personalise(
                message,
                payload.merge_data.get(recipient, {}),
                payload.merge_headers.get(recipient, {}),
            )
        mime = message.message()
        if only_to is not None:
            del mime["To"]
            mime["To"] = formataddr((only_to.display_name, only_to.addr_spec))
        mime[MESSAGE_ID_HEADER] = message_id
        if payload.tags:
            mime[TAGS_HEADER] = json.dumps(payload.tags)
        metadata = dict(payload.metadata)
        if recipient and recipient in payload.merge_metadata:
            metadata.update(payload.merge_metadata[recipient])
        if metadata:
            mime[METADATA_HEADER] = json.dumps(metadata, default=str)
        if recipient and recipient in payload.merge_data:
            mime[MERGE_DATA_HEADER] = json.dumps(payload.merge_data[recipient], default=str)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        final = self.outbox_dir / f"{stamp}-{message_id}.eml"
        partial = final.with_suffix(".part")
        partial.write_bytes(mime.as_bytes())
        os.replace(partial, final)  # readers never see half a message
        return message_id


class OutboxPayload(BasePayload):
    def init_payload(self):
        self.to_list = []
        self.all_recipients: list[str] = []
        self.tags: list[str] = []
        self.metadata: dict = {}
        self.merge_data: dict = {}
        self.merge_metadata: dict = {}
        self.merge_headers: dict = {}

    # The MIME message Django builds already holds these; Anymail needs to know
    # the backend accepts them.
    def set_from_email(self, email):
        pass

    def set_to(self, emails):
        self.to_list = list(emails)
        self.all_recipients += [e.addr_spec for e in emails]

    def set_cc(self, emails):
        self.all_recipients += [e.addr_spec for e in emails]

    def set_bcc(self, emails):
        self.all_recipients += [e.addr_spec for e in emails]

    def set_subject(self, subject):
        pass

    def set_reply_to(self, emails):
        pass

    def set_extra_headers(self, headers):
        pass

    def set_text_body(self, body):
        pass

    def set_html_body(self, body):
        pass

    def add_alternative(self, content, mimetype):
        pass

    def add_attachment(self, attachment):
        pass

    def set_envelope_sender(self, email):
        pass

    def set_metadata(self, metadata):
        self.metadata = dict(metadata)

    def set_tags(self, tags):
        self.tags = list(tags)

    def set_track_clicks(self, track_clicks):
        pass

    def set_track_opens(self, track_opens):
        pass

    def set_merge_data(self, merge_data):
        self.merge_data = dict(merge_data)

    def set_merge_global_data(self, merge_global_data):
        pass

    def set_merge_metadata(self, merge_metadata):
        self.merge_metadata = dict(merge_metadata)

    def set_merge_headers(self, merge_headers):
        self.merge_headers = dict(merge_headers)

    def set_esp_extra(self, extra):
        pass
