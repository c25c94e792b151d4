"""Real processes for the import tests that need them: a migrated SQLite file of their
own, ``manage.py import_supporters`` run as a child (its peak memory read from the
kernel with wait4), and a signed-in browser stand-in that runs beside an import.

Run as ``python -m tests.contacts.import_processes import FILE`` it runs the
``import_supporters FILE --json`` command once Django is set up and prints one JSON
line: the command's output or error, and how long the command itself took (start-up
excluded: on a busy machine it varies by seconds). Run as ``... sign-in STOP_FILE`` it
is the web client: it signs in with Django's test client and gets pages until
STOP_FILE exists, then prints one JSON line describing every attempt.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "organiser"
PASSWORD = "a-long-test-password-4821"  # noqa: S105 - a throwaway test database
# How long the signed-in client waits for SQLite's write lock before "database is
# locked": the product's own busy timeout (campaign/env.py), set here explicitly so
# the test fails if that setting is ever lowered under the import's write time.
CLIENT_LOCK_TIMEOUT = 20


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time of the whole child
    peak_mb: float

    def result(self) -> dict:
        """The JSON line an ``import`` child printed last."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def process_env(database: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "TURNOUT_VAR_DIR": str(database.parent / "var"),
        "HUEY_NAME": f"import-test-{database.stem}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def migrated_database(directory: Path) -> Path:
    """A SQLite file with the schema and one organiser (a superuser) who can sign in."""
    database = directory / "turnout.sqlite3"
    env = process_env(database, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    for args in (
        ["migrate", "--noinput"],
        ["createsuperuser", "--noinput", "--username", USERNAME, "--email", "o@example.org"],
    ):
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return database


def start(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=open(out.with_suffix(".out"), "wb"),  # noqa: SIM115 - the child owns it
        stderr=open(out.with_suffix(".err"), "wb"),  # noqa: SIM115
    )


def finish(process: subprocess.Popen, out: Path, started: float) -> Finished:
    """Wait for one child and take its own peak resident size (not its siblings')."""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout = out.with_suffix(".out").read_text(errors="replace")
    # The kernel's ru_maxrss also counts the moment between fork and exec, when the
    # child is a copy of this (large) test process; an import child reports the
    # high-water mark of its own program (VmHWM, reset by exec) in its last line.
    peak_kb = usage.ru_maxrss
    with contextlib.suppress(IndexError, ValueError, KeyError, TypeError):
        peak_kb = json.loads(stdout.strip().splitlines()[-1])["peak_kb"]
    return Finished(
        returncode=process.returncode,
        stdout=stdout,
        stderr=out.with_suffix(".err").read_text(errors="replace"),
        seconds=seconds,
        peak_mb=peak_kb / 1024,  # kilobytes on Linux
    )


def own_peak_kb() -> int:
    """This process's resident high-water mark since exec, in kilobytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")


def import_file(database: Path, path: Path, **env: str) -> Finished:
    """``import_supporters PATH --json`` in a child process, to completion."""
    out = path.parent / f"{path.name}.import"
    started = time.monotonic()
    process = start(
        ["-m", "tests.contacts.import_processes", "import", str(path)],
        process_env(database, **env),
        out,
    )
    return finish(process, out, started)


def run_import(path: Path) -> dict:
    import django

    django.setup()
    from django.core.management import CommandError, call_command

    output = io.StringIO()
    began = time.perf_counter()
    try:
        call_command("import_supporters", str(path), "--json", "--as", USERNAME, stdout=output)
        error = ""
    except CommandError as exc:
        error = str(exc)
    return {
        "seconds": time.perf_counter() - began,
        "error": error,
        "report": json.loads(output.getvalue()) if output.getvalue() else None,
        "peak_kb": own_peak_kb(),
    }


# --- the signed-in client, run as a child ---------------------------------------------


def sign_in_until(stop: Path) -> list[dict]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import OperationalError, close_old_connections
    from django.test import Client

    settings.DATABASES["default"]["OPTIONS"]["timeout"] = CLIENT_LOCK_TIMEOUT
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    attempts = []
    while not stop.exists():
        began = time.monotonic()
        attempt: dict = {"at": time.time()}
        try:
            client = Client()
            login = client.get("/accounts/login/")
            signed_in = client.post(
                "/accounts/login/", {"username": USERNAME, "password": PASSWORD}
            )
            home = client.get("/")
            contacts = client.get("/contacts/")
            attempt["statuses"] = [
                login.status_code,
                signed_in.status_code,
                home.status_code,
                contacts.status_code,
            ]
            attempt["signed_in"] = signed_in.status_code == 302 and home.status_code == 200
        except OperationalError as exc:
            attempt["error"] = str(exc)
        close_old_connections()
        attempt["seconds"] = time.monotonic() - began
        attempts.append(attempt)
        time.sleep(0.2)
    return attempts


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"import", "sign-in"}:
        sys.exit("usage: python -m tests.contacts.import_processes import FILE|sign-in STOP")
    if sys.argv[1] == "import":
        print(json.dumps(run_import(Path(sys.argv[2]))))
    else:
        print(json.dumps(sign_in_until(Path(sys.argv[2]))))
