"""What an import did, row by row: the counts, the problems, and the rejected rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

REJECTIONS = ("invalid_email", "no_consent", "suppressed")
DUPLICATE = "duplicate_in_file"
PROBLEM_COLUMN = "Problem"


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    REJECTIONS: ClassVar[tuple[str, ...]] = REJECTIONS

    dry_run: bool
    file_name: str = ""
    sha256: str = ""
    batch_id: int | None = None
    rows: int = 0
    blank_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate_in_file: int = 0
    rejected: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    schools_created: int = 0
    districts_created: int = 0
    # Schools that had no URN and were given one by a row; school names that matched
    # several schools in a district (those rows were left without a school).
    urns_added: int = 0
    ambiguous_names: int = 0
    # Rows with a value in a column that has no heading (the value was ignored).
    unheaded_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    # The header row and each rejected row's cells with its problem, for the download.
    headers: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, list[str], str]] = field(default_factory=list)
    # (school id, URN) of each URN recorded on a school that existed before the import.
    urns_recorded: list[tuple[int, str]] = field(default_factory=list)
    # What the import creates, for the preview to name: district name -> rows, and
    # each new school (name, key, urn, district, district_id, rows).
    new_districts: Counter = field(default_factory=Counter)
    new_schools: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, *, row: int, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(row=row, column=column, code=code, message=message))

    def as_json(self) -> dict[str, Any]:
        """The CLI's --json shape (see the issue); nothing more, nothing less."""
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "blank_rows": self.blank_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicate_in_file": self.duplicate_in_file,
            "rejected": {code: self.rejected.get(code, 0) for code in REJECTIONS},
            "warnings": dict(sorted(self.warnings.items())),
            "schools_created": self.schools_created,
            "districts_created": self.districts_created,
            "problems": [p.as_dict() for p in self.problems],
        }

    def counts(self) -> dict[str, int]:
        """Flat counts, for the batch record and the audit trail."""
        flat = {
            key: getattr(self, key)
            for key in (
                "rows",
                "blank_rows",
                "created",
                "updated",
                "unchanged",
                "duplicate_in_file",
                "schools_created",
                "districts_created",
                "urns_added",
                "ambiguous_names",
                "unheaded_rows",
            )
        }
        flat.update({f"rejected_{code}": self.rejected.get(code, 0) for code in REJECTIONS})
        flat["warnings"] = sum(self.warnings.values())
        return flat

    def stored(self) -> dict[str, Any]:
        """What ImportBatch.report keeps: the JSON report plus the rejected rows."""
        data = self.as_json()
        data["headers"] = self.headers
        data["urns_added"] = self.urns_added
        data["ambiguous_names"] = self.ambiguous_names
        data["unheaded_rows"] = self.unheaded_rows
        data["urns_recorded"] = [[pk, urn] for pk, urn in self.urns_recorded]
        data["rejected_rows"] = [[row, cells, why] for row, cells, why in self.rejected_rows]
        data["new_districts"] = dict(self.new_districts)
        data["new_schools"] = self.new_schools
        return data

    @classmethod
    def from_stored(cls, data: dict[str, Any], *, batch_id: int | None = None) -> ImportReport:
        report = cls(dry_run=bool(data.get("dry_run")), batch_id=batch_id)
        for key in (
            "rows",
            "blank_rows",
            "created",
            "updated",
            "unchanged",
            "duplicate_in_file",
            "schools_created",
            "districts_created",
            "urns_added",
            "ambiguous_names",
            "unheaded_rows",
        ):
            setattr(report, key, int(data.get(key, 0)))
        report.rejected = Counter(data.get("rejected", {}))
        report.warnings = Counter(data.get("warnings", {}))
        report.problems = [Problem(**p) for p in data.get("problems", [])]
        report.headers = list(data.get("headers", []))
        report.rejected_rows = [(r, list(c), w) for r, c, w in data.get("rejected_rows", [])]
        report.urns_recorded = [(pk, urn) for pk, urn in data.get("urns_recorded", [])]
        report.new_districts = Counter(data.get("new_districts", {}))
        report.new_schools = list(data.get("new_schools", []))
        return report

    @property
    def warning_items(self) -> list[tuple[str, int]]:
        return sorted(self.warnings.items())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def rejected_table(self) -> tuple[list[str], list[list[str]]]:
        """The rejected rows as they were uploaded, plus a "Problem" column saying what
        to fix, ready to correct and upload again (the importer ignores "Problem")."""
        width = max([len(self.headers), *(len(cells) for _, cells, _ in self.rejected_rows)])
        headers = [*self.headers, *[""] * (width - len(self.headers)), PROBLEM_COLUMN]
        rows = [[*cells, *[""] * (width - len(cells)), why] for _, cells, why in self.rejected_rows]
        return headers, rows
