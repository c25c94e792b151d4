"""Tracking webhooks at burst rate: 10,000 Mailgun events processed, then replayed.

Each event is a signed Mailgun tracking webhook posted through Django's request
handling (URL routing, middleware, Anymail's basic-auth and signature checks, JSON
parsing, the ``tracking`` signal, our receiver and its database writes) with Django's
test ``Client`` in WORKERS forked processes (4, as the gunicorn workers in README's
production command), each one request at a time. The same burst is then replayed;
every event is a duplicate, so the stored counts must not change. Queries per event are counted on a
separate sample (counting slows the timed run, so it is not done there).

The same burst is also posted over HTTP to gunicorn with 4 workers (the production
web tier, ``gunicorn.conf.py`` and its access log included) by 4 client processes, each
opening a connection per request as Mailgun does; every event must be stored once
(target 1,000 events/s). Clients, gunicorn and PostgreSQL share the machine's cores.
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench import BenchError, Context, Figure, run_measured

EVENTS = 10_000
TARGET = 500.0  # events/s on PostgreSQL
# Web worker processes posting at once, as README's production gunicorn command runs.
WORKERS = int(os.environ.get("BENCH_TRACKING_WORKERS", "4"))
SIGNING_KEY = "bench-mailgun-signing-key"
SECRET = "bench:webhook-secret"  # noqa: S105 - a throw-away bench database
# The mix of a drive's first hours: mostly deliveries and opens, a few bad events.
MIX = [
    ("delivered", None, 60),
    ("opened", None, 22),
    ("clicked", None, 10),
    ("failed", "temporary", 4),
    ("failed", "permanent", 2),
    ("complained", None, 1),
    ("unsubscribed", None, 1),
]


def run(ctx: Context) -> list[Figure]:
    count = max(1000, ctx.scaled(EVENTS)) if ctx.scale < 1 else EVENTS
    env = ctx.env()
    # Production settings (DEBUG off): no query log, as a deployed web worker runs.
    env.update(ANYMAIL_WEBHOOK_SECRET=SECRET, DEBUG="0", ALLOWED_HOSTS="localhost")
    print(f"  {count:,} webhook events, then the same burst replayed", flush=True)
    child, result = _child(ctx, env, count)
    print(f"  {count:,} webhook events by one worker process", flush=True)
    _, single = _child(ctx, {**env, "BENCH_TRACKING_WORKERS": "1"}, count)
    print(f"  {count:,} webhook events over HTTP to gunicorn ({HTTP_WORKERS} workers)", flush=True)
    http = _over_http(ctx, env, count)
    print(f"  the same over HTTP, served by the webhook code of {BEFORE_COMMIT}", flush=True)
    before = _over_http_before(ctx, env, count)
    unchanged = result["after_first"] == result["after_replay"]
    full = count == EVENTS
    return [
        Figure(
            name=f"{count:,} tracking webhooks (Mailgun, signed), first delivery",
            value=result["rate"],
            unit="events/s",
            target=f"≥ {TARGET:,.0f} events/s" + ("" if full else " (at 10,000)"),
            passed=(result["rate"] >= TARGET and result["all_ok"]) if full else None,
            notes=(
                f"{result['seconds']:.1f} s; {WORKERS} worker processes, each one request at a "
                f"time through Django's request handling (test Client, no HTTP); "
                f"{result['queries_per_event']:.2f} queries per "
                f"ordinary event (delivered/opened/clicked); stored {result['after_first']}"
            ),
        ),
        Figure(
            name=f"the same {count:,} webhooks replayed (all duplicates)",
            value=result["replay_rate"],
            unit="events/s",
            target="counts unchanged",
            passed=unchanged and result["all_ok"],
            notes=f"counts after replay {result['after_replay']}; unchanged: {unchanged}",
        ),
        Figure(
            name=f"{count:,} tracking webhooks, one worker process",
            value=single["rate"],
            unit="events/s",
            notes=(
                f"{single['seconds']:.1f} s, one request at a time; replay "
                f"{single['replay_rate']:,.0f} events/s, counts unchanged: "
                f"{single['after_first'] == single['after_replay'] and single['all_ok']}"
            ),
        ),
        Figure(
            name=f"{count:,} tracking webhooks over HTTP through gunicorn, {HTTP_WORKERS} workers",
            value=http["rate"],
            unit="events/s",
            target=f"≥ {HTTP_TARGET:,.0f} events/s" + ("" if full else " (at 10,000)"),
            passed=(http["rate"] >= HTTP_TARGET and http["all_ok"]) if full else None,
            baseline=before["rate"],
            baseline_name=(
                f"the webhook code of {BEFORE_COMMIT} (2026-12-01), same burst, same run, "
                "its own database"
            ),
            notes=(
                f"{http['seconds']:.1f} s; {HTTP_CLIENTS} client processes on the same 2 cores, "
                f"a new connection per request; HTTP 200 for {http['ok']:,} of {count:,}; "
                f"stored {http['stored']}; everyone stored once: {http['all_ok']}; "
                f"the code of {BEFORE_COMMIT}: {before['seconds']:.1f} s, everyone stored once: "
                f"{before['all_ok']}; 1-minute load average {http['load'][0]:.1f} before, "
                f"{http['load'][1]:.1f} after"
            ),
        ),
        Figure(
            name="peak memory of the webhook process",
            value=child.peak_rss_mb,
            unit="MB",
            higher_is_better=False,
        ),
    ]


HTTP_WORKERS = 4
HTTP_CLIENTS = 4
HTTP_TARGET = 1000.0


def _post_over_http(args: tuple[str, int, str, list[bytes]]) -> int:
    import http.client

    host, port, auth, bodies = args
    ok = 0
    for body in bodies:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request(
            "POST",
            "/anymail/mailgun/tracking/",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": auth},
        )
        response = conn.getresponse()
        response.read()
        ok += response.status == 200
        conn.close()
    return ok


# The webhook code before one statement per ordinary event and the lean handler
# (main on 2026-12-01): served from a checkout of it on its own database in the same
# run, with the same burst, as the HTTP figure's baseline.
BEFORE_COMMIT = "1ae88fe"


def _over_http_before(ctx: Context, env: dict[str, str], count: int) -> dict:
    from bench import recreate_database
    from bench.worktree import checkout

    url = f"{ctx.database_url}_before"
    recreate_database(url)
    env = {**env, "DATABASE_URL": url}
    with checkout(ctx, BEFORE_COMMIT, purpose="the webhook baseline") as worktree:
        migrated = run_measured(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            env=env,
            timeout=ctx.timeout,
            cwd=worktree,
        )
        if migrated.returncode != 0:
            raise BenchError(f"{BEFORE_COMMIT}: migrate failed:\n{migrated.stderr[-2000:]}")
        return _over_http(ctx, env, count, root=worktree)


def _over_http(ctx: Context, env: dict[str, str], count: int, *, root=None) -> dict:
    """Sign ``count`` events (child side), post them to gunicorn over HTTP, then count
    what was stored; the code of ``root`` (a checkout) serves them, or this one's."""
    import base64
    import multiprocessing
    import signal
    import socket
    import subprocess
    import tempfile
    import urllib.request
    from pathlib import Path

    from bench import ROOT

    root = root or ROOT

    def child(*args: str) -> str:
        run = run_measured(
            [sys.executable, "-m", "bench.tracking", *args], env=env, timeout=ctx.timeout, cwd=root
        )
        if run.returncode != 0:
            raise BenchError(f"bench.tracking {args[0]} failed in {root}:\n{run.stderr[-2000:]}")
        return run.stdout

    with tempfile.TemporaryDirectory(prefix="bench-tracking-http-") as tmp:
        bodies_file = Path(tmp) / "bodies.jsonl"
        env = {**env, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "ANYMAIL_ESP": "mailgun"}
        env.update(MAILGUN_API_KEY="bench-key", MAILGUN_SENDER_DOMAIN="mg.bench.example.org")
        prepared = child("prepare", str(count), str(bodies_file))
        mailing_id = int(prepared.strip().splitlines()[-1])
        bodies = bodies_file.read_bytes().splitlines()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = open(Path(tmp) / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
        web = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            [sys.executable, "-m", "gunicorn", "campaign.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", str(HTTP_WORKERS), "--control-socket", str(Path(tmp) / "g.ctl")],
            cwd=root,
            env={
                **env,
                "DJANGO_SETTINGS_MODULE": "campaign.settings",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
                    break
                except OSError:
                    if web.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        tail = (Path(tmp) / "gunicorn.log").read_text(errors="replace")[-3000:]
                        raise BenchError(f"gunicorn did not start:\n{tail}") from None
                    time.sleep(0.2)
            auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
            shares = [
                ("127.0.0.1", port, auth, bodies[n::HTTP_CLIENTS]) for n in range(HTTP_CLIENTS)
            ]
            load_before = os.getloadavg()[0]
            with multiprocessing.get_context("fork").Pool(HTTP_CLIENTS) as pool:
                started = time.perf_counter()
                ok = sum(pool.map(_post_over_http, shares))
                seconds = time.perf_counter() - started
            load_after = os.getloadavg()[0]
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
            log.close()
        stored = json.loads(child("count", str(mailing_id)).splitlines()[-1])
    return {
        "seconds": seconds,
        "rate": count / seconds,
        "ok": ok,
        "stored": stored,
        "all_ok": ok == count and stored["events"] == count and stored["matched"] == count,
        "load": (load_before, load_after),
    }


def _child(ctx: Context, env: dict[str, str], count: int):
    child = run_measured(
        [sys.executable, "-m", "bench.tracking", str(count)], env=env, timeout=ctx.timeout
    )
    if child.returncode != 0:
        tail = "\n".join(child.stderr.strip().splitlines()[-20:])
        raise BenchError(f"bench.tracking child exited with {child.returncode}:\n{tail}")
    return child, json.loads(child.stdout.strip().splitlines()[-1])


# --- child side (Django) ------------------------------------------------------------

# What forked workers inherit (set just before the pool forks).
_STATE: dict = {}


def _post_share(worker: int) -> bool:
    client, url = _STATE["client"], _STATE["url"]
    ok = True
    for body in _STATE["bodies"][worker::WORKERS]:
        response = client.post(url, data=body, content_type="application/json")
        ok = ok and response.status_code == 200
    return ok


def _payload(row, mailing_id: int, n: int, kind: str, severity: str | None) -> bytes:
    import hashlib
    import hmac

    token = f"bench-{n:012d}-{os.getpid()}-{time.time_ns()}"
    stamp = str(int(time.time()))
    data = {
        "id": f"bench-ev-{n}",
        "timestamp": time.time(),
        "event": kind,
        "recipient": row.email,
        "user-variables": {"mailing_id": str(mailing_id), "recipient_id": str(row.pk)},
        "message": {"headers": {"message-id": f"{row.pk}.bench@mg.example.org"}},
        "delivery-status": {"code": 250, "message": "OK", "description": ""},
    }
    if severity:
        data["severity"] = severity
        data["reason"] = "bounce" if severity == "permanent" else "generic"
    signature = hmac.new(
        SIGNING_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    body = {"signature": {"timestamp": stamp, "token": token, "signature": signature}}
    body["event-data"] = data
    return json.dumps(body).encode()


def child(count: int) -> dict:
    import base64
    import multiprocessing

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contacts.models import Suppression
    from contacts.suppression import address_hash
    from mailings.models import DeliveryEvent

    # Anymail reads these when each request arrives.
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    # Every body is signed before the burst and posted twice (the replay): keep them all
    # inside the accepted timestamp window however long the bursts take.
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 24 * 3600
    mailing, rows = _drive_rows(count, "Bench tracking")
    # Event n gets its kind from the mix, spread evenly through the burst.
    kinds = [(kind, severity) for kind, severity, weight in MIX for _ in range(weight)]
    plan = [(rows[n], *kinds[n % len(kinds)]) for n in range(count)]
    bodies = [_payload(row, mailing.pk, n, k, s) for n, (row, k, s) in enumerate(plan)]

    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=auth)
    url = "/anymail/mailgun/tracking/"

    def burst() -> tuple[float, bool]:
        """Every body posted by WORKERS forked processes (like gunicorn's workers),
        each with its own database connection; wall time from first to last."""
        connections.close_all()
        if WORKERS == 1:
            started = time.perf_counter()
            _STATE.update(bodies=bodies, client=client, url=url)
            ok = _post_share(0)
            return time.perf_counter() - started, ok
        context = multiprocessing.get_context("fork")
        _STATE.update(bodies=bodies, client=client, url=url)
        with context.Pool(WORKERS) as pool:
            started = time.perf_counter()
            results = pool.map(_post_share, range(WORKERS))
            seconds = time.perf_counter() - started
        return seconds, all(results)

    hashes = [address_hash(row.email) for row in rows]

    def counts() -> dict:
        events = DeliveryEvent.objects.filter(mailing=mailing)
        return {
            "events": events.count(),
            "matched": events.filter(recipient__isnull=False).count(),
            "suppressed": Suppression.objects.filter(address_hash__in=hashes).count(),
        }

    seconds, ok_first = burst()
    after_first = counts()
    replay_seconds, ok_replay = burst()
    after_replay = counts()

    # Queries per ordinary event, on fresh events outside the timed runs.
    sample = [_payload(rows[n], mailing.pk, count + n, "opened", None) for n in range(200)]
    with CaptureQueriesContext(connection) as queries:
        for body in sample:
            client.post(url, data=body, content_type="application/json")
    skip = ("SAVEPOINT", "RELEASE")
    statements = [q for q in queries.captured_queries if not q["sql"].upper().startswith(skip)]
    return {
        "seconds": seconds,
        "rate": count / seconds,
        "replay_rate": count / replay_seconds,
        "after_first": after_first,
        "after_replay": after_replay,
        "all_ok": ok_first and ok_replay and after_first["events"] == count,
        "queries_per_event": len(statements) / len(sample),
    }


def _setup_django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    django.setup()


def _drive_rows(count: int, name: str):
    from django.contrib.auth import get_user_model

    from mailings.models import Mailing, Recipient

    user, _ = get_user_model().objects.get_or_create(username="bench-tracking")
    mailing = Mailing.objects.create(
        name=name, subject="s", body="b", created_by=user, status="done"
    )
    rows = Recipient.objects.bulk_create(
        (
            Recipient(
                mailing=mailing,
                email=f"bench-track-{mailing.pk}-{n}@example.org",
                email_hash="",
                status=Recipient.Status.SENT,
            )
            for n in range(count)
        ),
        batch_size=5000,
    )
    return mailing, rows


def prepare(count: int, path: str) -> int:
    """A sent drive of ``count`` rows and a signed event for each, one JSON per line."""
    _setup_django()
    mailing, rows = _drive_rows(count, "Bench tracking over HTTP")
    kinds = [(kind, severity) for kind, severity, weight in MIX for _ in range(weight)]
    with open(path, "wb") as out:
        for n, row in enumerate(rows):
            out.write(_payload(row, mailing.pk, n, *kinds[n % len(kinds)]) + b"\n")
    return mailing.pk


def count_stored(mailing_id: int) -> dict:
    _setup_django()
    from mailings.models import DeliveryEvent

    events = DeliveryEvent.objects.filter(mailing_id=mailing_id)
    return {"events": events.count(), "matched": events.filter(recipient__isnull=False).count()}


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        print(prepare(int(sys.argv[2]), sys.argv[3]))
    elif sys.argv[1] == "count":
        print(json.dumps(count_stored(int(sys.argv[2]))))
    else:
        print(json.dumps(child(int(sys.argv[1]))))
