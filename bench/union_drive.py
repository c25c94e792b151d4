"""A drive to the whole union, in the production shape: the union-sized demo database
(450,000 supporters at BENCH_SCALE=1, of whom those with current consent and no
suppression are the audience), two ``run_huey`` consumers on Redis, Anymail's Mailgun
backend to the fake ESP over HTTP at 0 ms and 100 ms latency, and the global rate
limit held on Redis across both consumers.

Figures: start-up (from ``mailing_send`` to the ESP's first accepted call: the audience
snapshot, the enqueue, the first claim and render; target ≤ 10 s), msg/s from start to
all settled (targets 2,000 at 0 ms, 1,500 at 100 ms) against the naive
render-and-``send_mail`` loop measured in the same run, peak memory of any process, and
the rate limit (1,000 msg/s, within 5%). The ESP's log is checked: everyone exactly once.

Redis is ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``); each drive's queue
has a name of its own.
"""

from __future__ import annotations

import os

from bench import BenchError, Context, Figure
from bench.drives import CONSUMERS, WORKERS, _drive, _naive, rate_limit_figure

REUSES_DATABASE = True
TARGETS = {0: 2000.0, 100: 1500.0}
TARGET_START_S = 10.0
RATE_LIMIT = 1000.0
RATE_RECIPIENTS = 20_000
NAIVE = {0: 3_000, 100: 300}


def _redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no Redis to measure on
        raise BenchError(f"Redis at {url} does not answer ({exc}); set BENCH_REDIS_URL.") from None
    return url


def run(ctx: Context) -> list[Figure]:
    redis_url = _redis_url()
    seeded = ctx.ensure_demo_data()
    if seeded is not None:
        print(f"  seeded the union in {seeded.seconds:.0f} s", flush=True)
    print("  VACUUM ANALYZE (statistics and visibility as autovacuum keeps them)", flush=True)
    ctx.vacuum_analyze()
    full = ctx.scale == 1.0
    at_scale = "" if full else " (at scale 1)"
    figures: list[Figure] = []
    for latency, target in TARGETS.items():
        print(f"  naive loop, {latency} ms ESP latency", flush=True)
        naive_rate = _naive(
            ctx, count=ctx.scaled(NAIVE[latency], minimum=50), latency_ms=latency, district="*"
        )
        print(f"  drive to everyone, {latency} ms ESP latency, queue on Redis", flush=True)
        result = _drive(
            ctx,
            district="*",
            count=None,
            latency_ms=latency,
            rate=None,
            label=f"union-l{latency}",
            redis_url=redis_url,
        )
        start = result["first_message_s"]
        figures += [
            Figure(
                name=f"drive to everyone, {latency} ms ESP latency: start to all settled",
                value=result["rate"],
                unit="msg/s",
                target=f"≥ {target:,.0f} msg/s{at_scale}",
                passed=(result["rate"] >= target and result["exactly_once"]) if full else None,
                baseline=naive_rate,
                baseline_name="render + send_mail per recipient (same fake ESP)",
                notes=(
                    f"{result['count']:,} recipients in {result['seconds']:.1f} s, "
                    f"{result['calls']} API calls, {CONSUMERS} consumers × {WORKERS} threads on "
                    f"Redis; rows {result['counts']}; everyone exactly once per the ESP log: "
                    f"{result['exactly_once']}; 1-minute load average {result['load'][0]:.1f} "
                    f"before, {result['load'][1]:.1f} after"
                ),
            ),
            Figure(
                name=f"drive to everyone, {latency} ms latency: start-up to the first message",
                value=start if start is not None else float("nan"),
                unit="s",
                target=f"≤ {TARGET_START_S:.0f} s{at_scale}",
                passed=(start is not None and start <= TARGET_START_S) if full else None,
                higher_is_better=False,
                notes="mailing_send to the ESP's first accepted call: the audience snapshot "
                "of every mailable supporter, the enqueue, the first claim and render",
            ),
            Figure(
                name=f"drive to everyone, {latency} ms latency: peak memory of any process",
                value=result["peak_mb"],
                unit="MB",
                higher_is_better=False,
                notes="max RSS of mailing_send and each consumer",
            ),
        ]

    rate_count = ctx.scaled(RATE_RECIPIENTS, minimum=1000)
    print(
        f"  rate limit on Redis: districts of about {rate_count:,} supporters at "
        f"{RATE_LIMIT:.0f} msg/s",
        flush=True,
    )
    limited = _drive(
        ctx,
        district=f"first:{rate_count}",
        count=None,
        latency_ms=0,
        rate=RATE_LIMIT,
        label="union-rate",
        redis_url=redis_url,
    )
    figures.append(
        rate_limit_figure(
            f"global rate limit {RATE_LIMIT:,.0f} msg/s on Redis across {CONSUMERS} consumers",
            limited,
            rate=RATE_LIMIT,
            tolerance=0.05,
        )
    )
    return figures
