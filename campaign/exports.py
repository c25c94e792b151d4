"""Every file Turnout hands out (CSV or XLSX) is built here, so every export is safe
against CSV/formula injection and lands in the audit trail.

A spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula,
and tab or carriage return can smuggle one in (OWASP "CSV Injection"). Supporter data
is typed by the public (a name like ``=HYPERLINK(...)``), so each such cell is given a
leading apostrophe: spreadsheets then show it as text. django-import-export's own
option only handles ``=``, so its exports come through ``neutralise_dataset`` too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

from campaign.models import AuditEvent

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value: Any) -> Any:
    """The cell as it may safely be exported: text that a spreadsheet would run as a
    formula gets a leading apostrophe; everything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in row]


def neutralise_dataset(dataset):
    """A tablib Dataset (django-import-export's export data) with every cell neutralised."""
    import tablib

    safe = tablib.Dataset(headers=neutralise_row(dataset.headers or []), title=dataset.title)
    for row in dataset:
        safe.append(neutralise_row(row))
    return safe


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel shows accents and non-Latin names correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(neutralise_row(headers))
    for row in rows:
        writer.writerow(neutralise_row("" if v is None else v for v in row))
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31] or "Sheet1")
    for row in [headers, *rows]:
        cells = []
        for value in neutralise_row(row):
            cell = openpyxl.cell.WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_record(*, actor, what: str, rows: int, file_format: str, target=None) -> None:
    """Write the audit event every export must leave."""
    from campaign.services import audit_record

    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        target=target,
        counts={"rows": rows},
        detail={"what": what, "format": file_format},
    )


def export_response(
    *,
    actor,
    what: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    file_name: str,
    file_format: str = "csv",
    target=None,
) -> HttpResponse:
    """An audited, injection-safe CSV or XLSX download."""
    if file_format == "xlsx":
        body = xlsx_bytes(headers, rows, title=what)
    elif file_format == "csv":
        body = csv_bytes(headers, rows)
    else:
        raise ValueError(f"Unknown export format {file_format!r}.")
    export_record(actor=actor, what=what, rows=len(rows), file_format=file_format, target=target)
    response = HttpResponse(body, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{file_name}.{file_format}"'
    return response


def dataset_export(*, dataset, file_format, actor, what: str, encoding: str | None = None):
    """A django-import-export export (a tablib Dataset and one of its formats),
    neutralised and audited like every other export."""
    safe = neutralise_dataset(dataset)
    data = file_format.export_data(safe)
    if not file_format.is_binary() and encoding:
        data = data.encode(encoding)
    export_record(actor=actor, what=what, rows=len(safe), file_format=file_format.get_title())
    return data


def export_allowed(user) -> bool:
    """Bulk exports of supporter data are for organisers only (UK GDPR special category)."""
    from campaign.roles import Role, scope_for

    return scope_for(user).role == Role.ORGANISER
