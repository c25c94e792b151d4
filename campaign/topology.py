"""The production shape on one machine: ``python -m campaign.topology`` (``make topology``).

What it runs, each process in its own process group with its output in its own file
under ``<run dir>/logs/``:

* **web**: gunicorn with N worker processes (``gunicorn.conf.py`` is read from the
  repository root), production settings: ``DEBUG`` off, ``SECRET_KEY`` from the
  environment, ``ALLOWED_HOSTS``, static files collected first and served by WhiteNoise;
* **consumer-1 … consumer-N**: ``manage.py run_huey`` on Redis, each with its own
  threads; only consumer-1 runs the periodic tasks (the sweeper, nightly recounts):
  Huey's scheduler would otherwise enqueue each of them once per consumer;
* **fake-esp**: ``mailings/fake_esp.py`` standing in for Mailgun, reached through
  Anymail's real Mailgun backend; its log (``<run dir>/fake-esp.jsonl``) is the record
  of every message it accepted;
* PostgreSQL and Redis are the machine's own (``DATABASE_URL``, ``REDIS_URL``).

Before anything starts, ``migrate`` and ``collectstatic`` run (side by side). If any
process stops, everything is stopped and the command exits non-zero; Ctrl-C stops
everything. ``tests/campaign/test_topology.py`` drives this same class over HTTP.

The parent imports nothing from Django: it is a plain supervisor, like systemd would be.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/turnout_topology"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SENDER_DOMAIN = "mg.topology.example.org"
# Settings the topology owns: whatever the calling shell says, these come from here.
OWNED = (
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "TURNOUT_VAR_DIR",
    "STATIC_ROOT",
    "PORT",
    "ANYMAIL_ESP",
    "ANYMAIL_WEBHOOK_SECRET",
    "MAILGUN_API_KEY",
    "MAILGUN_API_URL",
    "MAILGUN_SENDER_DOMAIN",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "HUEY_WORKERS",
)


class TopologyError(Exception):
    """The topology could not be started, or one of its processes stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _is_postgres(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("postgres", "postgresql", "pgsql")


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the database named in ``url`` if it is missing; ``fresh`` drops it first
    (only a database whose name contains "topology": a mistyped URL must not take real
    data with it)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.strip("/")
    if fresh and "topology" not in name:
        raise TopologyError(
            f"Refusing to drop database {name!r}: --fresh only drops a database whose "
            "name contains 'topology'."
        )
    try:
        admin = psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise TopologyError(f"Cannot reach PostgreSQL at {url!r}: {exc}") from None
    with admin:
        if fresh:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.strip("/")
    if "topology" not in name:
        raise TopologyError(f"Refusing to drop database {name!r}: its name lacks 'topology'.")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=10) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class Topology:
    """Web workers, queue consumers and the fake ESP, started and stopped together."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        secret_key: str,
        run_dir: Path,
        web_workers: int = 4,
        consumers: int = 2,
        consumer_threads: int = 4,
        host: str = "127.0.0.1",
        port: int = 0,
        environ: Mapping[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
    ):
        if not _is_postgres(database_url):
            raise TopologyError(
                f"The topology runs on PostgreSQL; DATABASE_URL is {database_url!r}."
            )
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise TopologyError(
                f"The topology runs its queue on Redis; REDIS_URL is {redis_url!r}."
            )
        if not secret_key:
            raise TopologyError(
                "SECRET_KEY must be set (it also keys the suppression list unless "
                "SUPPRESSION_HASH_KEY is set, so keep it): "
                "export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
            )
        if web_workers < 1 or consumers < 1 or consumer_threads < 1:
            raise TopologyError("Web workers, consumers and consumer threads must be at least 1.")
        self.run_dir = Path(run_dir)
        self.log_dir = self.run_dir / "logs"
        self.var_dir = self.run_dir / "var"
        self.esp_log = self.run_dir / "fake-esp.jsonl"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host)
        self.esp_port = free_port()
        self.web_workers, self.consumers, self.consumer_threads = (
            web_workers,
            consumers,
            consumer_threads,
        )
        # Throw-away credentials between processes of this machine only.
        self.esp_api_key = secrets.token_urlsafe(24)
        self.signing_key = secrets.token_urlsafe(32)
        self.webhook_auth = ("hooks", secrets.token_urlsafe(24))
        self.database_url, self.redis_url = database_url, redis_url
        self.env = self._environment(environ if environ is not None else os.environ, secret_key)
        self.env.update(settings or {})
        self.processes: dict[str, subprocess.Popen] = {}

    # --- addresses -----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def esp_url(self) -> str:
        return f"http://127.0.0.1:{self.esp_port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/anymail/mailgun/tracking/"

    @property
    def webhook_authorization(self) -> str:
        user, password = self.webhook_auth
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def consumer_names(self) -> list[str]:
        return [f"consumer-{n}" for n in range(1, self.consumers + 1)]

    def _environment(self, environ: Mapping[str, str], secret_key: str) -> dict[str, str]:
        env = {k: v for k, v in environ.items() if k not in OWNED and not k.startswith("PYTEST")}
        env.update(
            DJANGO_SETTINGS_MODULE="campaign.settings",
            DEBUG="0",
            SECRET_KEY=secret_key,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            TURNOUT_VAR_DIR=str(self.var_dir),
            STATIC_ROOT=str(self.var_dir / "static"),
            PORT=str(self.port),
            HUEY_WORKERS=str(self.consumer_threads),
            # gunicorn sits behind the TLS proxy in production (X-Forwarded-Proto).
            BEHIND_TLS_PROXY="1",
            ANYMAIL_ESP="mailgun",
            MAILGUN_API_KEY=self.esp_api_key,
            MAILGUN_API_URL=f"{self.esp_url}/v3",
            MAILGUN_SENDER_DOMAIN=SENDER_DOMAIN,
            MAILGUN_WEBHOOK_SIGNING_KEY=self.signing_key,
            ANYMAIL_WEBHOOK_SECRET=":".join(self.webhook_auth),
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("ALLOWED_HOSTS", f"{self.host},localhost")
        env.setdefault("SITE_URL", self.url)
        return env

    # --- processes -----------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        with open(self.log_path(name), "ab") as log:
            # Its own session (process group), so stopping it stops its children too
            # (gunicorn's workers, WeasyPrint's pool).
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def run(self, name: str, *args: str, timeout: float = 600) -> str:
        """Run ``python *args`` to completion with the topology's environment; its
        output (also in logs/<name>.log) is returned, a failure raises with its tail."""
        process = self._spawn(name, list(args))
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._stop_one(process)
            raise TopologyError(
                f"{name} did not finish in {timeout:.0f} s:\n{self.tail(name)}"
            ) from None
        finally:
            self.processes.pop(name, None)
        if code != 0:
            raise TopologyError(f"{name} exited with {code}:\n{self.tail(name)}")
        return self.log_path(name).read_text(errors="replace")

    def prepare(self, timeout: float = 600) -> None:
        """Migrate the database, with ``collectstatic`` running alongside; returns once
        the database is migrated (``start`` waits for the static files before the web
        workers start: only they serve them)."""
        self._spawn("collectstatic", ["manage.py", "collectstatic", "--noinput", "-v", "0"])
        self._finish(
            "migrate", self._spawn("migrate", ["manage.py", "migrate", "--noinput"]), timeout
        )

    def _finish(self, name: str, process: subprocess.Popen, timeout: float) -> None:
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._stop_one(process)
            code = f"a timeout after {timeout:.0f} s"
        self.processes.pop(name, None)
        if code != 0:
            raise TopologyError(f"{name} exited with {code}:\n{self.tail(name)}")

    def start(self, timeout: float = 120) -> None:
        """Start the fake ESP, the consumers and the web workers; return once all answer."""
        self._spawn(
            "fake-esp",
            # "=" form: a token_urlsafe key may begin with "-", which argparse
            # would otherwise read as an option.
            ["-m", "mailings.fake_esp", "--port", str(self.esp_port)]
            + [f"--api-key={self.esp_api_key}", "--log", str(self.esp_log)],
        )
        for n, name in enumerate(self.consumer_names()):
            periodic = [] if n == 0 else ["--no-periodic"]
            self._spawn(name, ["manage.py", "run_huey", *periodic])
        if "collectstatic" in self.processes:
            self._finish("collectstatic", self.processes["collectstatic"], timeout)
        bind = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        # gunicorn's control socket defaults to one path per user (~/.gunicorn/): a
        # second gunicorn on the machine would take it over. One per run directory.
        control = self.run_dir / "gunicorn.ctl"
        sockets = (
            ["--control-socket", str(control)]
            if len(str(control)) < 100
            else ["--no-control-socket"]
        )
        self._spawn(
            "web",
            ["-m", "gunicorn", "campaign.wsgi", "--bind", bind, *sockets]
            + ["--workers", str(self.web_workers), "--graceful-timeout", "10"],
        )
        deadline = time.monotonic() + timeout
        waiting = {"fake-esp", "web", *self.consumer_names()}
        while waiting:
            self.check()
            for name in sorted(waiting):
                if self._ready(name):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise TopologyError(
                    f"Not ready after {timeout:.0f} s: {', '.join(sorted(waiting))}\n"
                    + self.tail(*sorted(waiting))
                )
            time.sleep(0.2)

    def _ready(self, name: str) -> bool:
        if name == "fake-esp":
            return _answers(f"{self.esp_url}/stats")
        log = self.log_path(name).read_text(errors="replace")
        if name == "web":
            booted = len(re.findall(r"Booting worker with pid", log))
            return booted >= self.web_workers and _answers(f"{self.url}/healthz")
        return "Huey consumer started" in log

    def check(self) -> None:
        """Raise if any long-running process has stopped."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise TopologyError(
                    f"{name} stopped (exit code {process.returncode}):\n{self.tail(name)}"
                )

    def stop(self) -> None:
        """Stop every process group: SIGTERM, then SIGKILL after 15 s."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Whatever the leader did, nothing of its group may outlive the topology.
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def _stop_one(self, process: subprocess.Popen) -> None:
        _signal_group(process, signal.SIGKILL)
        process.wait()

    def tail(self, *names: str, lines: int = 40) -> str:
        """The last lines of each process's log (every log when no name is given)."""
        paths = [self.log_path(n) for n in names] if names else sorted(self.log_dir.glob("*.log"))
        parts = []
        for path in paths:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {path.name} (last {lines} lines) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        user, password = self.webhook_auth
        hook = self.webhook_url.replace("://", f"://{user}:{password}@", 1)
        return "\n".join(
            [
                "",
                f"Turnout (production settings) at {self.url}/  (sign in at {self.url}/accounts/login/)",
                f"  web: gunicorn, {self.web_workers} workers; queue: {self.consumers} consumers "
                f"× {self.consumer_threads} threads on {self.redis_url}",
                f"  database: {self.database_url}",
                f"  ESP: fake Mailgun at {self.esp_url}/v3, every accepted message in {self.esp_log}",
                f"  tracking webhook: {hook}",
                f"  Mailgun webhook signing key: {self.signing_key}",
                f"  logs: {self.log_dir}/",
                "No organiser yet? In another shell, with the same DATABASE_URL and SECRET_KEY:",
                "  .venv/bin/python manage.py createsuperuser",
                "Press Ctrl-C to stop.",
                "",
            ]
        )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="worker threads per consumer")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "var" / "topology")
    parser.add_argument(
        "--fresh", action="store_true", help="drop and re-create the database first"
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    try:
        topology = Topology(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=os.environ.get("SECRET_KEY", "").strip(),
            run_dir=args.run_dir,
            web_workers=args.web_workers,
            consumers=args.consumers,
            consumer_threads=args.threads,
            host=args.host,
            port=args.port,
        )
        if _is_postgres(database_url):
            ensure_database(database_url, fresh=args.fresh)
    except TopologyError as exc:
        print(exc, file=sys.stderr)
        return 2

    def interrupt(*_):
        raise KeyboardInterrupt

    # Explicitly: a shell starting this in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        print("Migrating the database and collecting static files…", flush=True)
        topology.prepare()
        topology.start()
        print(topology.describe(), flush=True)
        while True:
            topology.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except TopologyError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        topology.stop()
    print("Stopped the web workers, the consumers and the fake ESP.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
