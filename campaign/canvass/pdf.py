"""WeasyPrint rendering of canvass sheets, in-process or on a small process pool.

Why the sheets look the way they do (measured, see bench/canvass.py):

* WeasyPrint's cost is per box. A bordered table cell per field costs ~6 boxes a
  row; here a row is one block holding one line of text whose columns are reached
  with tabs (layout.py), and the tick boxes and rules are one repeating background
  image painted once per page (sheet.css).
* Each school is its own small document (so "Page X of Y" counts that school's pages
  and every school starts on a new page) laid out with a shared font configuration,
  stylesheet and image cache; the pages of many schools are then written as one PDF,
  so fonts are subset once per chunk.
* A district pack splits its schools into contiguous chunks laid out by worker
  processes in parallel and merged with pypdf; the cover page is laid out meanwhile.

Plain Python (no Django): this module is what the worker processes import.
"""

from __future__ import annotations

import atexit
import io
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import segno
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from campaign.canvass.layout import Assets, Doc, Rendered

# fontTools narrates every font subset at INFO; nobody needs that in the logs.
logging.getLogger("fontTools").setLevel(logging.WARNING)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)


# --- rendering -----------------------------------------------------------------------


_process_state: dict[str, object] = {}


def _font_config_and_css(assets: Assets) -> tuple[FontConfiguration, CSS]:
    """One font configuration and parsed stylesheet per process, reused by every doc."""
    key = f"css:{assets.static_url}:{assets.asset_dir}"
    if key not in _process_state:
        font_config = FontConfiguration()
        css = CSS(url=assets.stylesheet_url, url_fetcher=assets.fetcher(), font_config=font_config)
        _process_state[key] = (font_config, css)
    return _process_state[key]  # type: ignore[return-value]


def qr_png(url: str) -> bytes:
    # Any of the eight masks is a valid code; choosing one by segno's penalty search
    # encodes the symbol eight times, which is most of a QR's cost here. A short URL
    # printed 28 mm wide scans fine with a fixed one.
    buffer = io.BytesIO()
    segno.make_qr(url, error="m", mask=4).save(buffer, kind="png", scale=4, border=2)
    return buffer.getvalue()


DOC_START = '<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Canvass sheets</title></head><body>'
DOC_END = "</body></html>"


class LayoutMismatch(RuntimeError):
    """WeasyPrint made a different number of pages than layout.paginate planned."""


def render_docs(docs: Sequence[Doc], assets: Assets) -> Rendered:
    """Lay out the docs as one document and write it as one PDF.

    School sheets are planned page by page (layout.paginate) and carry their own
    "Page X of Y"; if WeasyPrint ever made a different number of pages (layout.py and
    sheet.css out of step) the numbering would lie, so that is an error, not a PDF.
    """
    font_config, css = _font_config_and_css(assets)
    generated = {doc.qr_key: (qr_png(doc.qr_url), "image/png") for doc in docs if doc.qr_key}
    fetcher = assets.fetcher(generated)
    html = DOC_START + "".join(doc.html for doc in docs) + DOC_END
    document = HTML(string=html, base_url=assets.static_url, url_fetcher=fetcher).render(
        stylesheets=[css], font_config=font_config, cache={}
    )
    planned = [doc.pages for doc in docs]
    if all(planned):
        if len(document.pages) != sum(planned):
            raise LayoutMismatch(
                f"Laid out {len(document.pages)} pages, not the {sum(planned)} planned."
            )
        return Rendered(pdf=document.write_pdf(), page_counts=planned)
    return Rendered(pdf=document.write_pdf(), page_counts=[len(document.pages)])


# --- parallel packs ------------------------------------------------------------------

MAX_ROWS_PER_CHUNK = 1500

_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def _start_method() -> str:
    # forkserver: children fork from a clean single-threaded server that has already
    # imported WeasyPrint, so they start in milliseconds and never inherit the locks
    # of a threaded web server or Huey consumer (which plain fork could deadlock on).
    wanted = os.environ.get("CANVASS_PDF_START_METHOD", "forkserver")
    return wanted if wanted in multiprocessing.get_all_start_methods() else "spawn"


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context(_start_method())
            if context.get_start_method() == "forkserver":
                context.set_forkserver_preload([__name__])
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            _pool_size = workers
        return _pool


def _reset_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


atexit.register(_reset_pool)


def warm_pool(workers: int, *, wait_ready: bool = True) -> None:
    """Start the worker processes now (they import WeasyPrint as they start), so that
    their start-up overlaps the database work that precedes a render."""
    pool = _get_pool(workers)
    futures = [pool.submit(_warm, n) for n in range(workers)]
    if wait_ready:
        for future in futures:
            future.result()


def _warm(_: int) -> int:
    return os.getpid()


def chunk_by_weight(weights: Sequence[int], chunks: int) -> list[range]:
    """Split indexes 0..n-1 into at most ``chunks`` contiguous ranges of similar weight."""
    n = len(weights)
    if n == 0:
        return []
    chunks = max(1, min(chunks, n))
    total = sum(max(w, 1) for w in weights)
    ranges, start, acc = [], 0, 0
    for index, weight in enumerate(weights):
        acc += max(weight, 1)
        remaining_chunks = chunks - len(ranges) - 1
        if remaining_chunks and acc >= total * (len(ranges) + 1) / chunks and n - index - 1 >= 1:
            ranges.append(range(start, index + 1))
            start = index + 1
    ranges.append(range(start, n))
    return ranges


def render_pack(
    *,
    cover: Doc | None,
    docs: Sequence[Doc],
    weights: Sequence[int],
    assets: Assets,
    workers: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> Rendered:
    """Cover + every doc as one PDF, laying out chunks of docs on ``workers`` processes.

    ``on_progress(done)`` is called with the number of docs finished so far.
    """
    if workers <= 1 or len(docs) < 2:
        parts = [render_docs([cover], assets)] if cover else []
        body = render_docs(docs, assets) if docs else None
        if on_progress:
            on_progress(len(docs))
        return _merge(parts + ([body] if body else []))
    # At least one chunk per worker; more for big districts, so a worker never holds
    # more than ~MAX_ROWS_PER_CHUNK rows of laid-out pages in memory at once.
    chunks = max(workers, -(-sum(weights) // MAX_ROWS_PER_CHUNK))
    ranges = chunk_by_weight(weights, chunks)
    pool = _get_pool(workers)
    futures: dict[Future, int] = {
        pool.submit(render_docs, [docs[i] for i in chunk], assets): index
        for index, chunk in enumerate(ranges)
    }
    # The cover is small: lay it out here while the workers do the schools.
    cover_part = render_docs([cover], assets) if cover else None
    results: dict[int, Rendered] = {}
    done_docs = 0
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            index = futures[future]
            results[index] = future.result()
            done_docs += len(ranges[index])
            if on_progress:
                on_progress(done_docs)
    ordered = [results[i] for i in range(len(ranges))]
    return _merge(([cover_part] if cover_part else []) + ordered)


def _merge(parts: Sequence[Rendered]) -> Rendered:
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    counts: list[int] = []
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part.pdf)))
        counts.extend(part.page_counts)
    out = io.BytesIO()
    writer.write(out)
    return Rendered(pdf=out.getvalue(), page_counts=counts)
