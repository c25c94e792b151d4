"""Hostile spreadsheets, built at test time without writing gigabytes anywhere.

A member that expands to gigabytes is one small deflate block repeated: each block is
ended with a full flush, so it refers to nothing before it and N copies of its bytes
are a valid stream of N times the data (the CRC is computed over the real content).
The zip is written by hand, as zipfile would write it, with the true sizes declared.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

MB = 1024 * 1024

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
    "//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    '" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats'
    '.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Supporters" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
    '//schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="'
    'worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
    '.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"
_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Consent to email</t></is></c></row>'
)
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:'
    'oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:'
    'opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:'
    'text:1.0" office:version="1.2"><office:body><office:spreadsheet>'
    '<table:table table:name="Supporters">'
)
_ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>"
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
    'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry'
    ' manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
    'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-'
    'type="text/xml"/></manifest:manifest>'
)


def _text_cell(value: str, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return (
        f'<table:table-cell{repeated} office:value-type="string"><text:p>{value}</text:p>'
        "</table:table-cell>"
    )


_ODS_HEADER_ROW = (
    f"<table:table-row>{_text_cell('Email')}{_text_cell('Consent to email')}</table:table-row>"
)
_ODS_SUPPORTER_ROW = (
    f"<table:table-row>{_text_cell('ada@example.org')}{_text_cell('yes')}</table:table-row>"
)


class _Member:
    """One zip member's compressed bytes, with its true size and CRC."""

    def __init__(self, name: str, head: str, block: str = "", times: int = 0, tail: str = ""):
        self.name = name
        head_bytes, block_bytes, tail_bytes = head.encode(), block.encode(), tail.encode()
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        parts = [compressor.compress(head_bytes), compressor.flush(zlib.Z_FULL_FLUSH)]
        crc = zlib.crc32(head_bytes)
        if times:
            repeated = compressor.compress(block_bytes) + compressor.flush(zlib.Z_FULL_FLUSH)
            parts.append(repeated * times)
            for _ in range(times):
                crc = zlib.crc32(block_bytes, crc)
        parts += [compressor.compress(tail_bytes), compressor.flush(zlib.Z_FINISH)]
        self.data = b"".join(parts)
        self.crc = zlib.crc32(tail_bytes, crc)
        self.size = len(head_bytes) + len(block_bytes) * times + len(tail_bytes)
        if self.size >= 1 << 32:
            raise ValueError("keep crafted members under 4 GiB (no ZIP64 here)")


def _write_zip(path: Path, members: list[_Member]) -> Path:
    central = []
    with open(path, "wb") as out:
        for member in members:
            name = member.name.encode()
            offset = out.tell()
            header = struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                0,
                8,
                0,
                0x21,
                member.crc,
                len(member.data),
                member.size,
                len(name),
                0,
            )
            out.write(header + name + member.data)
            central.append(
                struct.pack(
                    "<4sHHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    member.crc,
                    len(member.data),
                    member.size,
                    len(name),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + name
            )
        start = out.tell()
        directory = b"".join(central)
        out.write(directory)
        out.write(
            struct.pack(
                "<4sHHHHIIH",
                b"PK\x05\x06",
                0,
                0,
                len(members),
                len(members),
                len(directory),
                start,
                0,
            )
        )
    return path


def _xlsx(path: Path, sheet: _Member, *extra: _Member) -> Path:
    return _write_zip(
        path,
        [
            _Member("[Content_Types].xml", _CONTENT_TYPES),
            _Member("_rels/.rels", _RELS),
            _Member("xl/workbook.xml", _WORKBOOK),
            _Member("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            sheet,
            *extra,
        ],
    )


def _ods(path: Path, content: _Member) -> Path:
    return _write_zip(
        path,
        [
            _Member("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
            _Member("META-INF/manifest.xml", _ODS_MANIFEST),
            content,
        ],
    )


def xlsx_sheet_of_gigabytes(path: Path, gigabytes: float = 2.0) -> Path:
    """A sheet with no <dimension> whose XML is gigabytes of empty rows."""
    block = "<row><c/></row>" * (MB // 15)
    times = int(gigabytes * 1024 * MB / len(block))
    sheet = _Member(
        "xl/worksheets/sheet1.xml", _SHEET_HEAD + _HEADER_ROW, block, times, _SHEET_TAIL
    )
    return _xlsx(path, sheet)


def xlsx_huge_shared_strings(path: Path, megabytes: int = 400) -> Path:
    """A small sheet pointing into a table of text hundreds of megabytes long."""
    item = "<si><t>" + "x" * 1000 + "</t></si>"
    block = item * (MB // len(item))
    strings = _Member(
        "xl/sharedStrings.xml",
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org'
        '/spreadsheetml/2006/main">',
        block,
        megabytes,
        "</sst>",
    )
    sheet = _Member(
        "xl/worksheets/sheet1.xml",
        _SHEET_HEAD
        + _HEADER_ROW
        + '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>'
        + _SHEET_TAIL,
    )
    return _xlsx(path, sheet, strings)


def xlsx_two_far_cells(path: Path) -> Path:
    """Two cells, A1 and XFD1048576: a one-kilobyte file whose used area is the whole
    grid (17 billion cells for a reader to hold)."""
    sheet = _Member(
        "xl/worksheets/sheet1.xml",
        _SHEET_HEAD
        + _HEADER_ROW
        + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        + _SHEET_TAIL,
    )
    return _xlsx(path, sheet)


def ods_of_blank_rows(path: Path, gigabytes: float = 1.5) -> Path:
    """content.xml of gigabytes of blank rows, one after another."""
    block = "<table:table-row><table:table-cell/></table:table-row>" * (MB // 54)
    times = int(gigabytes * 1024 * MB / len(block))
    content = _Member(
        "content.xml", _ODS_HEAD + _ODS_HEADER_ROW, block, times, _ODS_SUPPORTER_ROW + _ODS_TAIL
    )
    return _ods(path, content)


def ods_repeated_blank_rows(path: Path, rows: int = 50_000_000) -> Path:
    """One blank row repeated millions of times (number-rows-repeated), then a supporter."""
    padding = (
        f'<table:table-row table:number-rows-repeated="{rows}">'
        '<table:table-cell table:number-columns-repeated="2"/></table:table-row>'
    )
    content = _Member(
        "content.xml", _ODS_HEAD + _ODS_HEADER_ROW + padding + _ODS_SUPPORTER_ROW + _ODS_TAIL
    )
    return _ods(path, content)


def ods_row_of_repeated_columns(path: Path, columns: int = 200_000_000) -> Path:
    """A supporter row whose last cell is repeated across 200 million columns."""
    row = (
        f"<table:table-row>{_text_cell('ada@example.org')}{_text_cell('yes')}"
        f"{_text_cell('Glasgow', columns)}</table:table-row>"
    )
    content = _Member("content.xml", _ODS_HEAD + _ODS_HEADER_ROW + row + _ODS_TAIL)
    return _ods(path, content)


def csv_rows(path: Path, rows: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Email,First name,Consent to email\r\n")
        out.writelines(f"p{n}@example.org,Pat,yes\r\n" for n in range(rows))
    return path


def csv_with_a_huge_cell(path: Path, megabytes: int = 100) -> Path:
    """A quoted cell that never ends: a sparse file, so the disk holds only its ends."""
    with open(path, "wb") as out:
        out.write(b'Email,Consent to email,Notes\r\nada@example.org,yes,"')
        out.seek(megabytes * MB)
        out.write(b'"\r\n')
    return path
