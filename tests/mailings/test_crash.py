"""Real queue consumers killed mid-drive never send anyone twice.

The drive runs in real ``manage.py run_huey`` processes (SqliteHuey by default, Redis
when REDIS_URL is set) against a database of its own (a SQLite file, or a fresh
PostgreSQL database when DATABASE_URL points at PostgreSQL), sending through
Anymail's real Mailgun backend to the fake ESP, whose log is the ground truth. A
sweeper process stands in for the periodic sweep at a faster cadence.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from mailings.fake_esp import FakeESPServer, read_log

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def crash_env(tmp_path):
    """Environment for every process of one drive: database, queue, ESP and timings."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.mailings.crash_settings",
        "TURNOUT_VAR_DIR": str(tmp_path / "var"),
        "HUEY_NAME": f"crash-{uuid.uuid4().hex[:12]}",
        "HUEY_WORKERS": "2",
        "MAILING_BATCH_SIZE": "20",
        "MAILING_LEASE_SECONDS": "3",
        "MAILING_STALL_SECONDS": "3",
        "MAILING_RETRY_BASE_SECONDS": "0.2",
        "MAILING_MAX_ATTEMPTS": "30",
        "MAILING_APPROVAL_THRESHOLD": "100000",
        # The fake ESP's log has no indexing lag: reconciliation may trust it at once.
        "MAILING_RECONCILE_LAG_SECONDS": "0",
        "ESP_TIMEOUT_SECONDS": "2",
    }
    database = settings.DATABASES["default"]
    dropper = None
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    else:
        import psycopg

        name = f"turnout_crash_{uuid.uuid4().hex[:10]}"
        auth = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
        server = f"{auth}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        admin = f"postgresql://{server}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"postgres://{server}/{name}"

        def dropper():
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    yield env
    if dropper is not None:
        dropper()


