"""A real Huey consumer for the browser journeys, in a thread of the test process.

The views enqueue drive batches into the suite's real queue (SqliteHuey, or Redis with
REDIS_URL) on commit; this worker dequeues and executes them exactly as ``run_huey``'s
workers do (``HUEY.dequeue`` / ``HUEY.execute``, retries and scheduled tasks included),
so a journey exercises the send engine end to end: claims, chunks, the rate limiter,
pause between batches, the finish.

The worker has its own database connection, as each of the live server's request
threads has (on the embedded default the test database is a WAL file, see
tests/settings.py), so requests and tasks overlap as they do in the product. ``pause``
seconds between tasks let a person watch progress."""

from __future__ import annotations

import threading
import time

from django.db import connections
from django.utils.module_loading import autodiscover_modules
from huey import signals
from huey.contrib.djhuey import HUEY


class ThreadConsumer:
    def __init__(self, *, pause: float = 0.3):
        self.pause = pause
        self.errors: list[str] = []
        self.executed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _failed(self, signal, task, exc=None):
        self.errors.append(f"{task}: {exc!r}")

    def start(self) -> ThreadConsumer:
        # As run_huey does: every app's tasks module registers its tasks before the first
        # dequeue, or a task queued by a module this process has not imported yet is
        # "not found in TaskRegistry".
        autodiscover_modules("tasks")
        HUEY.flush()  # tasks other tests left in the suite's queue are not this journey's
        HUEY.signal(signals.SIGNAL_ERROR)(self._failed)
        self._thread = threading.Thread(target=self._run, name="huey-test-consumer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for task in HUEY.read_schedule(HUEY._get_timestamp()):
                    HUEY.enqueue(task)
                task = HUEY.dequeue()
                if task is not None:
                    HUEY.execute(task)  # a task's exception reaches _failed
                    self.executed += 1
                time.sleep(self.pause if task is not None else 0.05)
        finally:
            connections.close_all()  # this thread's own; the test database is dropped later

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        # A consumer still running would take the next test's tasks.
        assert self._thread is None or not self._thread.is_alive(), "the consumer did not stop"
        HUEY.disconnect_signal(self._failed, signals.SIGNAL_ERROR)
        assert not self.errors, f"tasks failed in the consumer: {self.errors!r}"
