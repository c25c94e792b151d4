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


class Command(BaseCommand):
    help = "Start the web server and a Huey consumer together (the embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        url = f"http://{host}:{port}/"
        web = [sys.executable, MANAGE, "runserver", f"{host}:{port}", "--noreload"]
        if not settings.DEBUG:
            web = [sys.executable, "-m", "gunicorn", "campaign.wsgi", "-b", f"{host}:{port}"]
        worker = [sys.executable, MANAGE, "run_huey"]
        environ = child_environ(host=host, port=port, environ=os.environ)
        children = [
            subprocess.Popen(web, env=environ),  # noqa: S603
            subprocess.Popen(worker, env=environ),  # noqa: S603
        ]
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Announce once the server answers, so the address is the last thing printed
        # rather than buried in start-up logging.
        self._wait_until_listening(host, port, children)
        self._announce(url)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
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
            raise CommandError("The web server or the queue consumer stopped; both are down now.")
        self.stdout.write("Stopped the web server and the queue consumer.")

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
