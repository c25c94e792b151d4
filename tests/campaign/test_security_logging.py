"""Query strings (which can hold a searched email address) never reach the logs: not
runserver's access log, not gunicorn's, not any other log line."""

import io
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from campaign.security.logfilters import strip_query_strings

ROOT = Path(settings.BASE_DIR)
SECRET = "sian.oneill@example.org"


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            '"GET /contacts/?q=sian.oneill%40example.org HTTP/1.1" 200 512',
            '"GET /contacts/ HTTP/1.1" 200 512',
        ),
        ("Not Found: /mailings/3/preview/html/?contact=41", "Not Found: /mailings/3/preview/html/"),
        (
            "redirect to https://turnout.example.org/contacts/?q=a@b.org&page=2 done",
            "redirect to https://turnout.example.org/contacts/ done",
        ),
        ("Is this a question? yes", "Is this a question? yes"),
    ],
)
def test_query_strings_are_cut_from_log_lines(line, expected):
    assert strip_query_strings(line) == expected


def _capture(logger_name: str):
    logger = logging.getLogger(logger_name)
    handler = (logger.handlers or logging.getLogger().handlers)[0]
    stream = io.StringIO()
    return handler, _swap_stream(handler, stream), stream


def _swap_stream(handler, stream):
    """``handler.setStream`` without its flush of the old stream: an earlier test in this
    process may have left the handler on a stream since closed (pytest's captured
    stderr), and what is checked here is the handler's filter, not that stream."""
    with handler.lock:
        previous, handler.stream = handler.stream, stream
    return previous


def test_runserver_access_log_lines_lose_their_query_string():
    handler, previous, stream = _capture("django.server")
    try:
        # As django.core.servers.basehttp.WSGIRequestHandler.log_message logs a request.
        logging.getLogger("django.server").info(
            '"%s" %s %s',
            f"GET /contacts/?q={SECRET} HTTP/1.1",
            "200",
            "1234",
            extra={"request": None, "server_time": "01/Dec/2026 09:00:00", "status_code": 200},
        )
    finally:
        _swap_stream(handler, previous)
    logged = stream.getvalue()
    assert '"GET /contacts/ HTTP/1.1" 200 1234' in logged
    assert SECRET not in logged


def test_every_other_log_line_loses_query_strings_too():
    handler, previous, stream = _capture("contacts")
    try:
        logging.getLogger("contacts").warning("Slow page %s", f"/contacts/?q={SECRET}")
    finally:
        _swap_stream(handler, previous)
    assert "Slow page /contacts/" in stream.getvalue()
    assert SECRET not in stream.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_access_log_has_no_query_strings_or_referrers(tmp_path):
    port = _free_port()
    log = tmp_path / "access.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "gunicorn-log-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TURNOUT_VAR_DIR": str(tmp_path),
        "DEBUG": "0",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "gunicorn",
            "campaign.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(log),
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/healthz?q={SECRET}",
                    headers={"Referer": f"http://127.0.0.1:{port}/contacts/?q={SECRET}"},
                )
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    assert response.status == 200
                break
            except urllib.error.HTTPError:
                raise
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=10)
    logged = log.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in logged
    assert SECRET not in logged and "?" not in logged
