"""Sheet geometry and text fitting, shared by the row builder and the stylesheet.

No WeasyPrint here, so the web process can build rows without importing it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "canvass"
# Images made for one render (QR codes) are addressed with this scheme.
GENERATED_SCHEME = "turnout-generated"

# Row geometry, shared by the stylesheet (sheet.css) and the row builder below.
NAME_FONT_PT = 9.0
NAME_COLUMN_MM = 58.0
# Names are cut to this width so the tab after them always reaches NAME_COLUMN_MM.
NAME_MAX_MM = NAME_COLUMN_MM - 3.0
# Monospaced columns after the name, in characters.
ROLE_CHARS, MOBILE_CHARS, STATUS_CHARS = 9, 13, 16
EMAIL_CHARS = 100
MM_PER_PT = 25.4 / 72


# --- text fitting ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _name_font_metrics() -> tuple[dict[int, int], int] | None:
    """Advance widths of the name font (DejaVu Sans), or None if it is not installed."""
    from fontTools.ttLib import TTFont

    for base in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
        path = Path(base) / "DejaVuSans.ttf"
        if path.is_file():
            font = TTFont(str(path), lazy=True)
            cmap = font.getBestCmap()
            hmtx = font["hmtx"].metrics
            widths = {code: hmtx[glyph][0] for code, glyph in cmap.items()}
            return widths, font["head"].unitsPerEm
    return None


def text_width_mm(text: str, size_pt: float = NAME_FONT_PT) -> float:
    """Width of ``text`` in the name font; generous for glyphs the font lacks."""
    metrics = _name_font_metrics()
    if metrics is None:
        return len(text) * 0.75 * size_pt * MM_PER_PT
    widths, units = metrics
    total = sum(widths.get(ord(ch), units) for ch in text)
    return total / units * size_pt * MM_PER_PT


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


def fit_name(name: str, max_mm: float = NAME_MAX_MM) -> str:
    name = one_line(name)
    if text_width_mm(name) <= max_mm:
        return name
    while name and text_width_mm(name + "…") > max_mm:
        name = name[:-1]
    return name.rstrip() + "…"


def fit_chars(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` monospaced characters."""
    text = one_line(text)
    if len(text) > width - 1:
        text = text[: width - 2] + "…"
    return text.ljust(width)


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


@dataclass(frozen=True)
class Doc:
    """One document to lay out: its HTML and the URL its QR code should carry."""

    html: str
    qr_url: str = ""
    qr_key: str = ""


@dataclass
class Rendered:
    pdf: bytes
    page_counts: list[int] = field(default_factory=list)


def qr_key(name: str) -> str:
    return f"{GENERATED_SCHEME}:qr/{name}"
