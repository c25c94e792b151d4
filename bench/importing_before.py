"""The import figures' baseline: the importer as it was when their targets were set
(it read XLSX with openpyxl), timed on the same file in the same run
(``bench/importing.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import BenchError, ChildRun, Context, recreate_database, run_measured
from bench.worktree import checkout

# The importer the CSV target was set against ("no slower than today"): main on
# 2026-11-22, before the readers, the school and hygiene fixes and the search indexes.
# It is checked out and timed on the same file in the same run, on its own database.
BEFORE_COMMIT = "e540d58"


def import_before(ctx: Context, path: Path, *, username: str) -> ChildRun:
    """Time ``import_supporters`` of BEFORE_COMMIT on ``path``, from a git worktree,
    into a database of its own (migrated by that code), with this run's Python."""
    url = f"{ctx.database_url}_before"
    recreate_database(url)
    env = ctx.env() | {"DATABASE_URL": url}

    with checkout(ctx, BEFORE_COMMIT, purpose="the import baseline") as worktree:

        def child(*args: str):
            run = run_measured(
                [sys.executable, "manage.py", *args], env=env, timeout=ctx.timeout, cwd=worktree
            )
            if run.returncode != 0:
                tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-20:])
                raise BenchError(
                    f"{BEFORE_COMMIT}: {' '.join(args)} exited {run.returncode}:\n{tail}"
                )
            return run

        child("migrate", "--noinput", "-v", "0")
        child("createsuperuser", "--noinput", "--username", username, "--email", "b@example.org")
        run = child("import_supporters", str(path), "--json", "--as", username)
    created = json.loads(run.stdout)["created"]
    if created != ctx.query_one("SELECT count(*) FROM contacts_contact"):
        raise BenchError("The importer before and this one created different numbers.")
    return run
