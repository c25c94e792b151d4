"""The organiser's import screens in the app: what a file's columns look like, the
remembered column mappings, the closest existing places to the new ones a preview
would create, and a batch's progress in words. The import itself is the pipeline's
(contacts/importing/pipeline.py), exactly as the command line and the admin run it."""

from __future__ import annotations

import difflib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from campaign.roles import can
from contacts.importing.cells import cell_text
from contacts.importing.columns import (
    FIELD_LABELS,
    IGNORE,
    _header_key,
    chosen_check,
    header_suggest,
    headers_clean,
)
from contacts.importing.errors import FileError
from contacts.importing.places import name_key
from contacts.importing.queued import batch_progress_live
from contacts.importing.reading import file_fingerprint, sheet_open
from contacts.importing.report import ImportReport
from contacts.models import District, ImportBatch, ImportColumnMapping, School

SAMPLE_ROWS = 20
SAMPLES_SHOWN = 3
SAMPLE_CHARS = 40
SUGGESTIONS = 3


@dataclass(frozen=True)
class Column:
    position: int
    header: str
    samples: list[str]
    suggested: str  # a field name, or IGNORE
    chosen: str  # what the form starts with: the remembered choice, else the suggestion


@dataclass(frozen=True)
class Inspection:
    headers: list[str]
    columns: list[Column]
    remembered: bool


def headers_key(headers: list[str]) -> str:
    """Files whose headings read the same to the alias matcher share a key."""
    keys = [_header_key(h) for h in headers_clean(headers)]
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def column_mapping_find(*, headers: list[str]) -> list[str] | None:
    mapping = ImportColumnMapping.objects.filter(headers_key=headers_key(headers)).first()
    if mapping is None or len(mapping.fields) != len(headers):
        return None
    return list(mapping.fields)


