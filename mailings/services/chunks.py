"""How many rows go in one ESP call: sized from the measured time of recent calls, so
a slow ESP does not put thousands of rows in one call (a killed worker leaves at most
one call's rows unknown) while a fast one still gets big calls."""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager

from django.conf import settings


class ChunkSizer:
    """Rows per ESP call from the measured time of this process's recent calls.

    The smallest call that lets this process's sending tasks together keep up with
    ``EMAIL_SEND_RATE`` (with 50% headroom), within ``chunk_cap``: n = rate / tasks
    sending here × seconds per call × 1.5. If a bigger call takes longer (per-row cost)
    the next estimate grows, so it settles on what the rate needs, or on the cap when
    nothing smaller can keep up. (Other consumer processes share the rate too, so this
    errs on the big side, never below what one process needs.)"""

    HEADROOM = 1.5
    MINIMUM = 10
    ALPHA = 0.3

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.active = 0
        self._lock = threading.Lock()

    @contextmanager
    def sending(self):
        """Count a batch task as sending in this process while it runs."""
        with self._lock:
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def size(self, *, esp_name: str, cap: int) -> int:
        per_call = self.seconds.get(esp_name)
        if per_call is None:
            return cap  # nothing measured yet: the configured ceiling
        share = settings.EMAIL_SEND_RATE / max(1, self.active)
        need = math.ceil(share * per_call * self.HEADROOM)
        return max(1, min(cap, max(self.MINIMUM, need)))

    def observe(self, *, esp_name: str, seconds: float) -> None:
        before = self.seconds.get(esp_name)
        self.seconds[esp_name] = (
            seconds if before is None else before + self.ALPHA * (seconds - before)
        )


chunk_sizer = ChunkSizer()
