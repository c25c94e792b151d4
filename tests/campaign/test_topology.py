"""The production topology, driven over HTTP: gunicorn with 4 workers, two queue
consumers on Redis, PostgreSQL, and the fake ESP behind Anymail's real Mailgun backend
(``campaign/topology.py``, what ``make topology`` runs).

An organiser signs in through the sign-in form and her authenticator app, creates a
drive to 5,000 supporters in the admin and starts it; both consumers send part of it,
the fake ESP's log shows everyone exactly once, and Mailgun's signed delivery webhooks
for every tenth message, each posted twice to gunicorn, are stored once per message.

Runs only on PostgreSQL + Redis (``.ci/run``'s second pass); on the embedded default it
is deselected (tests/conftest.py), never skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import secrets
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
import redis
from django.conf import settings
from django_otp.oath import totp

from campaign.topology import Topology, drop_database, ensure_database
from mailings.fake_esp import read_log

pytestmark = pytest.mark.topology

SUPPORTERS = 5_000
BATCH_SIZE = 250  # 20 batch tasks: more than the 8 threads of the two consumers
WEBHOOK_EVERY = 10  # delivery webhooks for every tenth message (500), each posted twice
PASSWORD = "Three rivers meet at Bristol harbour"  # noqa: S105 - a throw-away database
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BATCH_LINE = re.compile(r"Drive (\d+) batch (\d+): (\d+) sent, (\d+) failed")
BODY = (
    "Dear {{ first_name }},\n\nThe ballot for General Secretary closes on "
    "**{{ ballot_closes }}**. Teachers at {{ school }} are counting on you.\n\n"
    "[Tell us you have voted]({{ voted_url }}) so we stop reminding you.\n"
)


class Browser:
    """One person's browser behind the TLS proxy: it keeps its cookies (Secure ones
    too: the proxy speaks HTTPS to it), sends what the proxy adds (X-Forwarded-Proto,
    X-Forwarded-For) and the Origin and Referer a browser sends with a form."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.origin = f"https://{parts.netloc}"
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []
        self.last_url = f"{self.origin}/"

    def request(self, method: str, path: str, data=None, headers=None):
        body = urlencode(data, doseq=True).encode() if data is not None else None
        sent = {
            "Host": f"{self.host}:{self.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "192.0.2.10",
            "Referer": self.last_url,
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent.update(
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
            )
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.msg.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if method == "GET" and response.status == 200:
            self.last_url = self.origin + path
        return response.status, dict(response.getheaders()), content.decode(errors="replace")

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data, **kwargs):
        return self.request("POST", path, data=data, **kwargs)

    def form_token(self, path: str) -> str:
        status, _, page = self.get(path)
        assert status == 200, (path, status, page[:500])
        return CSRF.search(page).group(1)


@pytest.fixture
def topology_database():
    """A fresh PostgreSQL database on the suite's server, dropped afterwards."""
    database = settings.DATABASES["default"]
    auth = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    url = (
        f"postgres://{auth}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/turnout_topology_{uuid.uuid4().hex[:10]}"
    )
    ensure_database(url, fresh=True)
    yield url
    drop_database(url)


@pytest.fixture
def topology(tmp_path, topology_database):
    huey_name = f"topology{uuid.uuid4().hex[:10]}"  # Huey drops punctuation from key names
    topology = Topology(
        database_url=topology_database,
        redis_url=settings.REDIS_URL,
        secret_key=secrets.token_urlsafe(50),
        run_dir=tmp_path,
        web_workers=4,
        consumers=2,
        consumer_threads=4,
        settings={
            "HUEY_NAME": huey_name,
            "MAILING_BATCH_SIZE": str(BATCH_SIZE),
            # The provider's agreed rate is not what this test is about.
            "EMAIL_SEND_RATE": "100000",
        },
    )
    try:
        yield topology
    finally:
        topology.stop()
        queue = redis.Redis.from_url(settings.REDIS_URL)
        stale = [*queue.scan_iter(f"*{huey_name}*")]
        if stale:
            queue.delete(*stale)


def sign_in(browser: Browser, *, username: str, totp_key: str) -> None:
    """The sign-in form, then the authenticator app's code (organisers need both)."""
    token = browser.form_token("/accounts/login/")
    status, headers, page = browser.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD, "next": "/"},
    )
    assert status == 302, page[:2000]
    status, headers, _ = browser.get(headers["Location"])
    assert status == 302 and "/accounts/2fa/verify/" in headers["Location"], headers
    verify = headers["Location"]
    token = browser.form_token(verify)
    code = f"{totp(bytes.fromhex(totp_key)):06d}"
    status, headers, page = browser.post(
        verify, {"csrfmiddlewaretoken": token, "token": code, "next": "/"}
    )
    assert status == 302, page[:2000]


