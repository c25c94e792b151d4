"""An earlier commit of Turnout checked out beside this one, for a baseline measured in
the same run (bench/importing_before.py, bench/tracking.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import ROOT, BenchError, Context


@contextmanager
def checkout(ctx: Context, commit: str, *, purpose: str) -> Iterator[Path]:
    """A git worktree of ``commit`` in this run's scratch directory, removed afterwards."""
    worktree = ctx.var_dir / f"before-{commit}"
    if not (worktree / "manage.py").exists():
        made = subprocess.run(  # noqa: S603
            ["git", "worktree", "add", "--force", "--detach", str(worktree), commit],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise BenchError(
                f"Could not check out {commit} for {purpose} (a clone with its history is "
                f"needed): {made.stderr.strip()}"
            )
    try:
        yield worktree
    finally:
        subprocess.run(  # noqa: S603
            ["git", "worktree", "remove", "--force", str(worktree)],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
        )
