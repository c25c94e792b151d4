"""Sheet geometry and text fitting, shared by the row builder and the stylesheet.

No WeasyPrint here, so the web process can build rows without importing it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "canvass"
# Images made for one render (QR codes) are addressed with this scheme.
GENERATED_SCHEME = "turnout-generated"

# Why rows are built as they are (measured, see bench/canvass.py): WeasyPrint's cost is
# per box and per glyph, so a supporter is one block holding one line of text. Its
# columns are reached with fixed-width Unicode spaces (em, en, ... hair space): we know
# how wide every piece of text is (the font's advance widths and kerning, as HarfBuzz
# applies them), so each gap is filled to land the next column within ~0.2 mm of where
# the header puts it. (Tabs looked simpler, but WeasyPrint draws a tab 1.024 times as
# wide as Pango lays it out, and a 2px tab grid costs a glyph every half millimetre.)
# test_canvass_pdf checks that the columns line up in the PDF.
_SPACES = (
    ("\u2003", 2048),  # em space (widths in DejaVu Sans units, 2048 to the em)
    ("\u2002", 1024),  # en
    ("\u2004", 675),  # three-per-em
    ("\u2005", 512),  # four-per-em
    ("\u2009", 409),  # thin
    ("\u2006", 342),  # six-per-em
    ("\u200a", 204),  # hair
)
ROW_FONT_PT = 9.0
MM_PER_PT = 25.4 / 72
# Column starts in mm from the left margin. The tick boxes and the rule
# under each row are drawn by rows.png (see sheet.css), the first box at TICKS_MM.
COLUMNS_MM = {"name": 0.0, "role": 56.0, "mobile": 71.0, "status": 96.0, "notes": 158.0}
TICKS_MM = 124.6
# Page geometry (sheet.css): rows have fixed heights, so how many fit on a page is
# known here, and every page's "Page X of Y" is written as text. The rows area under
# the page header holds exactly 41 rows; the summary takes five of them on page one.
ROWS_AREA_MM = 254.2
SUMMARY_MM = 31.0
ROW_MM, EMAIL_ROW_MM = 6.2, 12.4
TICK_PITCH_MM = 8.5
TICK_BOX_MM = 4.2
# Each text is cut to fit before the next column, with this much air.
GAP_MM = 1.0
EMAIL_MAX_MM = 150.0

_FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


# --- text fitting ------------------------------------------------------------------


class _Metrics:
    """Advance widths and Latin pair kerning of one DejaVu Sans face, as HarfBuzz
    would apply them for a name typed in the Latin script."""

    def __init__(self, path: Path):
        from fontTools.ttLib import TTFont

        ttf = TTFont(str(path), lazy=True)
        self.units = ttf["head"].unitsPerEm
        hmtx = ttf["hmtx"].metrics
        self.glyph = ttf.getBestCmap()
        self.advance = {code: hmtx[name][0] for code, name in self.glyph.items()}
        self.subtables = []
        gpos = ttf["GPOS"].table if "GPOS" in ttf else None
        if gpos is None:
            return
        lookups: list[int] = []
        for record in gpos.ScriptList.ScriptRecord:
            if record.ScriptTag == "latn" and record.Script.DefaultLangSys:
                for index in record.Script.DefaultLangSys.FeatureIndex:
                    feature = gpos.FeatureList.FeatureRecord[index]
                    if feature.FeatureTag == "kern":
                        lookups += feature.Feature.LookupListIndex
        for index in lookups:
            lookup = gpos.LookupList.Lookup[index]
            for sub in lookup.SubTable:
                if lookup.LookupType == 9:
                    sub = sub.ExtSubTable
                if type(sub).__name__ == "PairPos":
                    self.subtables.append(self._pairs(sub))

    @staticmethod
    def _pairs(sub):
        covered = set(sub.Coverage.glyphs)
        if sub.Format == 1:
            table = {}
            for first, pair_set in zip(sub.Coverage.glyphs, sub.PairSet, strict=True):
                for record in pair_set.PairValueRecord:
                    value = getattr(record.Value1, "XAdvance", 0) if record.Value1 else 0
                    if value:
                        table[(first, record.SecondGlyph)] = value
            return ("pairs", covered, table)
        class1 = sub.ClassDef1.classDefs if sub.ClassDef1 else {}
        class2 = sub.ClassDef2.classDefs if sub.ClassDef2 else {}
        matrix = [
            [getattr(r.Value1, "XAdvance", 0) if r.Value1 else 0 for r in row.Class2Record]
            for row in sub.Class1Record
        ]
        return ("classes", covered, (class1, class2, matrix))

    def kern(self, left: str, right: str) -> int:
        total = 0
        for kind, covered, data in self.subtables:
            if left not in covered:
                continue
            if kind == "pairs":
                total += data.get((left, right), 0)
            else:
                class1, class2, matrix = data
                total += matrix[class1.get(left, 0)][class2.get(right, 0)]
        return total

    def width_units(self, text: str) -> int:
        total, previous = 0, None
        for ch in text:
            code = ord(ch)
            total += self.advance.get(code, self.units)
            name = self.glyph.get(code)
            if previous is not None and name is not None:
                total += self.kern(previous, name)
            previous = name
        return total


@lru_cache(maxsize=2)
def _font_metrics(font: str) -> _Metrics | None:
    """DejaVu Sans (the sheets' font), or None if it is not installed."""
    for base in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
        path = Path(base) / _FONT_FILES[font]
        if path.is_file():
            return _Metrics(path)
    return None


@lru_cache(maxsize=20000)
def text_width_mm(text: str, size_pt: float = ROW_FONT_PT, font: str = "regular") -> float:
    """Width of ``text`` as laid out (kerning included); generous (a full em) for
    glyphs the font lacks."""
    metrics = _font_metrics(font)
    if metrics is None:
        return len(text) * 0.75 * size_pt * MM_PER_PT
    return metrics.width_units(text) / metrics.units * size_pt * MM_PER_PT


_BREAKING = frozenset({"Cc", "Zs", "Zl", "Zp"})
# Embedding and override marks would reorder the columns that follow a name.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str) -> str:
    """Tabs, newlines and control characters in user data would break the row's
    columns: turn every run of them (and of spaces) into one space."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in _BREAKING or ch in _BIDI_CONTROLS else ch
        for ch in text or ""
    )
    return " ".join(cleaned.split())


def fit(text: str, max_mm: float, size_pt: float = ROW_FONT_PT, font: str = "regular") -> str:
    """``text`` on one line, cut with an ellipsis to at most ``max_mm`` wide."""
    text = one_line(text)
    if text_width_mm(text, size_pt, font) <= max_mm:
        return text
    while text and text_width_mm(text + "…", size_pt, font) > max_mm:
        text = text[:-1]
    return text.rstrip() + "…"


def gap_filler(gap_mm: float, size_pt: float = ROW_FONT_PT) -> str:
    """Spaces adding up to ``gap_mm`` (to the nearest half hair space)."""
    units = gap_mm / (size_pt * MM_PER_PT) * 2048
    parts = []
    for char, width in _SPACES:
        count = int(units // width)
        parts.append(char * count)
        units -= count * width
    if units > _SPACES[-1][1] / 2:
        parts.append(_SPACES[-1][0])
    return "".join(parts)


def columns_line(
    cells: list[tuple[float, str]],
    size_pt: float = ROW_FONT_PT,
    font: str = "regular",
    *,
    start_mm: float = 0.0,
) -> str:
    """One line with each ``(start_mm, text)`` cell starting at ``start_mm``.

    Texts must already fit before the next cell (see ``fit``). ``start_mm`` is where
    the line begins when something else (a name cell) comes before it."""
    parts: list[str] = []
    x = start_mm
    for start, cell in cells:
        gap = start - x
        filler = gap_filler(gap, size_pt) if gap > 0 else (" " if parts else "")
        # DejaVu Sans does not kern spaces, so widths add up piece by piece.
        x += text_width_mm(filler, size_pt, font) + text_width_mm(cell, size_pt, font)
        parts += [filler, cell]
    return "".join(parts)


def column_width(name: str) -> float:
    order = ["name", "role", "mobile", "status"]
    following = COLUMNS_MM[order[order.index(name) + 1]] if name != "status" else TICKS_MM
    return following - COLUMNS_MM[name] - GAP_MM


# --- names -------------------------------------------------------------------------
#
# A name is how the person with the sheet recognises a supporter, so it is never cut:
# "Surname, First name" at the row's size if it fits; else the same line a little
# smaller; else two (then three) lines in the row's height, the surname whole on the
# first. Only those rare rows cost an extra box (a span; an inline block when wrapped),
# and a row stays one row high, so pagination is unchanged. Sizes come in half-point
# steps, each a class in sheet.css (.n85 is 8.5pt).
ONE_LINE_SIZES_PT = (9.0, 8.5, 8.0, 7.5, 7.0)
MULTI_LINE_SIZES_PT = {2: (6.5, 6.0, 5.5, 5.0, 4.5), 3: (4.5, 4.0)}


@dataclass(frozen=True)
class NameCell:
    lines: tuple[str, ...]
    size_pt: float

    @property
    def css_class(self) -> str:
        """ "" for the plain row; else the size class (and line-count class)."""
        classes = []
        if len(self.lines) > 1:
            classes += ["nl", f"nl{len(self.lines)}"]
        if self.size_pt != ROW_FONT_PT or len(self.lines) > 1:
            classes.append(f"n{round(self.size_pt * 10)}")
        return " ".join(classes)

    @property
    def width_mm(self) -> float:
        if len(self.lines) > 1:
            return column_width("name")  # the inline block is exactly this wide
        return text_width_mm(self.lines[0], self.size_pt)


def sort_name(first_name: str, last_name: str) -> str:
    """ "Surname, First name" (as sheets are sorted), or whichever part there is."""
    first, last = one_line(first_name), one_line(last_name)
    if first and last:
        return f"{last}, {first}"
    return last or first


def _wrap(text: str, max_mm: float, size_pt: float) -> list[str]:
    """Greedy line breaks after spaces and hyphens."""
    pieces = [piece for piece in re.split(r"(?<=[ \-])", text) if piece]
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + piece
        if current and text_width_mm(candidate.rstrip(), size_pt) > max_mm:
            lines.append(current.rstrip())
            current = piece
        else:
            current = candidate
    if current.strip():
        lines.append(current.rstrip())
    return lines


def name_cell(first_name: str, last_name: str, max_mm: float | None = None) -> NameCell:
    """Lay out a supporter's name to fit the name column without cutting it."""
    max_mm = column_width("name") if max_mm is None else max_mm
    text = sort_name(first_name, last_name)
    for size in ONE_LINE_SIZES_PT:
        if text_width_mm(text, size) <= max_mm:
            return NameCell((text,), size)
    last, first = one_line(last_name), one_line(first_name)
    for count, sizes in MULTI_LINE_SIZES_PT.items():
        for size in sizes:
            # Surname (whole) on the first line, first names under it, when that fits.
            preferred = [f"{last},", *_wrap(first, max_mm, size)] if last and first else []
            for lines in (preferred, _wrap(text, max_mm, size)):
                if (
                    lines
                    and len(lines) <= count
                    and all(text_width_mm(line, size) <= max_mm for line in lines)
                ):
                    return NameCell(tuple(lines), size)
    # Beyond three lines at 4pt (a name over ~150 characters): the surname still whole
    # if it can be, the first names cut.
    size = MULTI_LINE_SIZES_PT[3][-1]
    lines = _wrap(text, max_mm, size)
    kept = lines[:2] + [fit(" ".join(lines[2:]), max_mm, size)] if len(lines) > 3 else lines
    return NameCell(tuple(fit(line, max_mm, size) for line in kept), size)


@dataclass(frozen=True)
class RowText:
    """A supporter's row: the name cell, then the other columns as one line of text
    (starting where the name cell ends), then the email line when asked for."""

    name: NameCell
    rest: str
    email: str | None = None


def row_layout(
    *, first_name: str, last_name: str, role: str, mobile: str, status: str, email: str | None
) -> RowText:
    name = name_cell(first_name, last_name)
    rest = columns_line(
        [
            (COLUMNS_MM["role"], fit(role, column_width("role"))),
            (COLUMNS_MM["mobile"], fit(mobile, column_width("mobile"))),
            (COLUMNS_MM["status"], fit(status, column_width("status"))),
        ],
        start_mm=name.width_mm,
    )
    return RowText(
        name=name, rest=rest, email=fit(email, EMAIL_MAX_MM) if email is not None else None
    )


def row_text(
    *, first_name: str, last_name: str, role: str, mobile: str, status: str, email: str | None
) -> str:
    """The row as plain text (name lines joined by a space): what a reader sees."""
    row = row_layout(
        first_name=first_name,
        last_name=last_name,
        role=role,
        mobile=mobile,
        status=status,
        email=email,
    )
    line = " ".join(row.name.lines) + row.rest
    return line + ("\n" + row.email if row.email is not None else "")


HEADER_PT, TICK_LABEL_PT = 7.0, 5.5


@lru_cache(maxsize=1)
def header_lines() -> tuple[str, str, str]:
    """The column labels: two small lines over the tick boxes, then the main line."""

    def over_boxes(labels: list[str]) -> str:
        cells = []
        for k, label in enumerate(labels):
            if label:
                centre = TICKS_MM + TICK_BOX_MM / 2 + k * TICK_PITCH_MM
                cells.append((centre - text_width_mm(label, TICK_LABEL_PT) / 2, label))
        return columns_line(cells, TICK_LABEL_PT)

    main = columns_line(
        [
            (COLUMNS_MM["name"], "Name"),
            (COLUMNS_MM["role"], "Role"),
            (COLUMNS_MM["mobile"], "Mobile"),
            (COLUMNS_MM["status"], "GOTV status"),
            (COLUMNS_MM["notes"], "Notes"),
        ],
        HEADER_PT,
        "bold",
    )
    return (
        over_boxes(["", "", "Not", "Won't"]),
        over_boxes(["Voted", "Pledged", "reached", "vote"]),
        main,
    )


@dataclass(frozen=True)
class Assets:
    """Where the PDF's own assets live; picklable for the worker processes."""

    static_url: str  # absolute URL of the static root, e.g. https://site/static/
    asset_dir: str = str(ASSET_DIR)

    def fetcher(self, generated=None):
        from campaign.canvass.fetcher import CanvassURLFetcher

        return CanvassURLFetcher(
            static_url=self.static_url, asset_dir=self.asset_dir, generated=generated
        )

    @property
    def stylesheet_url(self) -> str:
        return f"{self.static_url}canvass/sheet.css"


def rows_per_page(*, with_email: bool) -> tuple[int, int]:
    """(rows on a school's first page, under its summary; rows on each later page)."""
    row = EMAIL_ROW_MM if with_email else ROW_MM
    return (
        int((ROWS_AREA_MM - SUMMARY_MM) / row + 1e-6),
        int(ROWS_AREA_MM / row + 1e-6),
    )


def paginate(count: int, *, with_email: bool) -> list[range]:
    """Row index ranges, one per page (an empty school still gets its one page)."""
    first, later = rows_per_page(with_email=with_email)
    pages = [range(0, min(count, first))]
    start = first
    while start < count:
        pages.append(range(start, min(count, start + later)))
        start += later
    return pages


@dataclass(frozen=True)
class Doc:
    """Part of a document: its HTML body, how many pages it must come to (0 when not
    known in advance), and the URL its QR code should carry."""

    html: str
    pages: int = 0
    qr_url: str = ""
    qr_key: str = ""


@dataclass
class Rendered:
    pdf: bytes
    page_counts: list[int] = field(default_factory=list)


def qr_key(name: str) -> str:
    return f"{GENERATED_SCHEME}:qr/{name}"
