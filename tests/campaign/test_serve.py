"""What `make run` does, end to end: migrate, seed once, serve web + queue, stop on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "ANYMAIL_ESP", "SECRET_KEY", "HUEY_NAME"}
        and not key.startswith("PYTEST")
    }
    environ.update(
        DEBUG="1", TURNOUT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="campaign.settings"
    )
    return environ


def manage(*args, environ):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def test_run_command_serves_login_and_admin_lists_seeded_contacts_then_stops_cleanly(tmp_path):
    environ = embedded_env(tmp_path)
    manage("migrate", "--noinput", environ=environ)
    seed = (
        "seed_demo",
        "--if-empty",
        "--users",
        "--contacts",
        "200",
        "--schools",
        "10",
        "--districts",
        "3",
    )
    manage(*seed, environ=environ)
    again = manage(*seed, environ=environ)
    assert "already" in again.stdout.lower()  # seeded once only

    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            banner += line
        url = re.search(r"Turnout is running at (http://\S+)", banner).group(1)
        assert "organiser" in banner and "lead_a" in banner

        session = requests.Session()
        for _ in range(100):
            try:
                login_page = session.get(url + "accounts/login/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert login_page.status_code == 200
        assert "Sign in to Turnout" in login_page.text

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        session.post(
            url + "accounts/login/",
            data={
                "username": "organiser",
                "password": "turnout-demo",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": url + "accounts/login/"},
            timeout=10,
        )
        contacts = session.get(url + "admin/contacts/contact/", timeout=30)
        assert contacts.status_code == 200
        assert "@example." in contacts.text
        assert (
            re.search(r"200\s+supporters", contacts.text, re.IGNORECASE)
            or "200 contacts" in contacts.text
        )

        children = psutil.Process(server.pid).children()
        assert len(children) == 2  # web server and queue consumer
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert not any(
            child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children
        )
    finally:
        if server.poll() is None:
            server.kill()
