"""Checks a spreadsheet's size before any reader opens it, so crafted files fail fast.

XLSX and ODS files are zip archives of XML. A few kilobytes can declare a sheet that
expands to gigabytes, or a used area of a million rows by sixteen thousand columns
(the reader holds that grid in memory, and cannot recover from running out of it).
So before parsing, the archive's declared sizes and compression ratios, the shared
strings and the sheet's extent are checked against the IMPORT_MAX_* settings. The
extent comes from a streaming scan of the sheet's XML (a regular-expression pass, not
a parse) that reads through ``zipfile``: it never reads more than a member declares,
and a member that lies about its size fails its CRC check.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from contacts.importing.errors import FileError

BLOCK = 1 << 20
# Below this a member's compression ratio says nothing (tiny XML parts compress well).
_RATIO_FLOOR = 8 * 1024 * 1024
_MAX_MEMBERS = 10_000

_WHAT_TO_DO = (
    "Copy just the supporter rows and columns into a new spreadsheet (or save the sheet "
    "as CSV) and upload that; nothing was imported."
)


@dataclass(frozen=True)
class Extent:
    """The used area of the first sheet, and what the reader needs to know about it."""

    rows: int
    columns: int
    # ODS only: cells hold <text:tab/> or <text:line-break/>, which calamine drops.
    inline_breaks: bool = False


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def archive_check(archive: zipfile.ZipFile, *, kind: str) -> None:
    """Refuse archives whose declared contents are too big or too tightly compressed."""
    infos = archive.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise FileError(
            f"The spreadsheet holds {len(infos):,} parts, far more than any real "
            f"spreadsheet. {_WHAT_TO_DO}"
        )
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise FileError(
            f"The spreadsheet expands to {_mb(total)} when opened; the most an import "
            f"reads is {_mb(limit)} (IMPORT_MAX_UNCOMPRESSED_BYTES). {_WHAT_TO_DO}"
        )
    if kind == "xlsx":
        strings_limit = settings.IMPORT_MAX_SHARED_STRINGS_BYTES
        for info in infos:
            if info.filename.lower().endswith("sharedstrings.xml") and (
                info.file_size > strings_limit
            ):
                raise FileError(
                    f"The spreadsheet's table of text (shared strings) is "
                    f"{_mb(info.file_size)}; the limit is {_mb(strings_limit)} "
                    f"(IMPORT_MAX_SHARED_STRINGS_BYTES). {_WHAT_TO_DO}"
                )
    ratio_limit = settings.IMPORT_MAX_COMPRESSION_RATIO
    for info in infos:
        if info.file_size <= _RATIO_FLOOR:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > ratio_limit:
            raise FileError(
                f'The part "{info.filename}" of the spreadsheet is compressed {ratio:,.0f} '
                f"to 1 ({_mb(info.file_size)} when opened); the limit is {ratio_limit} to "
                "1 (IMPORT_MAX_COMPRESSION_RATIO). Real sheets never compress that well: "
                "it is usually millions of empty formatted cells or a file built to "
                f"exhaust memory. {_WHAT_TO_DO}"
            )


def _extent_check(rows: int, columns: int, *, declared: bool = False) -> None:
    max_rows = settings.IMPORT_MAX_ROWS + 1  # the header row too
    max_columns = settings.IMPORT_MAX_COLUMNS
    max_cells = settings.IMPORT_MAX_CELLS
    where = "declares a used area of" if declared else "uses"
    if rows > max_rows:
        raise FileError(
            f"The first sheet {where} {rows:,} rows; an import takes at most "
            f"{settings.IMPORT_MAX_ROWS:,} (IMPORT_MAX_ROWS). Split it into smaller "
            "files, or delete the empty rows below the data; nothing was imported."
        )
    if columns > max_columns:
        raise FileError(
            f"The first sheet {where} {columns:,} columns; an import takes at most "
            f"{max_columns:,} (IMPORT_MAX_COLUMNS). Delete the columns that are not "
            "about supporters (and any far to the right of the data) and upload it "
            "again; nothing was imported."
        )
    if rows * columns > max_cells:
        raise FileError(
            f"The first sheet {where} {rows:,} rows by {columns:,} columns, "
            f"{rows * columns:,} cells; an import takes at most {max_cells:,} "
            "(IMPORT_MAX_CELLS). Delete the columns that are not about supporters, or "
            "split the rows into smaller files; nothing was imported."
        )


def _blocks(archive: zipfile.ZipFile, name: str, *, overlap: int) -> Iterator[bytes]:
    """The member's bytes in blocks, each starting with the last ``overlap`` bytes of
    the one before, so a pattern split across blocks is still seen whole; or, when
    overlap is -1, each block cut after its last '>' so no tag is split."""
    try:
        with archive.open(name) as stream:
            carry = b""
            while block := stream.read(BLOCK):
                data = carry + block
                if overlap < 0:
                    cut = data.rfind(b">") + 1
                    if cut == 0 and len(data) > 64 * BLOCK:
                        raise FileError(
                            "The spreadsheet's XML has a tag longer than 64 MB, which no "
                            f"real spreadsheet has. {_WHAT_TO_DO}"
                        )
                    carry = data[cut:]
                    yield data[:cut]
                else:
                    carry = data[-overlap:] if overlap else b""
                    yield data
            if overlap < 0 and carry:
                yield carry
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise FileError(
            f"The spreadsheet is damaged ({exc}). Open it in your spreadsheet application, "
            "save it again and re-upload; nothing was imported."
        ) from None


# --- XLSX -----------------------------------------------------------------------------


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


_ATTR_R = re.compile(rb'\br="([A-Z]*)(\d*)"')
_FIRST_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\b(?:\w+:)?id=\"([^\"]+)\"")
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?"')
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")


def xlsx_sheet_name(archive: zipfile.ZipFile) -> str:
    """The part holding the first sheet (in workbook order, as the reader takes it)."""
    names = set(archive.namelist())
    fallback = "xl/worksheets/sheet1.xml"
    try:
        workbook = _head(archive, "xl/workbook.xml")
        rels = _head(archive, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return fallback
    first = _FIRST_SHEET.search(workbook)
    if first is None:
        return fallback
    for attributes in _REL.findall(rels):
        if f'Id="{first.group(1).decode(errors="replace")}"'.encode() not in attributes:
            continue
        target = re.search(rb'Target="([^"]+)"', attributes)
        if target is None:
            break
        path = target.group(1).decode(errors="replace")
        resolved = path.lstrip("/") if path.startswith("/") else str(PurePosixPath("xl") / path)
        parts: list[str] = []
        for part in resolved.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        resolved = "/".join(parts)
        return resolved if resolved in names else fallback
    return fallback


def _greater_than(number: int) -> bytes:
    """Pattern for a decimal number above ``number``, leading zeros allowed, as a group
    followed by the closing quote: longer numbers, or as long with a higher digit
    after a common start."""
    digits = str(number)
    length = len(digits)
    choices = [rb"[1-9]\d{%d,}" % length]
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = length - i - 1
            choices.append(
                digits[:i].encode()
                + b"[%d-9]" % (int(digit) + 1)
                + (rb"\d{%d}" % rest if rest else b"")
            )
    return rb"0*(" + b"|".join(choices) + rb")\""


def _later_row(cell_r: bytes, row: int) -> re.Pattern[bytes]:
    """A cell whose reference names a row after ``row``."""
    return re.compile(re.escape(cell_r) + rb"[A-Z]{1,3}" + _greater_than(row))


def _head(archive: zipfile.ZipFile, name: str, size: int = 4 * BLOCK) -> bytes:
    with archive.open(name) as stream:
        return stream.read(size)


def xlsx_extent(archive: zipfile.ZipFile, sheet: str) -> Extent:
    """The first sheet's used area: its <dimension> first (refused at once when too
    big), then the cells actually there, since <dimension> is optional and can lie."""
    try:
        head = _head(archive, sheet, 64 * 1024)
    except KeyError:
        raise FileError(
            "The Excel file has no worksheet. Open it in your spreadsheet application, "
            "save it again as .xlsx and re-upload; nothing was imported."
        ) from None
    dimension = _DIMENSION.search(head)
    if dimension is not None:
        _, top, right, bottom = dimension.groups()
        left = dimension.group(1)
        end_col, end_row = (right, bottom) if right is not None else (left, top)
        rows = int(end_row) if end_row else 0
        columns = _column_number(end_col) if end_col else 0
        _extent_check(rows, columns, declared=True)
    root = _ROOT.search(head)
    prefix = root.group(1) if root and root.group(1) else b""
    cell_r = b"<" + prefix + b'c r="'
    cell_tags = tuple(b"<" + prefix + b"c" + end for end in (b" ", b">", b"/>"))
    row_tags = tuple(b"<" + prefix + b"row" + end for end in (b" ", b">", b"/>"))
    row_r = b"<" + prefix + b'row r="'
    # Fast path, for sheets whose every <row> and <c> starts with its r="..." (as
    # Excel, LibreOffice and openpyxl write them). Finding every cell's row number
    # costs seconds at union scale, so each block's last cell gives a candidate
    # maximum and one search looks for any cell that names a later row (none, in a
    # sheet written in order); a single-letter column is found by search too.
    cell_row = re.compile(re.escape(cell_r) + rb"[A-Z]{1,3}(\d+)")
    wide_of = re.compile(re.escape(cell_r) + rb"([A-Z]{2,})\d")
    # beyond[n]: a cell in a single-letter column past the n-th (one search per block
    # for the usual sheet, instead of one per letter).
    beyond = [
        re.compile(re.escape(cell_r) + b"([" + bytes(range(65 + n, 91)) + b"])") for n in range(26)
    ]
    max_row = max_col = 0
    for block in _blocks(archive, sheet, overlap=-1):
        cells = sum(block.count(tag) for tag in cell_tags)
        rows = sum(block.count(tag) for tag in row_tags)
        if cells != block.count(cell_r) or rows != block.count(row_r):
            return _xlsx_extent_exact(archive, sheet, re.escape(prefix))
        if cells:
            last = cell_row.match(block, block.rfind(cell_r))
            if last is not None:
                max_row = max(max_row, int(last.group(1)))
            at = 0
            while found := _later_row(cell_r, max_row).search(block, at):
                max_row = int(found.group(1))
                at = found.start() + 1
            wide = set(wide_of.findall(block))
            if wide:
                max_col = max(max_col, max(map(_column_number, wide)))
            at = 0
            while max_col < 26:
                found = beyond[max_col].search(block, at)
                if found is None:
                    break
                max_col = found.group(1)[0] - 64
                at = found.start()
        _extent_check(max_row, max_col)
    return Extent(rows=max_row, columns=max_col)


def _xlsx_extent_exact(archive: zipfile.ZipFile, sheet: str, prefix: bytes) -> Extent:
    """Slow path for sheets whose rows or cells omit r: positions follow on, as the
    reader places them."""
    tag = re.compile(rb"<" + prefix + rb"(row|c)\b([^>]*?)(/?)>")
    row = 0
    column = 0
    max_row = max_col = 0
    for block in _blocks(archive, sheet, overlap=-1):
        for name, attributes, empty in tag.findall(block):
            ref = _ATTR_R.search(attributes)
            if name == b"row":
                row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                column = 0
                continue
            if ref and ref.group(1):
                column = _column_number(ref.group(1))
                if ref.group(2):
                    row = int(ref.group(2))
            else:
                column += 1
            if not empty:
                max_row = max(max_row, row)
                max_col = max(max_col, column)
        _extent_check(max_row, max_col)
    return Extent(rows=max_row, columns=max_col)


# --- ODS ------------------------------------------------------------------------------

_TABLE_NS = rb"urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT_NS = rb"urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _ns_prefix(head: bytes, namespace: bytes, default: bytes) -> bytes:
    found = re.search(rb'xmlns:(\w+)="' + re.escape(namespace) + rb'"', head)
    return found.group(1) if found else default


def ods_extent(archive: zipfile.ZipFile) -> Extent:
    """The first table's used area in content.xml, counting repeated rows and columns
    (table:number-rows-repeated, table:number-columns-repeated) up to the last cell
    with anything in it: the blank padding LibreOffice writes costs nothing."""
    try:
        head = _head(archive, "content.xml", 64 * 1024)
    except KeyError:
        raise FileError(
            "The OpenDocument file has no content. Save it again as .ods and re-upload; "
            "nothing was imported."
        ) from None
    table = re.escape(_ns_prefix(head, _TABLE_NS, b"table"))
    text = re.escape(_ns_prefix(head, _TEXT_NS, b"text"))
    tokens = re.compile(
        rb"<" + table + rb":(table-row|(?:covered-)?table-cell|table)(?![\w-])([^>]*?)(/?)>"
        rb"|</" + table + rb":(table-row|table)(?![\w-])>"
        rb"|<" + text + rb":(tab|line-break)\b"
    )
    rows_repeated = re.compile(table + rb':number-rows-repeated="(\d+)"')
    columns_repeated = re.compile(table + rb':number-columns-repeated="(\d+)"')
    row = 0  # rows before the current one
    repeat = 1
    column = 0
    used_columns = 0  # where the current row's last non-blank cell ends
    max_row = max_col = 0
    depth = 0
    seen_table = False
    inline_breaks = False
    for block in _blocks(archive, "content.xml", overlap=-1):
        for open_name, attributes, empty, close_name, inline in tokens.findall(block):
            if inline:
                inline_breaks = True
            elif open_name == b"table":
                if seen_table and depth == 0:
                    return Extent(rows=max_row, columns=max_col, inline_breaks=inline_breaks)
                seen_table = True
                depth += 1
                if empty:
                    depth -= 1
            elif close_name == b"table":
                depth -= 1
                if depth == 0:
                    return Extent(rows=max_row, columns=max_col, inline_breaks=inline_breaks)
            elif depth != 1:
                continue
            elif open_name == b"table-row":
                found = rows_repeated.search(attributes)
                repeat = int(found.group(1)) if found else 1
                column = used_columns = 0
                if empty:
                    row += repeat
            elif close_name == b"table-row":
                if used_columns:
                    max_row = row + repeat
                    max_col = max(max_col, used_columns)
                    _extent_check(max_row, max_col)
                row += repeat
            elif open_name:  # a cell
                found = columns_repeated.search(attributes)
                span = int(found.group(1)) if found else 1
                column += span
                if not empty or b"value-type" in attributes:
                    used_columns = column
                    _extent_check(row + 1, used_columns)
    return Extent(rows=max_row, columns=max_col, inline_breaks=inline_breaks)


def spreadsheet_check(path: Path, *, kind: str) -> Extent:
    """Check an XLSX or ODS file before it is read; FileError naming what is too big."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive_check(archive, kind=kind)
            if kind == "xlsx":
                return xlsx_extent(archive, xlsx_sheet_name(archive))
            return ods_extent(archive)
    except zipfile.BadZipFile as exc:
        raise FileError(
            f"The spreadsheet is damaged ({exc}). Open it in your spreadsheet application, "
            "save it again and re-upload; nothing was imported."
        ) from None


__all__ = ["Extent", "spreadsheet_check"]
