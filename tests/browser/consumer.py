"""A real Huey consumer for the browser journeys, in a thread of the test process.

The views enqueue drive batches into the suite's real queue (SqliteHuey, or Redis with
REDIS_URL) on commit; this worker dequeues and executes them exactly as ``run_huey``'s
workers do (``HUEY.dequeue`` / ``HUEY.execute``, retries and scheduled tasks included),
so a journey exercises the send engine end to end: claims, chunks, the rate limiter,
pause between batches, the finish.

With the embedded default the test database is SQLite in memory, which the live
server shares as one connection across its threads; the worker uses that connection
too, so a lock keeps one request or one task at a time on it (their transactions
never interleave). On PostgreSQL every thread has its own connection and there is no
lock: RedisHuey's dequeue blocks for up to a second, and holding a lock across it would
starve the live server's requests. ``pause`` seconds between tasks let a person watch
progress."""

from __future__ import annotations

import contextlib
import threading
import time

from django.db import connections
from django.utils.module_loading import autodiscover_modules
from huey import signals
from huey.contrib.djhuey import HUEY

# One lock for every user of the shared in-memory SQLite connection: the live server's
# requests, the consumer's tasks, and the test's own queries while a consumer runs
# (the sign-in fixture takes it too). SQLite answers "database table is locked" when
# two threads use that connection at once.
DB_LOCK = threading.RLock()


class ThreadConsumer:
    def __init__(self, live_server, *, pause: float = 0.3):
        self.live_server = live_server
        self.pause = pause
        # The live server shares one connection only for an in-memory SQLite database.
        self.shared_connection = bool(live_server.thread.connections_override)
        self.lock = DB_LOCK if self.shared_connection else contextlib.nullcontext()
        self.errors: list[str] = []
        self.executed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._httpd = live_server.thread.httpd
        self._app = self._httpd.get_app()

    def _locked_app(self, environ, start_response):
        with self.lock:
            return list(self._app(environ, start_response))

    def _failed(self, signal, task, exc=None):
        self.errors.append(f"{task}: {exc!r}")

    def start(self) -> ThreadConsumer:
        # As run_huey does: every app's tasks module registers its tasks before the first
        # dequeue, or a task queued by a module this process has not imported yet is
        # "not found in TaskRegistry".
        autodiscover_modules("tasks")
        HUEY.flush()  # tasks other tests left in the suite's queue are not this journey's
        HUEY.signal(signals.SIGNAL_ERROR)(self._failed)
        if self.shared_connection:
            self._httpd.set_app(self._locked_app)
        self._thread = threading.Thread(target=self._run, name="huey-test-consumer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        for alias, connection in self.live_server.thread.connections_override.items():
            connections[alias] = connection
        try:
            while not self._stop.is_set():
                with self.lock:
                    for task in HUEY.read_schedule(HUEY._get_timestamp()):
                        HUEY.enqueue(task)
                    task = HUEY.dequeue()
                    if task is not None:
                        HUEY.execute(task)  # a task's exception reaches _failed
                        self.executed += 1
                time.sleep(self.pause if task is not None else 0.05)
        finally:
            if not self.shared_connection:
                connections.close_all()  # this thread's own; the test database is dropped later

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._httpd.set_app(self._app)
        # A consumer still running would share the connection with the next test's.
        assert self._thread is None or not self._thread.is_alive(), "the consumer did not stop"
        HUEY.disconnect_signal(self._failed, signals.SIGNAL_ERROR)
        assert not self.errors, f"tasks failed in the consumer: {self.errors!r}"
