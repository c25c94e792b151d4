"""Reading CSV, XLSX and ODS files as one stream of rows, within the import limits.

Rows are numbered as the organiser sees them in a spreadsheet application (the header
is row 1; a CSV cell with line breaks is still one row). Readers yield only non-blank
rows; the gaps in the numbering are the blank rows, so blank rows after the last data
row (which spreadsheets often carry by the thousand) are never counted.

XLSX and ODS are read with python-calamine (Rust; values, never formulas), after
guards.spreadsheet_check has bounded what the file expands to: calamine holds the
first sheet's used area in memory, and Python receives it one row at a time. An ODS
file whose cells hold tabs or line breaks goes to the streaming XML reader in
reading_xml.py, since calamine drops them. CSV streams with every line and cell
bounded, so a 1 GB cell or line is refused without being held whole. Every reader
stops at IMPORT_MAX_ROWS data rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from contacts.importing.cells import Cell, cell_text, is_blank_row
from contacts.importing.errors import FileError
from contacts.importing.guards import spreadsheet_check

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
    if kind == "csv":
        return _limited(_open_csv(path, fingerprint))
    extent = spreadsheet_check(path, kind=kind)
    if kind == "ods" and extent.inline_breaks:
        from contacts.importing.reading_xml import ods_open

        return _limited(ods_open(path))
    if kind == "xlsx" and XLSX_READER == "openpyxl":
        from contacts.importing.reading_xml import openpyxl_open

        return _limited(openpyxl_open(path))
    return _limited(_open_calamine(path, kind))


# Which XLSX reader sheet_open uses: "calamine" (the product), or "openpyxl" for the
# benchmark's same-run baseline (bench/importing.py sets it in its own process).
XLSX_READER = "calamine"


def _limited(sheet: Sheet) -> Sheet:
    """Stop reading as soon as the file passes IMPORT_MAX_ROWS data rows."""
    limit = settings.IMPORT_MAX_ROWS
    rows = sheet.rows

    def counted() -> Iterator[tuple[int, list[Cell]]]:
        for count, row in enumerate(rows, start=1):
            if count > limit:
                raise FileError(
                    f"The file has more than {limit:,} rows, the most one import takes. "
                    "Split it into smaller files; nothing was imported."
                )
            yield row

    sheet.rows = counted()
    close, closed = sheet.close, []

    def close_once() -> None:
        if not closed:
            closed.append(True)
            close()

    sheet.close = close_once
    return sheet


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


class _LineTooLong(Exception):
    pass


def _bounded_lines(text: io.TextIOBase, limit: int) -> Iterator[str]:
    while line := text.readline(limit):
        if len(line) == limit and line[-1] not in "\r\n":
            raise _LineTooLong
        yield line


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
    max_cell = settings.IMPORT_MAX_CELL_CHARS
    # The csv module refuses a longer field as it reads it (the limit is per process;
    # every import sets the same one). Lines are bounded too: csv reads a whole line
    # before parsing it, and one line could otherwise be the whole file.
    csv.field_size_limit(max_cell)
    max_line = max_cell * 8
    reader = csv.reader(_bounded_lines(text, max_line), delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        try:
            for cells in reader:
                number += 1
                if cells and not is_blank_row(cells):
                    yield number, cells
        except _LineTooLong:
            raise FileError(
                f"Row {number + 1} has a line longer than {max_line:,} characters, which "
                "no supporter row needs: the file is damaged or is not a list of "
                "supporters. Check it in a spreadsheet application and save it again; "
                "nothing was imported."
            ) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise FileError(
                    f"Row {number + 1} has a cell longer than {max_cell:,} characters "
                    "(IMPORT_MAX_CELL_CHARS). Shorten it, or check the file is really a "
                    "list of supporters; nothing was imported."
                ) from None
            raise FileError(
                f"Row {number + 1} could not be read as CSV ({exc}). Check the file in a "
                "spreadsheet application and save it again; nothing was imported."
            ) from None
        except UnicodeDecodeError as exc:
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


# --- XLSX and ODS, with calamine ----------------------------------------------------

_DAMAGED = {
    "xlsx": "The Excel file could not be read ({why}). Open it in your spreadsheet "
    "application, save it again as .xlsx and re-upload; nothing was imported.",
    "ods": "The OpenDocument file could not be read ({why}). Save it again as .ods and "
    "re-upload; nothing was imported.",
}


def _open_calamine(path: Path, kind: str) -> Sheet:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        # The first worksheet: a chart sheet before it holds no rows.
        index = next(
            (
                at
                for at, meta in enumerate(workbook.sheets_metadata)
                if meta.typ == SheetTypeEnum.WorkSheet
            ),
            0,
        )
        sheet = workbook.get_sheet_by_index(index)
        start = sheet.start
        total = sheet.height + (start[0] if start else 0)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException
        raise FileError(_DAMAGED[kind].format(why=type(exc).__name__)) from None
    if start is None:
        workbook.close()
        raise FileError("The file has no rows; nothing was imported.")
    done = [0]

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        # iter_rows hands over one row at a time, from the sheet's first row (blank
        # rows above the used area included) but from its first used column. The
        # readers' tests pin that numbering.
        for number, values in enumerate(sheet.iter_rows(), start=1):
            done[0] = number
            if not is_blank_row(values):
                yield number, values

    rows = numbered()
    try:
        header_row, headers = _first_non_blank(rows)
    except FileError:
        workbook.close()
        raise
    return Sheet(
        format=kind,
        headers=[cell_text(h) for h in headers],
        header_row=header_row,
        rows=rows,
        progress_total=total,
        progress_done=lambda: done[0],
        close=workbook.close,
    )
