"""GOTV email drives end to end, against a naive send-per-recipient loop.

Figures (BENCH_SCALE=1):
- a 100,000-recipient drive, from ``mailing_send`` (audience snapshot included) until
  every row is settled, through Anymail's real Mailgun backend to the local fake ESP
  (``mailings/fake_esp.py``) with 0 ms and with 100 ms latency per API call: messages
  per second (targets 2,000/s and 500/s) and peak memory of any process involved;
- the ratio against a naive loop (render a Django template + ``send_mail`` per
  recipient, to the same fake ESP, measured in the same run);
- the global rate limit: a 20,000-recipient drive with ``EMAIL_SEND_RATE=1000`` shared
  by two consumer processes; the sustained rate the ESP saw must be within 10%.

Every drive is also checked against the fake ESP's log: everyone exactly once.

Why it is fast: each API call carries up to 1,000 recipients (Anymail batch sending:
the volunteer's merge fields are compiled into Mailgun's ``%recipient.KEY%`` syntax and
each recipient's escaped values travel as ``merge_data``, their row id as
``merge_metadata``, their List-Unsubscribe as ``merge_headers``), rows are claimed and
settled with one UPDATE per call, and two consumer processes use both cores.

The child side (seeding, creating and the naive loop, in processes of their own) is
``bench/drive_children.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import ROOT, BenchError, Context, Figure

RECIPIENTS = 100_000
RATE_RECIPIENTS = 20_000
RATE_LIMIT = 1000.0
NAIVE_FAST = 3_000
NAIVE_SLOW = 300
TARGET_FAST = 2000.0
TARGET_SLOW = 500.0
CONSUMERS = 2
WORKERS = 4
DISTRICT = "Bench Drives"
RATE_DISTRICT = "Bench Drives Rate"
USERNAME = "bench-drives-organiser"
BODY = (
    "Dear {{ first_name }},\n\nThe ballot for General Secretary closes on "
    "**{{ ballot_closes }}**. Teachers at {{ school }} are counting on you.\n\n"
    "[Tell us you have voted]({{ voted_url }}) so we stop reminding you.\n"
)


# --- runner side (no Django imports) ------------------------------------------------


def _env(ctx: Context, esp_url: str, **extra: str) -> dict[str, str]:
    env = ctx.env()
    env.update(
        DEBUG="0",
        ALLOWED_HOSTS="localhost",
        ANYMAIL_ESP="mailgun",
        MAILGUN_API_KEY="bench-key",
        MAILGUN_WEBHOOK_SIGNING_KEY="bench-signing-key",
        ANYMAIL_WEBHOOK_SECRET="bench:webhook-secret",  # noqa: S106 - local fake ESP only
        MAILGUN_API_URL=esp_url,
        MAILGUN_SENDER_DOMAIN="mg.bench.example.org",
        MAILING_APPROVAL_THRESHOLD="100000000",
        EMAIL_SEND_RATE="1000000",
        MAILING_LEASE_SECONDS="600",
    )
    env.update(extra)
    return env


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Files, not pipes: a chatty child must never block on a full pipe.
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 - closed in _reap
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=err
    )
    process.out_file, process.err_file = out, err
    return process


def _reap(process: subprocess.Popen, timeout: float) -> tuple[int, float, str, str]:
    """Wait for a child; (exit code, its own peak RSS in MB, stdout, stderr)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            process.returncode = -9
            raise BenchError(f"{' '.join(map(str, process.args))} did not finish in {timeout:.0f}s")
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    texts = []
    for handle in (process.out_file, process.err_file):
        handle.seek(0)
        texts.append(handle.read().decode(errors="replace"))
        handle.close()
    return process.returncode, usage.ru_maxrss / 1024, texts[0], texts[1]


def _run_child(args: list[str], env: dict[str, str], timeout: float = 1800) -> tuple[float, str]:
    code, peak, out, err = _reap(_child(args, env), timeout)
    if code != 0:
        raise BenchError(f"{' '.join(args)} exited with {code}:\n{err[-3000:]}")
    return peak, out


