"""Reading CSV, XLSX and ODS files as one stream of rows, without loading them whole.

Rows are numbered as the organiser sees them in a spreadsheet application (the header
is row 1; a CSV cell with line breaks is still one row). Readers yield only non-blank
rows; the gaps in the numbering are the blank rows, so blank rows after the last data
row (which spreadsheets often carry by the thousand) are never counted.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from contacts.importing.cells import Cell, cell_text, is_blank_row
from contacts.importing.errors import FileError

CHUNK = 1 << 20


@dataclass
class Sheet:
    """The header row and an iterator of (row number, cells) for the non-blank rows."""

    format: str
    headers: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[Cell]]]
    # Progress in the reader's own unit (bytes or rows); total may be an estimate.
    progress_total: int
    progress_done: Callable[[], int]
    close: Callable[[], None]


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    encoding: str | None  # for text files: what the bytes decode as


def file_fingerprint(path: Path) -> Fingerprint:
    """SHA-256 and size of the file, and which text encoding it is valid in (if any)."""
    digest = hashlib.sha256()
    size = 0
    utf8 = codecs.getincrementaldecoder("utf-8")()
    valid = {"utf-8": True, "cp1252": True}
    head = b""
    zipped = False
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            if size == 0:
                head = block[:4]
                zipped = head.startswith(b"PK\x03\x04")  # xlsx/ods: not text
            size += len(block)
            if valid["utf-8"] and not zipped:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    valid["utf-8"] = False
    if valid["utf-8"] and not zipped:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            valid["utf-8"] = False
    if zipped:
        valid = {"utf-8": False, "cp1252": False}
    elif not valid["utf-8"]:
        # Only files that are not UTF-8 pay for a second pass.
        valid["cp1252"] = _decodes(path, "cp1252")
    if head.startswith(codecs.BOM_UTF8):
        encoding: str | None = "utf-8-sig" if valid["utf-8"] else None
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif valid["utf-8"]:
        encoding = "utf-8"
    elif valid["cp1252"]:
        encoding = "cp1252"
    else:
        encoding = None
    return Fingerprint(sha256=digest.hexdigest(), size=size, encoding=encoding)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sheet_open(path: Path, *, file_name: str, fingerprint: Fingerprint) -> Sheet:
    """Open the first sheet of the file; FileError when it cannot be read at all."""
    suffix = Path(file_name).suffix.lower()
    if fingerprint.size == 0:
        raise FileError("The file is empty; nothing was imported.")
    if suffix == ".xls":
        raise FileError(
            "Old Excel 97-2003 (.xls) files cannot be read. Save the sheet as .xlsx or "
            ".csv and upload it again; nothing was imported."
        )
    kind = _detect(path, suffix)
    if kind == "xlsx":
        return _open_xlsx(path)
    if kind == "ods":
        return _open_ods(path)
    return _open_csv(path, fingerprint)


def _detect(path: Path, suffix: str) -> str:
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            names = set()
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names:
            return "ods"
        raise FileError(
            "This file is a compressed archive but not an Excel (.xlsx) or "
            "OpenDocument (.ods) spreadsheet; nothing was imported."
        )
    if suffix in {".xlsx", ".xlsm", ".ods"}:
        raise FileError(
            f"This {suffix} file is damaged or not really a spreadsheet; open it in your "
            "spreadsheet application, save it again and re-upload. Nothing was imported."
        )
    return "csv"


def _first_non_blank(
    rows: Iterator[tuple[int, list[Cell]]],
) -> tuple[int, list[Cell]]:
    for number, cells in rows:
        return number, cells
    raise FileError("The file has no rows; nothing was imported.")


# --- CSV ------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """Counts bytes read, so progress can be reported while a text stream decodes."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self._raw.readinto(buffer)
        self.count += read or 0
        return read

    def close(self) -> None:
        self._raw.close()
        super().close()


def _sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header into the most columns (comma on a tie)."""
    best, best_count = ",", 0
    for delimiter in (",", ";", "\t"):
        try:
            header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(header) > best_count:
            best, best_count = delimiter, len(header)
    return best


def _open_csv(path: Path, fingerprint: Fingerprint) -> Sheet:
    if fingerprint.encoding is None:
        raise FileError(
            "The file is not text in UTF-8 or Windows (cp1252) encoding. Save it as "
            '"CSV UTF-8" and upload it again; nothing was imported.'
        )
    with open(path, encoding=fingerprint.encoding, errors="replace", newline="") as peek:
        delimiter = _sniff_delimiter(peek.read(65536))
    counting = _CountingReader(open(path, "rb"))  # noqa: SIM115 - closed by Sheet.close
    text = io.TextIOWrapper(io.BufferedReader(counting), encoding=fingerprint.encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        try:
            for cells in reader:
                number += 1
                if cells and not is_blank_row(cells):
                    yield number, cells
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileError(
                f"Row {number + 1} could not be read as CSV ({exc}). Check the file in a "
                "spreadsheet application and save it again; nothing was imported."
            ) from None

    rows = numbered()
    header_row, headers = _first_non_blank(rows)
    return Sheet(
        format="csv",
        headers=[cell_text(h) for h in headers],
        header_row=header_row,
        rows=rows,
        progress_total=fingerprint.size,
        progress_done=lambda: counting.count,
        close=text.close,
    )


# --- XLSX -----------------------------------------------------------------------------


def _open_xlsx(path: Path) -> Sheet:
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


def _open_ods(path: Path) -> Sheet:
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
