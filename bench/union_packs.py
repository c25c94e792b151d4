"""Canvass packs of the whole union: the largest district's pack, then a pack for every
district back to back, on the union-sized demo database (450,000 supporters, 20,000
schools, 150 districts at BENCH_SCALE=1).

This is what an organiser who prints every district before polling day asks of the
machine: the production code path (``canvass_district_render``: scoped queries, the
HTML, WeasyPrint in the process pool, the merge) in one child process, pages per second
and the peak memory of that process plus its pool (sampled as ``bench.canvass`` does).
The figures are for sizing (docs/deploy.md); the per-pack target lives in ``canvass``.
The baseline, in the same run, is ``canvass``'s naive single-document table of the
largest district's first 3,000 supporters.

Run directly: ``python -m bench.union_packs measure``.
"""

from __future__ import annotations

import json
import sys
import time

from bench import Context, Figure

REUSES_DATABASE = True
USERNAME = "union-packs-bench"
NAIVE_ROWS = 3_000


def run(ctx: Context) -> list[Figure]:
    seeded = ctx.ensure_demo_data()
    if seeded is not None:
        print(f"  seeded the union in {seeded.seconds:.0f} s", flush=True)
    print("  the largest district's pack, then every district's, back to back", flush=True)
    child = ctx.python("-m", "bench.union_packs", "measure")
    for line in child.stdout.strip().splitlines()[:-1]:
        print(f"    {line}", flush=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    largest, union, naive = result["largest"], result["union"], result["naive"]
    naive_name = f"naive single-document bordered-cell table, {naive['rows']:,} rows"
    return [
        Figure(
            name=f"pack of the largest district ({largest['rows']:,} supporters)",
            value=largest["seconds"],
            unit="s",
            higher_is_better=False,
            baseline=naive["seconds"] / naive["rows"] * largest["rows"],
            baseline_name=f"{naive_name} of that district, scaled to {largest['rows']:,} rows",
            notes=(
                f"{largest['name']}: {largest['pages']:,} pages in {largest['schools']:,} "
                f"schools, {largest['pages'] / largest['seconds']:.1f} pages/s, peak "
                f"{largest['peak_mb']:,.0f} MB (process + {result['workers']} workers)"
            ),
        ),
        Figure(
            name=f"packs of all {union['districts']} districts back to back",
            value=union["pages"] / union["seconds"],
            unit="pages/s",
            baseline=naive["pages"] / naive["seconds"],
            baseline_name=naive_name,
            notes=(
                f"{union['rows']:,} supporters, {union['pages']:,} pages in "
                f"{union['seconds']:.0f} s ({union['seconds'] / 60:.1f} min); slowest "
                f"district {union['slowest_s']:.1f} s; 1-minute load average "
                f"{result['load_before']:.1f} before, {result['load_after']:.1f} after"
            ),
        ),
        Figure(
            name="packs of all districts: peak memory (process + workers)",
            value=union["peak_mb"],
            unit="MB",
            target="< 1,024 MB",
            passed=union["peak_mb"] < 1024,
            higher_is_better=False,
            baseline=naive["peak_mb"],
            baseline_name=naive_name,
        ),
    ]


def measure_main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from bench.canvass import _PeakMemory, naive_render
    from campaign.canvass import pdf
    from campaign.canvass.selectors import sheet_rows
    from campaign.canvass.services import canvass_district_render
    from campaign.models import TeamMember
    from campaign.roles import Role
    from contacts.models import District, School

    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    TeamMember.objects.update_or_create(user=user, defaults={"role": Role.ORGANISER})
    workers = settings.CANVASS_PDF_WORKERS
    districts = list(District.objects.annotate(n=Count("contacts")).order_by("-n", "name"))
    result: dict = {"workers": workers, "load_before": os.getloadavg()[0]}
    pdf.warm_pool(workers)

    biggest = districts[0]
    with _PeakMemory() as memory:
        started = time.perf_counter()
        printed = canvass_district_render(actor=user, district=biggest, workers=workers)
        seconds = time.perf_counter() - started
    result["largest"] = {
        "name": biggest.name,
        "rows": printed.rows,
        "pages": printed.pages,
        "schools": School.objects.filter(district=biggest).count(),
        "seconds": seconds,
        "peak_mb": memory.mb,
    }
    print(
        f"largest, {biggest.name}: {printed.rows} supporters, {printed.pages} pages, "
        f"{seconds:.1f} s"
    )

    rows = pages = 0
    slowest = 0.0
    with _PeakMemory() as memory:
        started = time.perf_counter()
        for n, district in enumerate(districts, start=1):
            one = time.perf_counter()
            printed = canvass_district_render(actor=user, district=district, workers=workers)
            slowest = max(slowest, time.perf_counter() - one)
            rows, pages = rows + printed.rows, pages + printed.pages
            if n % 25 == 0:
                print(f"{n} districts: {pages:,} pages, {time.perf_counter() - started:.0f} s")
        seconds = time.perf_counter() - started
    pdf._reset_pool()
    result["union"] = {
        "districts": len(districts),
        "rows": rows,
        "pages": pages,
        "seconds": seconds,
        "slowest_s": slowest,
        "peak_mb": memory.mb,
    }
    # The baseline, once the pool is gone (its memory is the naive run's own): the naive
    # single-document table (bench/canvass.py) of the largest district's first
    # NAIVE_ROWS supporters, scaled to the district by rows.
    ids = list(School.objects.filter(district=biggest).values_list("pk", flat=True))
    naive_rows = [r for rs in sheet_rows(user=user, school_ids=ids).values() for r in rs]
    naive_rows = naive_rows[:NAIVE_ROWS]
    with _PeakMemory() as memory:
        naive_seconds, naive_pages = naive_render(naive_rows)
    result["naive"] = {
        "rows": len(naive_rows),
        "seconds": naive_seconds,
        "pages": naive_pages,
        "peak_mb": memory.mb,
    }
    print(f"naive {len(naive_rows)} rows: {naive_seconds:.1f} s, {naive_pages} pages")

    result["load_after"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1:] != ["measure"]:
        raise SystemExit("usage: python -m bench.union_packs measure")
    measure_main()
