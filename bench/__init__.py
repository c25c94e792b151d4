"""Benchmarks at union scale on PostgreSQL: ``python -m bench [module ...]`` (``make bench``).

Each benchmark is a module in this package exposing ``run(ctx: Context) -> list[Figure]``.
Work runs in child ``python manage.py ...`` processes with the real settings, against a
throw-away database, so the figures are what production code does, not a test double.
This package imports nothing from Django so the runner itself stays a plain process.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/turnout_bench"
# The union Turnout is built for, at BENCH_SCALE=1.
UNION_CONTACTS, UNION_SCHOOLS, UNION_DISTRICTS = 450_000, 20_000, 150


class BenchError(Exception):
    """A benchmark could not run (as opposed to running and missing its target)."""


@dataclass
class Figure:
    """One measured number, its target and how it compares with a baseline from the same run."""

    name: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None
    baseline: float | None = None
    baseline_name: str = ""
    # How many times better than the baseline; computed from higher_is_better if not given.
    ratio: float | None = None
    higher_is_better: bool = True
    notes: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline and self.value:
            self.ratio = (
                self.value / self.baseline if self.higher_is_better else self.baseline / self.value
            )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("value", "baseline", "ratio"):
            if isinstance(data[key], float):
                data[key] = round(data[key], 3)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class ChildRun:
    """A finished child process: wall time, its own peak resident memory, its output."""

    args: list[str]
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Context:
    """What a benchmark module needs: sizes, the database, and a way to run manage.py."""

    database_url: str
    scale: float
    var_dir: Path
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    timeout: float = 3600.0

    @classmethod
    def from_env(cls, var_dir: Path) -> Context:
        raw_scale = os.environ.get("BENCH_SCALE", "1")
        try:
            scale = float(raw_scale)
        except ValueError:
            raise BenchError(f"BENCH_SCALE must be a number, got {raw_scale!r}.") from None
        if not 0 < scale <= 10:
            raise BenchError(f"BENCH_SCALE must be in (0, 10], got {scale}.")
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        return cls(database_url=url, scale=scale, var_dir=var_dir)

    def scaled(self, n: int, minimum: int = 1) -> int:
        return max(minimum, round(n * self.scale))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Never a real email provider or a shared queue from the developer's shell.
        for name in ("ANYMAIL_ESP", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
            env.pop(name, None)
        env.update(
            DATABASE_URL=self.database_url,
            TURNOUT_VAR_DIR=str(self.var_dir),
            SECRET_KEY=self.secret_key,
            DEBUG="1",
            DJANGO_SETTINGS_MODULE="campaign.settings",
            PYTHONUNBUFFERED="1",
        )
        return env

    def manage(self, *args: str, check: bool = True) -> ChildRun:
        """Run ``python manage.py *args`` and measure it."""
        return self.python("manage.py", *args, check=check)

    def python(self, *args: str, check: bool = True) -> ChildRun:
        """Run ``python *args`` from the repository root and measure it."""
        run = run_measured([sys.executable, *args], env=self.env(), timeout=self.timeout)
        if check and run.returncode != 0:
            tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-20:])
            raise BenchError(f"{' '.join(args)} exited with {run.returncode}:\n{tail}")
        return run

    def reset_database(self) -> None:
        """Drop, re-create and migrate the benchmark database."""
        recreate_database(self.database_url)
        self.manage("migrate", "--noinput", "-v", "0")

    def union_sizes(self) -> tuple[int, int, int]:
        """(contacts, schools, districts) of the union at this run's scale."""
        return (
            self.scaled(UNION_CONTACTS, minimum=100),
            self.scaled(UNION_SCHOOLS, minimum=10),
            self.scaled(UNION_DISTRICTS, minimum=2),
        )

    def ensure_demo_data(self) -> ChildRun | None:
        """Seed the union-sized demo unless it is already there; for modules that need data.

        The database is reused only when it holds a union of this run's size: another
        module (drives, importing) may have left a smaller, differently shaped one, and
        figures measured on it would not be union-scale figures."""
        contacts, schools, districts = self.union_sizes()
        have_contacts = self.query_one("SELECT count(*) FROM contacts_contact")
        have_schools = self.query_one("SELECT count(*) FROM contacts_school")
        # seed_demo audits itself; an imported union of the same size lacks the demo's
        # tags and GOTV statuses that the read benchmarks filter on.
        demo = self.query_one(
            "SELECT EXISTS (SELECT 1 FROM campaign_auditevent WHERE action = 'seed')"
        )
        if demo and have_contacts >= 0.95 * contacts and have_schools >= 0.95 * schools:
            return None
        if have_contacts or have_schools:
            print(
                f"  the database holds {have_contacts:,} supporters in {have_schools:,} schools,"
                f" not the demo union; re-seeding {contacts:,} in {schools:,}",
                flush=True,
            )
            self.reset_database()
        return self.manage(
            "seed_demo",
            "--contacts",
            str(contacts),
            "--schools",
            str(schools),
            "--districts",
            str(districts),
        )

    def vacuum_analyze(self) -> None:
        """Statistics and visibility as autovacuum keeps them on a live database: right
        after a bulk seed they are missing, and plans (and counts) would be those of a
        database nobody runs."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

    def query_one(self, query: str) -> Any:
        """The first column of the first row of a read-only query on the benchmark database."""
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            row = conn.execute(query).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def server_version(self) -> str:
        return str(self.query_one("SHOW server_version"))

    def database_exists(self) -> bool:
        import psycopg

        try:
            conn = psycopg.connect(
                self.database_url, dbname="postgres", autocommit=True, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            raise BenchError(f"Cannot reach PostgreSQL for {self.database_url!r}: {exc}") from None
        with conn:
            name = database_name(self.database_url)
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return found.fetchone() is not None


def database_name(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url).get("dbname") or "")


def recreate_database(url: str) -> None:
    """DROP and CREATE the database named in ``url``, connected to ``postgres`` instead."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    # Benchmarks drop their database; a mistyped URL must not take real data with it.
    if "bench" not in name:
        raise BenchError(
            f"Refusing to drop database {name!r}: a benchmark database's name must contain "
            "'bench' (set BENCH_DATABASE_URL)."
        )
    try:
        conn = psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BenchError(f"Cannot reach PostgreSQL for {url!r}: {exc}") from None
    with conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run_measured(
    args: Sequence[str], *, env: dict[str, str], timeout: float, cwd: Path | None = None
) -> ChildRun:
    """Run a child to completion; wall time and peak RSS are that child's alone.

    ``os.wait4`` returns the rusage of exactly this child, unlike RUSAGE_CHILDREN which
    is the maximum over every child this process has ever waited for.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=env, cwd=cwd or ROOT)  # noqa: S603
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        # Reaped by wait4 above; tell Popen so it does not try again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is KiB on Linux, bytes on macOS.
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return ChildRun(
            args=list(args),
            seconds=seconds,
            peak_rss_mb=peak,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