class Drive:
    """One drive's processes: consumers come and go, the sweeper runs throughout."""

    def __init__(self, env: dict, tmp_path: Path, esp: FakeESPServer, *, rate: float, chunk: float):
        self.env = {
            **env,
            "FAKE_ESP_URL": esp.api_url,
            "EMAIL_SEND_RATE": str(rate),
            "MAILING_CHUNK_SECONDS": str(chunk),
        }
        self.tmp_path = tmp_path
        self.status_file = tmp_path / "status.json"
        self.consumer: subprocess.Popen | None = None
        self.sweeper: subprocess.Popen | None = None
        self.errors = open(tmp_path / "processes.log", "ab", buffering=0)  # noqa: SIM115

    def _python(self, *args) -> subprocess.Popen:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
        )

    def driver(self, *args) -> object:
        done = subprocess.run(  # noqa: S603 - our own interpreter and scripts
            [sys.executable, "-m", "tests.mailings.crash_driver", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self, recipients: int, *, sweeper: bool = True) -> None:
        started = self.driver("setup", str(recipients))
        assert started["status"] == "sending"
        if sweeper:
            self.sweeper = self._python(
                "-m", "tests.mailings.crash_driver", "sweep-loop", str(self.status_file)
            )

    def start_consumer(self) -> None:
        """Start a consumer and wait until it runs: on a busy machine Django alone can
        take seconds to start, and a kill before that tests nothing."""
        log = Path(self.errors.name)
        seen = log.read_text(errors="replace").count("Huey consumer started")
        self.consumer = self._python("manage.py", "run_huey", "-d", "0.1", "-m", "1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.consumer.poll() is None:
            if log.read_text(errors="replace").count("Huey consumer started") > seen:
                return
            time.sleep(0.05)
        raise AssertionError(f"the consumer did not start; see {log}")

    def kill_consumer(self) -> None:
        self.consumer.send_signal(signal.SIGKILL)
        self.consumer.wait()

    def status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"status": "starting", "counts": {}}

    def wait_until_settled(self, timeout: float) -> dict:
        # A report the sweeper began before this call (say, before "send again" re-queued
        # rows) may still say "done"; only one begun after now counts.
        fresh_after = time.time()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            counts = status["counts"]
            if (
                status.get("began", 0) > fresh_after
                and status["status"] == "done"
                and not counts.get("queued")
                and not counts.get("sending")
            ):
                return status
            time.sleep(0.3)
        raise AssertionError(f"The drive did not settle: {self.status()}; see {self.errors.name}")

    def stop(self) -> None:
        for process in (self.consumer, self.sweeper):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self.errors.close()


@pytest.fixture
def fake_esp(tmp_path):
    servers = []

    def start(**options):
        server = FakeESPServer(log_path=str(tmp_path / "esp.jsonl"), **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def check_ground_truth(drive: Drive, esp: FakeESPServer) -> tuple[list, Counter]:
    rows = drive.driver("rows")
    sent = Counter(record["to"] for record in read_log(esp.log_path))
    twice = {address: n for address, n in sent.items() if n > 1}
    assert twice == {}, f"sent twice: {twice}"
    by_status = Counter(row["status"] for row in rows)
    assert set(by_status) <= {"sent", "unknown"}, by_status
    for row in rows:
        if row["status"] == "sent":
            assert sent[row["email"]] == 1, row
        else:
            assert row["listed"], row  # unknown rows are listed for review
    assert set(sent) <= {row["email"] for row in rows}
    return rows, by_status


def test_consumers_killed_at_random_moments_never_send_anyone_twice(crash_env, tmp_path, fake_esp):
    esp = fake_esp(latency_ms=20)
    drive = Drive(crash_env, tmp_path, esp, rate=10, chunk=0.5)
    kills_mid_drive = 0
    kills_while_sending = 0  # the killed consumer had sent something since it started
    try:
        drive.start(recipients=400)
        randomness = random.Random()
        while kills_mid_drive < 20:
            before = len(read_log(esp.log_path))
            drive.start_consumer()
            time.sleep(randomness.uniform(0.1, 1.5))  # after it started
            in_progress = drive.status()["status"] in ("starting", "sending")
            drive.kill_consumer()
            assert in_progress, "the drive finished before the consumer was killed 20 times"
            kills_mid_drive += 1
            kills_while_sending += len(read_log(esp.log_path)) > before
        drive.start_consumer()  # restarted for good; the sweeper settles the rest
        final = drive.wait_until_settled(timeout=90)
    finally:
        drive.stop()

    rows, by_status = check_ground_truth(drive, esp)
    print(f"kills {kills_mid_drive}, while sending {kills_while_sending}, rows {dict(by_status)}")
    assert kills_mid_drive >= 20 and kills_while_sending >= 3
    assert len(rows) == 400 and sum(by_status.values()) == 400
    assert final["counts"]["sent"] == by_status["sent"] >= 300  # most are simply sent


def test_with_one_call_in_five_failing_everyone_is_still_sent_exactly_once(
    crash_env, tmp_path, fake_esp
):
    esp = fake_esp(fail_rate=0.2, fail_codes=(429, 500, 503))
    drive = Drive(crash_env, tmp_path, esp, rate=300, chunk=0.05)
    try:
        drive.start(recipients=300)
        drive.start_consumer()
        drive.wait_until_settled(timeout=90)
    finally:
        drive.stop()

    rows, by_status = check_ground_truth(drive, esp)
    assert esp.stats["failed_calls"] > 0
    assert by_status == {"sent": 300}
    assert sorted(record["to"] for record in read_log(esp.log_path)) == sorted(
        row["email"] for row in rows
    )


def test_killed_consumers_on_a_slow_esp_then_reconciliation_leave_everyone_sent_exactly_once(
    crash_env, tmp_path, fake_esp
):
    """SIGKILLs while 1-second ESP calls are in flight leave rows unknown; the ESP's own
    log then proves each one sent or never accepted, and "send again" reaches exactly
    the never-accepted ones, once."""
    # Some calls hang past the client's 2 s timeout and are never accepted, so some
    # unknown rows are provably not sent, besides those a kill left mid-call.
    esp = fake_esp(latency_ms=1000, timeout_rate=0.15, timeout_seconds=3, script=["timeout"])
    drive = Drive(crash_env, tmp_path, esp, rate=60, chunk=0.5)
    kills = 0
    try:
        drive.start(recipients=400)
        randomness = random.Random()
        while kills < 5 and drive.status()["status"] in ("starting", "sending"):
            calls = esp.stats["calls"]
            drive.start_consumer()
            deadline = time.monotonic() + 60
            while esp.stats["calls"] == calls and time.monotonic() < deadline:
                time.sleep(0.05)  # a busy machine may take seconds to start a consumer
            time.sleep(randomness.uniform(0.1, 0.9))  # inside a 1-second call
            drive.kill_consumer()
            kills += 1
        drive.start_consumer()
        drive.wait_until_settled(timeout=120)
        esp.timeout_rate = 0.0  # the ESP recovers before anyone is sent again
        rows = drive.driver("rows")
        before = Counter(row["status"] for row in rows)
        assert before["unknown"] > 0, f"no kill landed mid-call: {before}"
        # The blast radius: a kill leaves at most one call per worker thread unknown
        # (HUEY_WORKERS=2, calls of at most MAILING_BATCH_SIZE=20 rows).
        killed_mid_call = sum("stopped mid-send" in row["error"] for row in rows)
        assert killed_mid_call <= kills * 2 * 20

        result = drive.driver("reconcile")
        assert result["errors"] == [] and result["too_recent"] == 0
        rows = drive.driver("rows")
        logged = Counter(record["to"] for record in read_log(esp.log_path))
        for row in rows:
            if row["status"] == "unknown":
                # What the ESP's log does not show is proven not sent: nothing is left
                # unknown where the log knows the answer.
                assert row["esp_check"] == "not_sent" and logged[row["email"]] == 0, row
            else:
                assert row["status"] == "sent" and logged[row["email"]] == 1, row
        not_sent = sum(row["status"] == "unknown" for row in rows)
        assert result["proven_sent"] + result["proven_not_sent"] == before["unknown"]
        assert result["proven_not_sent"] == not_sent > 0  # the hung calls' rows

        assert drive.driver("send-again")["requeued"] == not_sent
        drive.wait_until_settled(timeout=120)
    finally:
        drive.stop()

    rows = drive.driver("rows")
    logged = Counter(record["to"] for record in read_log(esp.log_path))
    print(f"kills {kills}, unknown after kills {dict(before)}, reconciled {result}")
    assert {address: n for address, n in logged.items() if n > 1} == {}  # zero duplicates
    assert kills >= 3
    assert before["sent"] > 0  # between kills, most rows are simply sent
    assert Counter(row["status"] for row in rows) == {"sent": 400}
    assert set(logged) == {row["email"] for row in rows}  # everyone exactly once


def test_a_cancel_during_total_esp_failure_leaves_no_queued_row_after_one_sweep(
    crash_env, tmp_path, fake_esp
):
    esp = fake_esp(latency_ms=1000, fail_rate=1.0, fail_codes=(500,))
    drive = Drive(crash_env, tmp_path, esp, rate=1000, chunk=1.0)
    try:
        drive.start(recipients=200, sweeper=False)
        drive.start_consumer()
        deadline = time.monotonic() + 30
        while esp.stats["calls"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the first calls are in flight (each fails after 1 s)
        assert drive.driver("cancel")["status"] == "cancelled"
        time.sleep(2.5)  # the in-flight calls settle (release after their 500)
        swept = drive.driver("sweep")
    finally:
        drive.stop()
    assert swept["status"] == "cancelled"
    assert swept["counts"]["queued"] == 0 and swept["counts"]["sending"] == 0, swept
    assert swept["counts"]["cancelled"] == 200
    assert read_log(esp.log_path) == [] and esp.stats["failed_calls"] >= 2
