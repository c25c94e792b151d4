"""A local fake of Mailgun's messages API, for tests and benchmarks.

It implements what Anymail's real Mailgun backend calls - ``POST /v3/<domain>/messages``
with HTTP basic auth ``api:<key>`` and the form fields Anymail sends (``from``, ``to``,
``subject``, ``text``, ``html``, ``h:<Header>``, ``v:<custom data>``, ``o:tag``,
``recipient-variables``) - and answers as Mailgun does (``{"id": …, "message":
"Queued. Thank you."}``). Point Anymail at it with ``MAILGUN_API_URL=http://127.0.0.1:<port>/v3``.

Every accepted message is written, one JSON line per recipient with Mailgun's
``%recipient.KEY%`` substitution applied, to the log file *before* the answer is
sent: the log is the ground truth of who was sent what.

It also serves Mailgun's events API as reconciliation reads it - ``GET
/v3/<domain>/events`` with ``begin``/``end`` (epoch seconds), ``ascending``, ``limit``
(at most 300), ``event`` (``accepted``, or ``accepted OR rejected``), ``recipient`` and
``tags`` filters, and ``paging.next`` URLs - listing one "accepted" event per logged
recipient (read back from the log at start, so a restarted fake still knows) with the
message's ``user-variables``, and one "rejected" event per address it refused. Failures can be injected:
latency per call, a share of calls answered 429/500 (nothing accepted), a share of
calls that hang past the client's timeout (nothing accepted), a share accepted but
answered only after the client's timeout ("late": the client cannot know), addresses
refused with Mailgun's 400 for invalid recipients, and a fixed ``script`` of outcomes
for the first calls (``ok``, ``fail``, ``timeout``, ``late``).

Run it::

    python -m mailings.fake_esp --port 8025 --latency-ms 100 --fail-rate 0.2 \\
        --log var/fake-esp.jsonl

Standard library only, so it starts in a blink and never imports Django.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

_PATH = re.compile(r"^/v3/([^/]+)/messages/?$")
_EVENTS_PATH = re.compile(r"^/v3/([^/]+)/events/?$")
EVENTS_PAGE_MAX = 300
_VARIABLE = re.compile(r"%recipient\.([^%]+)%")


class FakeESPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str = "fake-key",
        log_path: str | None = None,
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        fail_codes: tuple[int, ...] = (429, 500),
        timeout_rate: float = 0.0,
        timeout_seconds: float = 30.0,
        late_rate: float = 0.0,
        script: list[str] | None = None,
        reject_pattern: str | None = None,
        store_bodies: bool = False,
        seed: int | None = None,
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.api_key = api_key
        self.log_path = log_path
        self.latency = latency_ms / 1000.0
        self.fail_rate = fail_rate
        self.fail_codes = fail_codes
        self.timeout_rate = timeout_rate
        self.timeout_seconds = timeout_seconds
        self.late_rate = late_rate
        self.script = list(script or [])
        self.reject = re.compile(reject_pattern) if reject_pattern else None
        self.store_bodies = store_bodies
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.stats = {"calls": 0, "accepted_calls": 0, "messages": 0, "failed_calls": 0}
        # The events API's store: every accepted recipient (and refused address).
        self.events: list[dict] = [
            _accepted_event(record) for record in (read_log(log_path) if log_path else [])
        ]
        self._log = open(log_path, "ab") if log_path else None  # noqa: SIM115
        self._thread: threading.Thread | None = None

    def handle_error(self, request, client_address):
        # A client that gave up (timeout) or was killed mid-call is expected here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def start(self) -> FakeESPServer:
        """Serve in a background thread (for tests and benchmarks)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="fake-esp")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._log:
            self._log.close()

    def draw(self) -> str:
        with self.lock:
            self.stats["calls"] += 1
            if self.script:
                return self.script.pop(0)
            roll = self.random.random()
        if roll < self.timeout_rate:
            return "timeout"
        if roll < self.timeout_rate + self.fail_rate:
            return "fail"
        if roll < self.timeout_rate + self.fail_rate + self.late_rate:
            return "late"
        return "ok"

    def accept(self, domain: str, fields: list[tuple[str, str]]) -> tuple[str, int]:
        """Log one accepted call, one line per recipient; returns (message id, count)."""
        single: dict[str, str] = {}
        recipients: list[str] = []
        for name, value in fields:
            if name == "to":
                recipients.append(value)
            else:
                single.setdefault(name, value)
        variables = json.loads(single.get("recipient-variables") or "{}")
        with self.lock:
            message_id = f"<{time.strftime('%Y%m%d%H%M%S')}.{next(self.counter)}@{domain}>"
        now = time.time()
        lines = []
        for to in recipients:
            address = _addr_spec(to)
            mine = variables.get(address, {})

            def fill(text: str, mine=mine) -> str:
                return _VARIABLE.sub(lambda m: str(mine.get(m.group(1), m.group(0))), text)

            record = {
                "time": now,
                "message_id": message_id,
                "to": address,
                "subject": fill(single.get("subject", "")),
                "headers": {k[2:]: fill(v) for k, v in single.items() if k.startswith("h:")},
                "variables": {k[2:]: fill(v) for k, v in single.items() if k.startswith("v:")},
                "tags": [v for k, v in fields if k == "o:tag"],
            }
            if self.store_bodies:
                record["text"] = fill(single.get("text", ""))
                record["html"] = fill(single.get("html", ""))
            lines.append(json.dumps(record, ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode() if lines else b""
        with self.lock:
            if self._log and data:
                self._log.write(data)
                self._log.flush()
            self.events.extend(_accepted_event(json.loads(line)) for line in lines)
            self.stats["accepted_calls"] += 1
            self.stats["messages"] += len(recipients)
        return message_id, len(recipients)

    def rejected(self, recipients: list[str], fields: list[tuple[str, str]]) -> None:
        now = time.time()
        variables = {k[2:]: v for k, v in fields if k.startswith("v:")}
        with self.lock:
            for address in recipients:
                self.events.append(
                    {
                        "id": uuid.uuid4().hex,
                        "event": "rejected",
                        "timestamp": now,
                        "recipient": address,
                        "tags": [v for k, v in fields if k == "o:tag"],
                        "user-variables": dict(variables),
                        "message": {"headers": {}},
                        "reject": {"reason": "invalid recipient"},
                    }
                )

    def find_events(self, query: dict[str, str]) -> list[dict]:
        """Events matching a Mailgun events query, in time order (or reversed)."""
        begin = float(query["begin"]) if query.get("begin") else None
        end = float(query["end"]) if query.get("end") else None
        kinds = {k.strip() for k in query["event"].split(" OR ")} if query.get("event") else None
        recipient = query.get("recipient", "").strip().lower() or None
        tag = query.get("tags") or None
        with self.lock:
            found = [
                event
                for event in self.events
                if (begin is None or event["timestamp"] >= begin)
                and (end is None or event["timestamp"] <= end)
                and (kinds is None or event["event"] in kinds)
                and (recipient is None or event["recipient"].lower() == recipient)
                and (tag is None or tag in event["tags"])
            ]
        found.sort(key=lambda event: event["timestamp"])
        if query.get("ascending", "yes") == "no":
            found.reverse()
        return found


def _accepted_event(record: dict) -> dict:
    return {
        "id": f"{record['message_id']}/{record['to']}",
        "event": "accepted",
        "timestamp": record["time"],
        "recipient": record["to"],
        "tags": record.get("tags", []),
        "user-variables": record.get("variables", {}),
        "message": {
            "headers": {
                "message-id": record["message_id"].strip("<>"),
                "to": record["to"],
                "subject": record.get("subject", ""),
            }
        },
    }


def _addr_spec(value: str) -> str:
    match = re.search(r"<([^>]+)>\s*$", value)
    return (match.group(1) if match else value).strip()


def _form_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    if content_type.startswith("multipart/form-data"):
        parsed = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields = []
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                continue  # attachments are not logged
            fields.append((name, part.get_content()))
        return fields
    return parse_qsl(body.decode(), keep_blank_values=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeESPServer

    def log_message(self, format, *args):  # noqa: A002 - quiet: the log file is the record
        pass

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        expected = "Basic " + base64.b64encode(f"api:{self.server.api_key}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._reply(401, {"message": "Forbidden"})
            return False
        return True

    def do_GET(self):  # noqa: N802
        if self.path == "/stats":
            with self.server.lock:
                self._reply(200, dict(self.server.stats))
            return
        url = urlsplit(self.path)
        match = _EVENTS_PATH.match(url.path)
        if match is not None:
            if self._authorised():
                self._events(match.group(1), url)
            return
        self._reply(200, {"message": "Mailgun Magnificent API"})

    def _events(self, domain: str, url) -> None:
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            limit = min(EVENTS_PAGE_MAX, int(query.get("limit") or 100))
            skip = int(query.pop("page", "0") or 0)
            found = self.server.find_events(query)
        except ValueError:
            self._reply(400, {"message": "Invalid events query"})
            return
        items = found[skip : skip + limit]
        base = f"http://{self.headers.get('Host')}/v3/{domain}/events?"
        following = urlencode({**query, "page": str(skip + len(items))})
        self._reply(
            200,
            {
                "items": items,
                "paging": {
                    "next": base + following,
                    "first": base + urlencode({**query, "page": "0"}),
                },
            },
        )

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        match = _PATH.match(self.path)
        if match is None:
            self._reply(404, {"message": "Not found"})
            return
        if not self._authorised():
            return
        outcome = self.server.draw()
        if self.server.latency:
            time.sleep(self.server.latency)
        if outcome == "timeout":
            # Hang past the client's timeout, then drop the connection: nothing accepted.
            time.sleep(self.server.timeout_seconds)
            self.close_connection = True
            return
        if outcome == "fail":
            code = self.server.random.choice(self.server.fail_codes)
            with self.server.lock:
                self.server.stats["failed_calls"] += 1
            self._reply(code, {"message": "Injected failure, try again later"})
            return
        fields = _form_fields(self.headers.get("Content-Type", ""), body)
        recipients = [_addr_spec(v) for k, v in fields if k == "to"]
        if not recipients:
            self._reply(400, {"message": "'to' parameter is missing"})
            return
        if self.server.reject and any(self.server.reject.search(r) for r in recipients):
            self.server.rejected([r for r in recipients if self.server.reject.search(r)], fields)
            self._reply(
                400,
                {"message": "'to' parameter is not a valid address. please check documentation"},
            )
            return
        message_id, _ = self.server.accept(match.group(1), fields)
        if outcome == "late":
            # Accepted and logged, but the answer comes after the client gave up.
            time.sleep(self.server.timeout_seconds)
            self.close_connection = True
            return
        self._reply(200, {"id": message_id, "message": "Queued. Thank you."})


def read_log(path: str) -> list[dict]:
    """Every accepted message, one dict per recipient (a torn last line is ignored)."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--api-key", default="fake-key")
    parser.add_argument("--log", default=None, help="JSON lines, one per accepted recipient")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of calls answered 429/500"
    )
    parser.add_argument("--fail-codes", default="429,500")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of calls that hang")
    parser.add_argument("--timeout-seconds", type=float, default=30.0)
    parser.add_argument(
        "--late-rate", type=float, default=0.0, help="share accepted but answered too late"
    )
    parser.add_argument(
        "--reject-pattern", default=None, help="regex of addresses refused with 400"
    )
    parser.add_argument("--store-bodies", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    server = FakeESPServer(
        port=args.port,
        api_key=args.api_key,
        log_path=args.log,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        fail_codes=tuple(int(c) for c in args.fail_codes.split(",") if c.strip()),
        timeout_rate=args.timeout_rate,
        timeout_seconds=args.timeout_seconds,
        late_rate=args.late_rate,
        reject_pattern=args.reject_pattern,
        store_bodies=args.store_bodies,
        seed=args.seed,
    )
    print(f"Fake Mailgun on {server.api_url} (log: {args.log or 'none'})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
