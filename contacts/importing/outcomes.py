"""An import's outcome in words and as a bar: what the preview and result pages show
instead of the stored JSON."""

from __future__ import annotations

from dataclasses import dataclass

from contacts.importing.report import ImportReport

REJECTION_WORDS = {
    "invalid_email": "had no valid email address",
    "no_consent": "had no consent to email",
    "suppressed": "unsubscribed, bounced, withdrew consent or were erased earlier",
}


@dataclass(frozen=True)
class Outcome:
    key: str  # also the bar segment's CSS class
    label: str
    count: int
    x: float = 0.0
    width: float = 0.0


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def outcomes(report: ImportReport, *, dry_run: bool) -> list[Outcome]:
    """Each outcome with its share of the rows, as segments of a 100-wide bar."""
    would = "would be " if dry_run else ""
    items = [
        Outcome("created", f"{would}added as new supporters", report.created),
        Outcome("updated", f"{would}updated", report.updated),
        Outcome("unchanged", "already up to date", report.unchanged),
        Outcome("rejected", f"{would}rejected", report.rejected_total),
        Outcome("duplicate", "repeated an address earlier in the file", report.duplicate_in_file),
    ]
    total = sum(item.count for item in items) or 1
    placed, x = [], 0.0
    for item in items:
        width = 100 * item.count / total
        placed.append(Outcome(item.key, item.label, item.count, round(x, 3), round(width, 3)))
        x += width
    return placed


def outcome_sentence(report: ImportReport, *, dry_run: bool) -> str:
    """ "Of 120 rows, 100 would be added, ..." in plain English."""
    parts = [
        f"{item.count:,} {item.label}" for item in outcomes(report, dry_run=dry_run) if item.count
    ]
    head = f"Of {_plural(report.rows, 'row', 'rows')}, "
    if not parts:
        return f"The file has {_plural(report.rows, 'row', 'rows')}; nothing to import."
    return (
        head + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + "."
    )


def rejection_lines(report: ImportReport) -> list[str]:
    return [
        f"{_plural(count, 'row', 'rows')} {REJECTION_WORDS.get(code, code)}"
        for code, count in sorted(report.rejected.items())
        if count
    ]


def places_sentence(report: ImportReport, *, dry_run: bool) -> str:
    verb = "would create" if dry_run else "created"
    if not report.schools_created and not report.districts_created:
        return f"The import {verb} no new schools or districts."
    return (
        f"The import {verb} {_plural(report.schools_created, 'new school', 'new schools')} and "
        f"{_plural(report.districts_created, 'new district', 'new districts')}."
    )
