"""``python -m bench [module ...]``: run benchmark modules and update the reports.

With no names every module runs, ``seed`` first (it leaves a union-sized database that
later modules may build on). Exit status is 1 if a module failed to run or missed a
target, after the reports have been written.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import ModuleType

from bench import BenchError, Context, database_name
from bench.report import MARKDOWN_PATH, RESULTS_PATH, ModuleResult, fmt_number, machine_info
from bench.report import now_iso as report_now
from bench.report import write as write_reports

# Modules of this package that are machinery, not benchmarks.
NOT_BENCHMARKS = frozenset({"report"})
RUN_FIRST = ("seed",)


def discover() -> list[str]:
    """Benchmark module names, ``seed`` first; imported only when selected."""
    names = [
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_") and info.name not in NOT_BENCHMARKS
    ]
    return [n for n in RUN_FIRST if n in names] + sorted(set(names) - set(RUN_FIRST))


def load_module(name: str) -> ModuleType:
    module = importlib.import_module(f"bench.{name}")
    if not callable(getattr(module, "run", None)):
        raise BenchError(f"bench/{name}.py has no run(ctx) function.")
    return module


def main(argv: list[str] | None = None) -> int:
    # Started in the background from a shell, this process inherits SIGINT ignored, and
    # so would its children (fake ESP, consumers), which the benchmarks stop with SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("modules", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list benchmark modules and exit")
    args = parser.parse_args(argv)

    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [name for name in args.modules if name not in available]
    if unknown:
        parser.error(
            f"unknown benchmark module(s): {', '.join(unknown)}; have {', '.join(available)}"
        )
    selected = [name for name in available if not args.modules or name in args.modules]

    var_dir = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    try:
        ctx = Context.from_env(var_dir)
        print(f"Benchmark database {database_name(ctx.database_url)!r}, scale {ctx.scale}")
        # Modules that build on an existing union-sized database (``REUSES_DATABASE``)
        # spare a fresh seed of 450,000 supporters when they run on their own (on a
        # machine without the database yet, they make it and seed it).
        reusing = all(getattr(load_module(n), "REUSES_DATABASE", False) for n in selected)
        if not reusing or not ctx.database_exists():
            ctx.reset_database()
        machine = machine_info(ctx.server_version())
        results: list[ModuleResult] = []
        failed_to_run: list[str] = []
        for name in selected:
            print(f"\n== {name} ==", flush=True)
            started, ran_at = time.perf_counter(), report_now()
            try:
                figures = load_module(name).run(ctx)
            except Exception:  # one broken module must not lose the others' figures
                traceback.print_exc()
                failed_to_run.append(name)
                continue
            for figure in figures:
                verdict = {True: "pass", False: "FAIL", None: ""}[figure.passed]
                ratio = f"  {figure.ratio:.1f}× baseline" if figure.ratio else ""
                print(f"  {figure.name}: {fmt_number(figure.value, figure.unit)}{ratio}  {verdict}")
            results.append(
                ModuleResult(
                    name, figures, ran_at, time.perf_counter() - started, ctx.scale, machine
                )
            )
        if results:
            write_reports(results)
            print(
                f"\nWrote {MARKDOWN_PATH.name} and {RESULTS_PATH.relative_to(MARKDOWN_PATH.parent)}"
            )
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    missed = [f.name for r in results for f in r.figures if f.passed is False]
    if failed_to_run:
        print(f"Modules that failed to run: {', '.join(failed_to_run)}", file=sys.stderr)
    if missed:
        print(f"Targets missed: {'; '.join(missed)}", file=sys.stderr)
    return 1 if failed_to_run or missed else 0


if __name__ == "__main__":
    sys.exit(main())