class _FakeESP:
    """The fake ESP in its own process: it gets its own core share and, unlike a thread of
    this runner, does not inflate the runner's memory (children inherit the parent's peak
    RSS in ``ru_maxrss`` on Linux, so the runner must stay small)."""

    def __init__(self, *, latency_ms: float, log_path: Path | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        args = ["-m", "mailings.fake_esp", "--port", str(self.port), "--api-key", "bench-key"]
        args += ["--latency-ms", str(latency_ms)]
        if log_path is not None:
            args += ["--log", str(log_path)]
        self.process = _child(args, dict(os.environ))
        self.api_url = f"http://127.0.0.1:{self.port}/v3"
        deadline = time.monotonic() + 20
        while True:
            try:
                self.stats()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("The fake ESP did not start.") from None
                time.sleep(0.1)

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            _reap(self.process, 30)
        except BenchError:
            # Killed instead: its log is flushed line by line, so nothing measured is lost.
            print("  (the fake ESP did not stop on SIGINT within 30 s; killed)", flush=True)


def _read_log(path: Path) -> tuple[list[str], list[float]]:
    """Addresses and times of every accepted message, streamed (the log can be large)."""
    addresses, times = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            addresses.append(record["to"])
            times.append(record["time"])
    return addresses, times


def _drive(
    ctx: Context,
    *,
    district: str,
    count: int | None,
    latency_ms: float,
    rate: float | None,
    label: str,
    redis_url: str | None = None,
) -> dict:
    """One drive end to end with CONSUMERS consumer processes; returns measurements.

    ``district`` "*" is a drive to everyone; ``count`` None takes the drive's own
    recipient count as the number the ESP must see. With ``redis_url`` the queue (and
    the rate limiter) is Redis, as in production; otherwise SqliteHuey."""
    log_path = ctx.var_dir / f"esp-{label}.jsonl"
    esp = _FakeESP(latency_ms=latency_ms, log_path=log_path)
    extra = {"HUEY_NAME": f"bench-drives-{label}-{os.getpid()}", "HUEY_WORKERS": str(WORKERS)}
    if redis_url:
        extra["REDIS_URL"] = redis_url
    if rate is not None:
        extra.update(EMAIL_SEND_RATE=str(rate), MAILING_CHUNK_SECONDS="0.2")
    env = _env(ctx, esp.api_url, **extra)
    consumers = []
    try:
        _, out = _run_child(["-m", "bench.drive_children", "create", district], env)
        mailing_id = json.loads(out.strip().splitlines()[-1])["mailing_id"]
        consumers = [
            _child(["manage.py", "run_huey", "-n", "-d", "0.05", "-m", "0.2"], env)
            for _ in range(CONSUMERS)
        ]
        time.sleep(3)  # let the consumers import Django before the clock starts
        load_before = os.getloadavg()[0]
        started_wall = time.time()
        started = time.perf_counter()
        send_peak, out = _run_child(["manage.py", "mailing_send", str(mailing_id), "--wait"], env)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
    finally:
        peaks = []
        for consumer in consumers:
            consumer.send_signal(signal.SIGINT)
        for consumer in consumers:
            _, peak, _, _ = _reap(consumer, 60)
            peaks.append(peak)
        calls = esp.stats()["accepted_calls"]
        esp.stop()
    _, status_out = _run_child(["manage.py", "mailing_status", str(mailing_id), "--json"], env)
    status = json.loads(status_out.strip().splitlines()[-1])
    addresses, times = _read_log(log_path)
    times.sort()
    log_path.unlink(missing_ok=True)
    if count is None:
        count = sum(status["counts"].values())
    exactly_once = len(addresses) == len(set(addresses)) == count == status["counts"]["sent"]
    return {
        "count": count,
        # From the command to the ESP's first accepted call: the audience snapshot, the
        # enqueue and the first batch's claim and render.
        "first_message_s": (times[0] - started_wall) if times else None,
        "seconds": seconds,
        "rate": count / seconds,
        "peak_mb": max([send_peak, *peaks]),
        "exactly_once": exactly_once,
        "counts": {k: v for k, v in status["counts"].items() if v},
        "times": times,
        "calls": calls,
        # The machine is shared: the 1-minute load average says how busy it was.
        "load": (load_before, load_after),
    }


def sustained_rate(times: list[float]) -> float:
    """Messages per second the ESP saw, from its sorted log times. Calls leave at the
    limiter's pace and the last call's messages are stamped at its start, so the rate is
    over the messages before it."""
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    last_call = sum(1 for t in times if t == times[-1])
    return (len(times) - last_call) / (times[-1] - times[0])


def rate_limit_figure(name: str, limited: dict, *, rate: float, tolerance: float) -> Figure:
    """The sustained rate of a rate-limited drive (a ``_drive`` result) against its limit."""
    sustained = sustained_rate(limited["times"])
    error = abs(sustained - rate) / rate
    return Figure(
        name=name,
        value=sustained,
        unit="msg/s",
        target=f"within {tolerance:.0%} of {rate:,.0f}",
        passed=error <= tolerance and limited["exactly_once"],
        notes=f"off by {error:.1%}; {limited['count']:,} recipients in "
        f"{limited['seconds']:.1f} s end to end; everyone exactly once: "
        f"{limited['exactly_once']}",
    )


def _naive(ctx: Context, *, count: int, latency_ms: float, district: str = DISTRICT) -> float:
    esp = _FakeESP(latency_ms=latency_ms)
    try:
        _, out = _run_child(
            ["-m", "bench.drive_children", "naive", district, str(count)], _env(ctx, esp.api_url)
        )
    finally:
        esp.stop()
    result = json.loads(out.strip().splitlines()[-1])
    return result["sent"] / result["seconds"]


def run(ctx: Context) -> list[Figure]:
    count = ctx.scaled(RECIPIENTS, minimum=1000)
    rate_count = ctx.scaled(RATE_RECIPIENTS, minimum=1000)
    rate_limit = RATE_LIMIT if ctx.scale >= 0.5 else 250.0
    env = _env(ctx, "http://127.0.0.1:9/v3")
    print(f"  seeding {count:,} + {rate_count:,} consented supporters", flush=True)
    _run_child(["-m", "bench.drive_children", "seed", DISTRICT, str(count)], env)
    _run_child(["-m", "bench.drive_children", "seed", RATE_DISTRICT, str(rate_count)], env)

    figures: list[Figure] = []
    full = ctx.scale == 1.0
    at_scale = "" if full else " (at scale 1)"
    for latency, target, naive_count in (
        (0, TARGET_FAST, NAIVE_FAST),
        (100, TARGET_SLOW, NAIVE_SLOW),
    ):
        print(f"  naive loop, {latency} ms ESP latency", flush=True)
        naive_rate = _naive(ctx, count=ctx.scaled(naive_count, minimum=50), latency_ms=latency)
        print(f"  {count:,}-recipient drive, {latency} ms ESP latency", flush=True)
        result = _drive(
            ctx, district=DISTRICT, count=count, latency_ms=latency, rate=None, label=f"l{latency}"
        )
        figures += [
            Figure(
                name=f"{count:,}-recipient drive, {latency} ms ESP latency: start to all settled",
                value=result["rate"],
                unit="msg/s",
                target=f"≥ {target:,.0f} msg/s{at_scale}",
                passed=(result["rate"] >= target and result["exactly_once"]) if full else None,
                baseline=naive_rate,
                baseline_name="render + send_mail per recipient (same fake ESP)",
                notes=(
                    f"{result['seconds']:.1f} s, {result['calls']} API calls "
                    f"({count / max(1, result['calls']):,.0f} rows per call), "
                    f"{CONSUMERS} consumers × {WORKERS} threads; rows {result['counts']}; "
                    f"everyone exactly once per the ESP log: {result['exactly_once']}; "
                    f"1-minute load average {result['load'][0]:.1f} before, "
                    f"{result['load'][1]:.1f} after (2 cores, shared with other work)"
                ),
            ),
            Figure(
                name=f"{count:,}-recipient drive, {latency} ms latency: peak memory of any process",
                value=result["peak_mb"],
                unit="MB",
                higher_is_better=False,
                notes="max RSS of mailing_send and each consumer",
            ),
        ]

    print(f"  rate limit: {rate_count:,} recipients at {rate_limit:.0f} msg/s", flush=True)
    limited = _drive(
        ctx, district=RATE_DISTRICT, count=rate_count, latency_ms=0, rate=rate_limit, label="rate"
    )
    figures.append(
        rate_limit_figure(
            f"global rate limit {rate_limit:,.0f} msg/s across {CONSUMERS} consumers",
            limited,
            rate=rate_limit,
            tolerance=0.10,
        )
    )
    return figures


# --- child side (Django) ------------------------------------------------------------
