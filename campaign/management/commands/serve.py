"""Run the web server and a Huey consumer together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaign.models import TeamMember

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
# A consumer that keeps dying is restarted after 1, 3, 7... seconds (at most a minute).
RESTART_WINDOW = 300
MAX_RESTART_PAUSE = 60


class Command(BaseCommand):
    help = "Start the web server and a Huey consumer together (the embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        url = f"http://{host}:{port}/"
        web_command = [sys.executable, MANAGE, "runserver", f"{host}:{port}", "--noreload"]
        if not settings.DEBUG:
            web_command = [
                sys.executable, "-m", "gunicorn", "campaign.wsgi", "-b", f"{host}:{port}"
            ]  # fmt: skip
        worker_command = [sys.executable, MANAGE, "run_huey"]
        environ = child_environ(host=host, port=port, environ=os.environ)
        web = subprocess.Popen(web_command, env=environ)  # noqa: S603
        worker = subprocess.Popen(worker_command, env=environ)  # noqa: S603
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Announce once the server answers, so the address is the last thing printed
        # rather than buried in start-up logging.
        self._wait_until_listening(host, port, [web])
        self._announce(url)
        restarts: list[float] = []
        try:
            while not stopping and web.poll() is None:
                if worker.poll() is not None:
                    worker = self._restart(
                        worker, worker_command, environ, restarts, lambda: stopping
                    )
                time.sleep(0.2)
        finally:
            children = [web, worker]
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        if not stopping:
            raise CommandError("The web server stopped; the queue consumer is stopped too.")
        self.stdout.write("Stopped the web server and the queue consumer.")

    def _restart(
        self, dead: subprocess.Popen, command: list[str], environ, restarts: list[float], stopped
    ):
        """A consumer that died (a crash, the OOM killer) is started again at once, and
        with a growing pause if it keeps dying, while the web server stays up: queued
        work waits in the queue and resumes; a task running when it died is lost (Huey
        runs a task at most once), which the drive sweeper and stale-pack check repair."""
        now = time.monotonic()
        restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
        pause = min(MAX_RESTART_PAUSE, 2 ** (len(restarts) - 1) - 1) if len(restarts) > 1 else 0
        self.stderr.write(
            f"The queue consumer stopped (exit code {dead.returncode}); restarting it"
            + (f" in {pause} s" if pause else "")
            + f" (restart {len(restarts)} in the last {RESTART_WINDOW // 60} minutes). "
            "The web server is still running."
        )
        self.stderr.flush()
        until = time.monotonic() + pause
        while time.monotonic() < until:
            if stopped():
                return dead
            time.sleep(0.2)
        worker = subprocess.Popen(command, env=environ)  # noqa: S603
        self.stdout.write(f"Restarted the queue consumer (pid {worker.pid}).")
        self.stdout.flush()
        return worker

    @staticmethod
    def _wait_until_listening(host: str, port: int, children, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and all(c.poll() is None for c in children):
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)

    def _announce(self, url: str) -> None:
        site_url = os.environ.get("SITE_URL", "").strip().rstrip("/")
        lines = [
            "",
            f"Turnout is running at {url}  (sign in at {url}accounts/login/)",
            f"Links in emails, sheets and QR codes: {site_url or url.rstrip('/')}",
            f"Database: {settings.DATABASES['default']['NAME']}",
            f"Outbox (emails sent on this machine): {settings.OUTBOX_DIR} and {url}outbox/",
        ]
        members = TeamMember.objects.select_related("user").order_by("role", "user__username")
        demo = [m for m in members if m.user.username in DEMO_USERNAMES]
        if demo:
            lines.append("Demo logins (password: turnout-demo):")
            for member in demo:
                districts = ", ".join(d.name for d in member.districts.all()) or "all districts"
                lines.append(
                    f"  {member.user.username:<10} {member.get_role_display():<14} {districts}"
                )
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


def public_host(host: str) -> str:
    """The address to put in links for a server listening on ``host``."""
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - naming it, not binding
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def child_environ(*, host: str, port: int, environ) -> dict[str, str]:
    """The web server's and the queue consumer's environment: unless SITE_URL is set,
    links (emails, "I have voted", unsubscribe, sheets' QR codes) point at the address
    served here, so `make run PORT=8101` mails links to port 8101. The consumer needs
    it as much as the web server: it sends the drives' emails."""
    child = dict(environ)
    if not child.get("SITE_URL", "").strip() and port:
        child["SITE_URL"] = f"http://{public_host(host)}:{port}"
        child["PORT"] = str(port)
    return child


DEMO_USERNAMES = {"organiser", "volunteer", "lead_a", "lead_b"}