def start_drive(browser: Browser, *, district_id: int) -> int:
    """Create the drive in the admin, then its "Start" action; returns the drive's id."""
    add = "/admin/mailings/mailing/add/"
    fields = {
        "csrfmiddlewaretoken": browser.form_token(add),
        "name": "Ballot closes in a week: St Mary's schools",
        "subject": "{{ first_name }}, the ballot closes soon",
        "body": BODY,
        "scheduled_for_0": "",
        "scheduled_for_1": "",
        "districts": [str(district_id)],
        "_continue": "Save and continue editing",
    }
    status, headers, page = browser.post(add, fields)
    assert status == 302, page[:3000]
    mailing_id = int(re.search(r"/admin/mailings/mailing/(\d+)/change/", headers["Location"])[1])
    changelist = "/admin/mailings/mailing/"
    status, headers, page = browser.post(
        changelist,
        {
            "csrfmiddlewaretoken": browser.form_token(changelist),
            "action": "start",
            "_selected_action": [str(mailing_id)],
            "index": "0",
            "select_across": "0",
        },
    )
    assert status == 302, page[:3000]
    status, _, page = browser.get(changelist)
    assert "started (sending)" in page, page[:3000]
    return mailing_id


def wait_until_done(topology: Topology, db, mailing_id: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topology.check()
        (status,) = db.execute(
            "SELECT status FROM mailings_mailing WHERE id = %s", [mailing_id]
        ).fetchone()
        if status == "done":
            return
        time.sleep(0.25)
    raise AssertionError(f"the drive did not finish in {timeout:.0f} s")


def batches_by_consumer(topology: Topology, mailing_id: int) -> dict[str, Counter]:
    """{consumer: {batch: rows it sent}}, from each consumer's own log."""
    sent: dict[str, Counter] = {}
    for name in topology.consumer_names():
        counts = sent.setdefault(name, Counter())
        for drive, batch, rows, _failed in BATCH_LINE.findall(
            topology.log_path(name).read_text(errors="replace")
        ):
            if int(drive) == mailing_id:
                counts[int(batch)] += int(rows)
    return sent


def logged_batches(topology: Topology, mailing_id: int, *, rows: int) -> dict[str, Counter]:
    """The consumers' batch lines once they account for ``rows``: a batch task writes
    its line just after its last rows are settled, so another task may mark the drive
    done a moment before it."""
    deadline = time.monotonic() + 15
    while True:
        found = batches_by_consumer(topology, mailing_id)
        if sum(sum(c.values()) for c in found.values()) >= rows or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def signed_event(topology: Topology, record: dict, n: int) -> bytes:
    """A Mailgun "delivered" webhook for one logged message, signed as Mailgun signs."""
    stamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(
        topology.signing_key.encode(), f"{stamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    event = {
        "id": f"topology-delivered-{n}",
        "timestamp": time.time(),
        "event": "delivered",
        "recipient": record["to"],
        "user-variables": record["variables"],
        "message": {"headers": {"message-id": record["message_id"].strip("<>")}},
        "delivery-status": {"code": 250, "message": "OK", "description": ""},
    }
    body = {"signature": {"timestamp": stamp, "token": token, "signature": signature}}
    return json.dumps({**body, "event-data": event}).encode()


def post_webhook(topology: Topology, body: bytes) -> int:
    connection = http.client.HTTPConnection(topology.host, topology.port, timeout=60)
    try:
        connection.request(
            "POST",
            "/anymail/mailgun/tracking/",
            body=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": topology.webhook_authorization,
                "X-Forwarded-Proto": "https",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_an_organiser_sends_a_5000_recipient_drive_through_two_consumers_exactly_once(
    topology, topology_database
):
    started = time.monotonic()
    totp_key = secrets.token_hex(20)
    try:
        topology.prepare()
        seeded = json.loads(
            topology.run(
                "seed",
                "-m",
                "tests.campaign.topology_seed",
                json.dumps(
                    {
                        "username": "organiser",
                        "password": PASSWORD,
                        "totp_key": totp_key,
                        "district": "Bristol and South Gloucestershire",
                        "supporters": SUPPORTERS,
                    }
                ),
            )
            .strip()
            .splitlines()[-1]
        )
        seeded_at = time.monotonic()
        topology.start()
        prepared = time.monotonic()

        browser = Browser(topology.url)
        sign_in(browser, username="organiser", totp_key=totp_key)
        # Production settings: Secure, HttpOnly session cookies; unknown hosts refused.
        session = [h for h in browser.set_cookie_headers if h.startswith("sessionid=")]
        assert session and all("Secure" in h and "HttpOnly" in h for h in session), session
        status, _, _ = browser.get("/healthz", headers={"Host": "turnout.attacker.example"})
        assert status == 400
        status, _, health = browser.get("/healthz")
        assert status == 200
        assert json.loads(health) | {"consumer_seen_seconds_ago": None} == {
            "ok": True,
            "database": "postgresql",
            "queue": "PriorityRedisStorage",
            "consumer_seen_seconds_ago": None,
        }
        # Static files were collected and WhiteNoise serves them, compressed and cacheable.
        _, _, home = browser.get("/")
        script = re.search(r'src="(/static/[^"]+\.js)"', home)[1]
        status, headers, _ = browser.get(script, headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip", headers
        assert "max-age=315360000" in headers.get("Cache-Control", ""), headers

        mailing_id = start_drive(browser, district_id=seeded["district_id"])
        with psycopg.connect(topology_database, autocommit=True) as db:
            wait_until_done(topology, db, mailing_id)
            sent_at = time.monotonic()
            rows = db.execute(
                "SELECT id, email, batch, status, esp_message_id FROM mailings_recipient "
                "WHERE mailing_id = %s",
                [mailing_id],
            ).fetchall()
            supporters = {
                email for (email,) in db.execute("SELECT email FROM contacts_contact").fetchall()
            }

            # Everyone exactly once, per the ESP's own log.
            log = read_log(str(topology.esp_log))
            assert len(rows) == SUPPORTERS
            assert Counter(r["to"] for r in log).most_common(1)[0][1] == 1
            assert {r["to"] for r in log} == supporters
            assert len(log) == SUPPORTERS
            by_id = {
                pk: (email, batch, status, message_id)
                for pk, email, batch, status, message_id in rows
            }
            for record in log:
                email, _, status, message_id = by_id[int(record["variables"]["recipient_id"])]
                assert (email, status, message_id) == (record["to"], "sent", record["message_id"])
                # The big mailbox providers' one-click unsubscribe, a link for each person.
                assert record["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                assert record["headers"]["List-Unsubscribe"].startswith(f"<{topology.url}/u/")
            assert len({r["headers"]["List-Unsubscribe"] for r in log}) == SUPPORTERS

            # Both consumers sent, and their logs account for every message the ESP took.
            consumers = logged_batches(topology, mailing_id, rows=len(log))
            esp_batches = Counter(by_id[int(r["variables"]["recipient_id"])][1] for r in log)
            assert sum(consumers.values(), Counter()) == esp_batches
            for name, batches in consumers.items():
                assert sum(batches.values()) > 0, f"{name} sent nothing: {dict(consumers)}"

            # Delivery webhooks through gunicorn for a tenth of the messages (both
            # consumers' batches), each posted twice, as Mailgun retries a delivery it
            # got no answer for: the same body, the same signature.
            hooked = log[::WEBHOOK_EVERY]
            bodies = [signed_event(topology, record, n) for n, record in enumerate(hooked)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = Counter(pool.map(lambda b: post_webhook(topology, b), bodies))
                answers += Counter(pool.map(lambda b: post_webhook(topology, b), bodies))
            assert answers == {200: 2 * len(hooked)}
            events = db.execute(
                "SELECT recipient_id, count(*) FROM mailings_deliveryevent "
                "WHERE mailing_id = %s AND event_type = 'delivered' GROUP BY recipient_id",
                [mailing_id],
            ).fetchall()
            assert dict(events) == {int(r["variables"]["recipient_id"]): 1 for r in hooked}
            assert {by_id[pk][1] for pk, _ in events} == set(esp_batches)
            hooks_done = time.monotonic()

        # The organiser's delivery report, served by the web workers, counts them once.
        status, _, report = browser.get(f"/admin/mailings/mailing/{mailing_id}/report/")
        assert status == 200
        assert f"<td>Sent</td><td>{SUPPORTERS}</td>" in report
        assert f"<td>Delivered</td><td>{len(hooked)}</td>" in report
        print(
            f"topology: migrated and seeded in {seeded_at - started:.1f} s, started in "
            f"{prepared - seeded_at:.1f} s, drive sent in "
            f"{sent_at - prepared:.1f} s, {2 * len(hooked):,} webhooks in "
            f"{hooks_done - sent_at:.1f} s; {time.monotonic() - started:.1f} s in all; "
            "consumers: " + ", ".join(f"{n} {sum(b.values())} rows" for n, b in consumers.items())
        )
    except BaseException:
        print(topology.tail(lines=60))
        raise
