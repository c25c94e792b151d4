"""`serve` (make run) keeps the web server up when the queue consumer dies: it starts
the consumer again and says so."""

import signal
import subprocess
import sys
import threading
import time

import psutil
import requests

from tests.campaign.test_serve import ROOT, embedded_env, free_port, manage


class Output:
    """Everything the server prints, read on a thread so the pipe never fills."""

    def __init__(self, stream):
        self.text = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self._lock:
                self.text += line

    def wait_for(self, needle: str, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if needle in self.text:
                    return True
            time.sleep(0.1)
        return False


def consumers(server: subprocess.Popen) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(server.pid).children():
        try:
            if "run_huey" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_a_killed_consumer_is_restarted_and_the_web_server_keeps_serving(tmp_path):
    environ = embedded_env(tmp_path)
    manage("migrate", "--noinput", environ=environ)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(server.stdout)
    try:
        assert output.wait_for("Press Ctrl-C")
        [first] = consumers(server)

        first.kill()
        first.wait(timeout=10)

        assert output.wait_for("Restarted the queue consumer", timeout=30), output.text[-2000:]
        assert "The queue consumer stopped (exit code -9); restarting it" in output.text
        assert server.poll() is None
        [second] = consumers(server)
        assert second.pid != first.pid
        page = requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
        assert page.status_code == 200

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert not second.is_running() or second.status() == psutil.STATUS_ZOMBIE
    finally:
        if server.poll() is None:
            server.kill()
