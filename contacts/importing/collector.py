"""Python's cyclic garbage collector, held back while a file is imported.

An import allocates millions of small objects (cells, rows, report entries) that
reference counting frees as it goes; almost none are in cycles. With the default
thresholds the collector still runs thousands of times over them, and each full pass
walks everything the import keeps (the addresses seen, the report): at 450,000 rows it
took 9 to 10 s of a 46 s XLSX import. With a young generation of 100,000 objects and
the older generations left until the import ends, it takes half a second.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_THRESHOLDS = (100_000, 50, 1_000)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def collector_relaxed() -> Iterator[None]:
    """Raise the collector's thresholds for the block; the last of several blocks
    running at once (queued imports share a consumer process) puts them back."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*_THRESHOLDS)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


__all__ = ["collector_relaxed"]
