"""Reading the embedded outbox (``var/outbox/*.eml``) for the outbox pages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings

from campaign.email.outbox import MESSAGE_ID_HEADER, METADATA_HEADER, TAGS_HEADER

_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class OutboxMessage:
    message_id: str
    path: Path
    subject: str
    to: str
    from_: str
    date: str
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


def _summary(path: Path, parsed: EmailMessage) -> OutboxMessage:
    return OutboxMessage(
        message_id=parsed.get(MESSAGE_ID_HEADER, ""),
        path=path,
        subject=str(parsed.get("Subject", "")),
        to=str(parsed.get("To", "")),
        from_=str(parsed.get("From", "")),
        date=str(parsed.get("Date", "")),
        tags=json.loads(parsed.get(TAGS_HEADER, "[]")),
        metadata=json.loads(parsed.get(METADATA_HEADER, "{}")),
    )


def outbox_count(outbox_dir: Path | None = None) -> int:
    directory = Path(outbox_dir or settings.OUTBOX_DIR)
    if not directory.is_dir():
        return 0
    return sum(1 for entry in directory.iterdir() if entry.suffix == ".eml")


def outbox_page(*, offset: int = 0, limit: int = 50, outbox_dir: Path | None = None):
    """Newest first; only the requested page is parsed, so a big outbox stays quick."""
    directory = Path(outbox_dir or settings.OUTBOX_DIR)
    if not directory.is_dir():
        return []
    names = sorted((e.name for e in directory.iterdir() if e.suffix == ".eml"), reverse=True)
    parser = BytesParser(policy=policy.default)
    page = []
    for name in names[offset : offset + limit]:
        path = directory / name
        with path.open("rb") as handle:
            page.append(_summary(path, parser.parse(handle, headersonly=True)))
    return page


def outbox_get(
    message_id: str, outbox_dir: Path | None = None
) -> tuple[OutboxMessage, EmailMessage] | None:
    if not _ID.match(message_id):
        return None
    directory = Path(outbox_dir or settings.OUTBOX_DIR)
    matches = sorted(directory.glob(f"*-{message_id}.eml")) if directory.is_dir() else []
    if not matches:
        return None
    with matches[0].open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    return _summary(matches[0], parsed), parsed


# A filtered read (a search, or one person's own messages) parses headers newest first
# and stops here: the embedded outbox is for trying Turnout out, not for 100,000 sends.
SCAN_LIMIT = 20_000


def outbox_find(
    keep, *, offset: int = 0, limit: int = 50, outbox_dir: Path | None = None
) -> tuple[list[OutboxMessage], bool]:
    """Newest first, the messages ``keep(summary)`` accepts, one page of them; and
    whether there are more after it (or the scan stopped at SCAN_LIMIT files)."""
    directory = Path(outbox_dir or settings.OUTBOX_DIR)
    if not directory.is_dir():
        return [], False
    names = sorted((e.name for e in directory.iterdir() if e.suffix == ".eml"), reverse=True)
    parser = BytesParser(policy=policy.default)
    found: list[OutboxMessage] = []
    skipped = 0
    for name in names[:SCAN_LIMIT]:
        path = directory / name
        try:
            with path.open("rb") as handle:
                summary = _summary(path, parser.parse(handle, headersonly=True))
        except FileNotFoundError:
            continue
        if not keep(summary):
            continue
        if skipped < offset:
            skipped += 1
            continue
        if len(found) == limit:
            return found, True
        found.append(summary)
    return found, len(names) > SCAN_LIMIT
