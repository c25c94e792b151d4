"""The readers kept beside calamine (see reading.py), each for one job calamine cannot do.

- ``ods_open``: python-calamine drops ``<text:tab/>`` and ``<text:line-break/>`` inside
  an OpenDocument cell ("a<tab/>b" reads as "ab"), so an ODS file that has them is read
  here instead, streaming content.xml. reading.py decides, from the size check's scan.
- ``openpyxl_open``: the XLSX reader before calamine, kept only so ``make bench`` can
  measure it against calamine on the same file in the same run. The product does not
  read with it (it still writes XLSX with openpyxl).

Both run only after guards.spreadsheet_check has bounded the file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from contacts.importing.cells import Cell, cell_text, is_blank_row
from contacts.importing.errors import FileError
from contacts.importing.reading import Sheet, _CountingReader, _first_non_blank


def openpyxl_open(path: Path) -> Sheet:
    import openpyxl

    try:
        # read_only streams the sheet; data_only gives values, never formulas.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        total = sheet.max_row or 0
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise FileError(
            f"The Excel file could not be read ({type(exc).__name__}). Open it in your "
            "spreadsheet application, save it again as .xlsx and re-upload; nothing was "
            "imported."
        ) from None
    done = [0]

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                done[0] = number
                cells = list(values)
                if not is_blank_row(cells):
                    yield number, cells
        except Exception as exc:
            raise FileError(
                f"Row {done[0] + 1} of the Excel file could not be read "
                f"({type(exc).__name__}); nothing was imported."
            ) from None

    rows = numbered()
    header_row, headers = _first_non_blank(rows)
    return Sheet(
        format="xlsx",
        headers=[cell_text(h) for h in headers],
        header_row=header_row,
        rows=rows,
        progress_total=total,
        progress_done=lambda: done[0],
        close=workbook.close,
    )


# --- ODS ------------------------------------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _ods_text(element) -> str:
    """The visible text of a cell: paragraphs on their own lines, text:s as spaces."""
    paragraphs = []
    for paragraph in element.iter(f"{_TEXT}p"):
        paragraphs.append("".join(_ods_inline(paragraph)))
    return "\n".join(paragraphs)


def _ods_inline(element) -> Iterator[str]:
    if element.text:
        yield element.text
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}s":
            yield " " * int(child.get(f"{_TEXT}c", "1"))
        elif tag == f"{_TEXT}tab":
            yield "\t"
        elif tag == f"{_TEXT}line-break":
            yield "\n"
        else:
            yield from _ods_inline(child)
        if child.tail:
            yield child.tail


def _ods_value(cell) -> Cell:
    kind = cell.get(f"{_OFFICE}value-type")
    if kind in {"float", "percentage", "currency"}:
        number = float(cell.get(f"{_OFFICE}value", "0"))
        return int(number) if number.is_integer() else number
    if kind == "date":
        raw = cell.get(f"{_OFFICE}date-value", "")
        try:
            return datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
        except ValueError:
            return _ods_text(cell)
    if kind == "boolean":
        return cell.get(f"{_OFFICE}boolean-value") == "true"
    text = _ods_text(cell)
    return text if text else None


def _ods_cells(row) -> list[Cell]:
    cells: list[Cell] = []
    pending_blanks = 0
    for cell in row:
        if cell.tag not in {f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"}:
            continue
        repeat = int(cell.get(f"{_TABLE}number-columns-repeated", "1"))
        value = _ods_value(cell)
        if value is None or value == "":
            # Rows end in blank cells repeated to column 1024; keep them only when a
            # value follows.
            pending_blanks += repeat
            continue
        cells.extend([None] * pending_blanks)
        pending_blanks = 0
        cells.extend([value] * min(repeat, 1024))
    return cells


def ods_open(path: Path) -> Sheet:
    try:
        archive = zipfile.ZipFile(path)
        info = archive.getinfo("content.xml")
        counting = _CountingReader(archive.open(info))
    except (zipfile.BadZipFile, KeyError, OSError):
        raise FileError(
            "The OpenDocument file could not be read. Save it again as .ods and "
            "re-upload; nothing was imported."
        ) from None

    def close() -> None:
        counting.close()
        archive.close()

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        depth = 0  # tables nested inside the first one belong to it
        seen_table = False
        try:
            for event, element in iterparse(io.BufferedReader(counting), ("start", "end")):
                tag = element.tag
                if tag == f"{_TABLE}table":
                    if event == "start":
                        if seen_table and depth == 0:
                            return  # only the first sheet
                        depth += 1
                        seen_table = True
                    else:
                        depth -= 1
                        if depth == 0:
                            return
                    continue
                if event != "end" or tag != f"{_TABLE}table-row" or depth != 1:
                    continue
                repeat = int(element.get(f"{_TABLE}number-rows-repeated", "1"))
                cells = _ods_cells(element)
                element.clear()
                if not cells or is_blank_row(cells):
                    number += repeat
                    continue
                for _ in range(repeat):
                    number += 1
                    yield number, list(cells)
        except (ParseError, DefusedXmlException, ValueError, zipfile.BadZipFile) as exc:
            raise FileError(
                f"The OpenDocument file could not be read after row {number} ({exc}); "
                "nothing was imported."
            ) from None

    rows = numbered()
    header_row, headers = _first_non_blank(rows)
    return Sheet(
        format="ods",
        headers=[cell_text(h) for h in headers],
        header_row=header_row,
        rows=rows,
        progress_total=info.file_size,
        progress_done=lambda: counting.count,
        close=close,
    )