@transaction.atomic
def column_mapping_save(*, actor, headers: list[str], fields: list[str]) -> ImportColumnMapping:
    """Remember how this file's columns were mapped, for the next file with the same
    headings. Only organisers import, so only they set mappings."""
    if not can(actor, "add", "contacts.importbatch"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only organisers can import supporters.")
    clean = headers_clean(headers)
    chosen_check(clean, fields)
    mapping, _ = ImportColumnMapping.objects.update_or_create(
        headers_key=headers_key(headers),
        defaults={
            "headers": clean,
            "fields": list(fields),
            "updated_by": actor,
            "updated_at": timezone.now(),
        },
    )
    return mapping


def upload_inspect(*, path: Path, file_name: str) -> Inspection:
    """The file's headings with a few sample values each and the field each maps to:
    the remembered mapping for these headings if there is one, else the aliases'.
    Raises FileError for a file that cannot be read at all."""
    sheet = sheet_open(path, file_name=file_name, fingerprint=file_fingerprint(path))
    try:
        headers = headers_clean(sheet.headers)
        samples: list[list[str]] = [[] for _ in headers]
        for count, (_number, cells) in enumerate(sheet.rows):
            if count >= SAMPLE_ROWS:
                break
            for at, cell in enumerate(cells[: len(headers)]):
                text = cell_text(cell).strip()
                if text and len(samples[at]) < SAMPLES_SHOWN:
                    samples[at].append(text[:SAMPLE_CHARS])
    finally:
        sheet.close()
    remembered = column_mapping_find(headers=headers)
    suggested = _suggestions(sheet.headers)
    columns = [
        Column(
            position=at,
            header=header,
            samples=samples[at],
            suggested=suggested[at],
            chosen=remembered[at] if remembered else suggested[at],
        )
        for at, header in enumerate(headers)
    ]
    return Inspection(headers=headers, columns=columns, remembered=remembered is not None)


def _suggestions(headers: list) -> list[str]:
    """The alias matcher's field per column; a second column for a field is ignored."""
    seen: set[str] = set()
    out = []
    for header in headers:
        name = header_suggest(header)
        if name is None or name in seen:
            out.append(IGNORE)
        else:
            seen.add(name)
            out.append(name)
    return out


def field_choices() -> list[tuple[str, str]]:
    return [(IGNORE, "Do not import"), *FIELD_LABELS.items()]


# --- new places and the closest existing ones ------------------------------------------


@dataclass(frozen=True)
class NewPlace:
    kind: str  # "district" or "school"
    key: str  # the key the pipeline's mapping uses (ImportOptions.districts/schools)
    name: str
    district: str  # for a school: its district's name
    rows: int
    suggestions: list[tuple[int, str]]  # (id, name) of the closest existing places
    choices: list[tuple[int, str]]  # every place it may be mapped onto


def _closest(name: str, places: list[tuple[int, str]]) -> list[tuple[int, str]]:
    by_key: dict[str, list[tuple[int, str]]] = {}
    for pk, label in places:
        by_key.setdefault(name_key(label), []).append((pk, label))
    found = difflib.get_close_matches(name_key(name), list(by_key), n=SUGGESTIONS, cutoff=0.6)
    return [place for key in found for place in by_key[key]][:SUGGESTIONS]


def new_places(report: ImportReport) -> tuple[list[NewPlace], list[NewPlace]]:
    """Every district and school the import would create, each with the closest
    existing names ("Cardiff" for "Cardif") and what it may be mapped onto."""
    districts = list(District.objects.order_by("name").values_list("pk", "name"))
    new_districts = [
        NewPlace(
            kind="district",
            key=name.strip().lower(),
            name=name,
            district="",
            rows=rows,
            suggestions=_closest(name, districts),
            choices=districts,
        )
        for name, rows in sorted(report.new_districts.items(), key=lambda item: item[0].lower())
    ]
    district_ids = {s["district_id"] for s in report.new_schools if s.get("district_id")}
    schools_by_district: dict[int, list[tuple[int, str]]] = {}
    for pk, name, urn, district_id in (
        School.objects.filter(district_id__in=district_ids)
        .order_by("name", "pk")
        .values_list("pk", "name", "urn", "district_id")
    ):
        label = f"{name} (URN {urn})" if urn else name
        schools_by_district.setdefault(district_id, []).append((pk, label))
    new_schools = []
    for school in sorted(report.new_schools, key=lambda s: (s["district"], s["name"])):
        district_id = school.get("district_id")
        here = schools_by_district.get(district_id, []) if district_id else []
        new_schools.append(
            NewPlace(
                kind="school",
                key=f"{district_id}:{school['key']}" if district_id else "",
                name=school["name"] + (f" (URN {school['urn']})" if school.get("urn") else ""),
                district=school["district"],
                rows=school["rows"],
                suggestions=_closest(school["name"], here),
                choices=here,
            )
        )
    return new_districts, new_schools


def place_choices_clean(
    data, *, districts: list[NewPlace], schools: list[NewPlace]
) -> tuple[dict[str, int], dict[str, int]]:
    """The place mapping posted from the preview (fields ``district:<key>`` and
    ``school:<key>`` holding an existing place's id, or blank to create it), checked
    against what each new place may be mapped onto."""
    chosen_districts: dict[str, int] = {}
    chosen_schools: dict[str, int] = {}
    for places, prefix, target in (
        (districts, "district", chosen_districts),
        (schools, "school", chosen_schools),
    ):
        for place in places:
            if not place.key:
                continue
            value = (data.get(f"{prefix}:{place.key}") or "").strip()
            if not value:
                continue
            allowed = {str(pk): pk for pk, _ in place.choices}
            if value not in allowed:
                raise FileError(
                    f'"{place.name}" can only be mapped onto an existing {prefix} listed for '
                    "it; preview the file again."
                )
            target[place.key] = allowed[value]
    return chosen_districts, chosen_schools


# --- progress -------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    state: str  # waiting, reading, writing, done, failed, undone, previewed
    percent: int
    rows_read: int
    rows_written: int
    seconds_left: int | None

    @property
    def running(self) -> bool:
        return self.state in ("waiting", "reading", "writing")

    @property
    def time_left(self) -> str:
        if self.seconds_left is None:
            return ""
        if self.seconds_left < 60:
            return "less than a minute left"
        minutes = round(self.seconds_left / 60)
        return f"about {minutes} minute{'s' if minutes != 1 else ''} left"


def import_progress(batch: ImportBatch, *, now: float | None = None) -> Progress:
    """Where a batch stands, for its progress bar. The bar never goes backwards: a
    queued batch is at 0 until it starts, a running one shows what the worker last
    published (itself never lower than before), a finished one is at 100."""
    status = batch.status
    counts = batch.counts or {}
    if status in (ImportBatch.Status.DONE, ImportBatch.Status.UNDONE):
        rows = int(counts.get("rows", 0))
        return Progress(str(status), 100, rows, rows, None)
    if status == ImportBatch.Status.PREVIEWED:
        return Progress("previewed", 100, int(counts.get("rows", 0)), 0, None)
    if status == ImportBatch.Status.FAILED:
        return Progress("failed", 0, 0, 0, None)
    live = batch_progress_live(batch)
    if status == ImportBatch.Status.PENDING or live is None:
        return Progress("waiting", 0, 0, 0, None)
    done, total, rows_read, rows_written = live
    fraction = min(1.0, done / total) if total else 0.0
    percent = min(99, int(fraction * 100))
    seconds_left = None
    if batch.started_at and fraction >= 0.02:
        elapsed = (now or time.time()) - batch.started_at.timestamp()
        seconds_left = max(0, round(elapsed * (1 - fraction) / fraction))
    state = "writing" if rows_written else "reading"
    return Progress(state, percent, rows_read, rows_written, seconds_left)
