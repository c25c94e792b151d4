"""Regenerate the row images in campaign/static/canvass/ from layout.py's geometry:
``python -m campaign.canvass.assets``.

Each image is one row period: the rule under the row and the four tick boxes. sheet.css
repeats it down the list, so the boxes cost one paint per page, not one per row.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from campaign.canvass import layout

PX_PER_MM = 12
ROW_MM, EMAIL_ROW_MM = 6.2, 12.4


def _png(width_px: int, rows: list[bytearray]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width_px, len(rows), 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def row_image(height_mm: float, box_top_mm: float = 1.0) -> bytes:
    width, height = round(186 * PX_PER_MM), round(height_mm * PX_PER_MM)
    rows = [bytearray([255]) * width for _ in range(height)]
    rows[-1][:] = bytes([150]) * width  # the grey rule under the row
    side, stroke, top = round(layout.TICK_BOX_MM * PX_PER_MM), 2, round(box_top_mm * PX_PER_MM)
    for k in range(4):
        left = round((layout.TICKS_MM + k * layout.TICK_PITCH_MM) * PX_PER_MM)
        for i in range(side):
            for t in range(stroke):
                rows[top + t][left + i] = rows[top + side - 1 - t][left + i] = 0
                rows[top + i][left + t] = rows[top + i][left + side - 1 - t] = 0
    return _png(width, rows)


def main() -> None:
    for name, height in (("rows.png", ROW_MM), ("rows-email.png", EMAIL_ROW_MM)):
        path = Path(layout.ASSET_DIR) / name
        path.write_bytes(row_image(height))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
