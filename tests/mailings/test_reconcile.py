"""Reconciliation: the ESP's own log settles unknown rows; "send again" then reaches
exactly the people the ESP never accepted, once."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from campaign.models import AuditEvent
from mailings.fake_esp import FakeESPServer, read_log
from mailings.models import Mailing, Recipient
from mailings.selectors import mailing_unknown_figures
from mailings.services import mailing_send_again, mailing_start
from mailings.services.reconcile import PostmarkLog, mailing_reconcile
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain

pytestmark = pytest.mark.usefixtures("fast_sending")

DOMAIN = "mg.campaign.example.org"


@pytest.fixture
def fake_esp(tmp_path, settings):
    servers = []

    def start(**options):
        server = FakeESPServer(log_path=str(tmp_path / "esp.jsonl"), **options).start()
        servers.append(server)
        settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
        settings.ESP_TIMEOUT_SECONDS = 0.3
        settings.ANYMAIL = {
            "MAILGUN_API_KEY": "fake-key",
            "MAILGUN_API_URL": server.api_url,
            "MAILGUN_SENDER_DOMAIN": DOMAIN,
            "REQUESTS_TIMEOUT": 0.3,
        }
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def supporters(school_a):
    return ConsentedContactFactory.create_batch(9, school=school_a)


@pytest.fixture
def settled_log(settings):
    """The ESP's log is complete at once (the fake has no indexing lag)."""
    settings.MAILING_RECONCILE_LAG_SECONDS = 0
    return settings


def unknown_drive(fake_esp, make_drive, volunteer, script):
    """Three calls of three: as scripted ("late": accepted, answered too late)."""
    server = fake_esp(script=script, timeout_seconds=1)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    return server, drive


def test_the_fake_esp_lists_accepted_recipients_through_mailguns_events_api(
    fake_esp, make_drive, volunteer, supporters
):
    server = fake_esp()
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    url = f"{server.api_url}/{DOMAIN}/events"
    assert requests.get(url, timeout=5).status_code == 401
    seen, params = [], {"event": "accepted", "tags": f"drive-{drive.pk}", "limit": "4"}
    while True:
        page = requests.get(url, params=params, auth=("api", "fake-key"), timeout=5).json()
        if not page["items"]:
            break
        seen += page["items"]
        url, params = page["paging"]["next"], None
    assert len(seen) == 9
    for event in seen:
        row = Recipient.objects.get(mailing=drive, email=event["recipient"])
        assert event["user-variables"]["recipient_id"] == str(row.pk)
        assert f"<{event['message']['headers']['message-id']}>" == row.esp_message_id
    one = requests.get(
        f"{server.api_url}/{DOMAIN}/events",
        params={"recipient": seen[0]["recipient"], "end": str(seen[0]["timestamp"] - 1)},
        auth=("api", "fake-key"),
        timeout=5,
    ).json()
    assert one["items"] == []  # outside the time window


def test_reconciling_proves_which_unknown_rows_were_sent_and_which_never_were(
    fake_esp, make_drive, volunteer, organiser, supporters, settled_log
):
    server, drive = unknown_drive(fake_esp, make_drive, volunteer, ["late", "timeout", "ok"])
    assert Recipient.objects.filter(mailing=drive, status="unknown").count() == 6
    assert drive.status == Mailing.Status.DONE

    result = mailing_reconcile(actor=organiser, mailing=drive)
    assert (result.checked, result.proven_sent, result.proven_not_sent) == (6, 3, 3)
    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.DRIVE_RECONCILE)
    assert (event.actor, event.target_id) == (organiser, str(drive.pk))
    assert event.counts == {
        "checked": 6,
        "proven_sent": 3,
        "proven_not_sent": 3,
        "still_unknown": 0,
    }
    assert mailing_unknown_figures(mailing=drive) == {
        "proven_sent": 3,
        "proven_not_sent": 3,
        "still_unknown": 0,
    }
    accepted = {record["to"]: record["message_id"] for record in read_log(server.log_path)}
    for row in Recipient.objects.filter(mailing=drive, batch=0):
        assert row.status == "sent" and row.esp_check == "sent"
        assert row.esp_message_id == accepted[row.email]
    for row in Recipient.objects.filter(mailing=drive, batch=1):
        assert row.status == "unknown" and row.esp_check == "not_sent"
        assert row.email not in accepted

    assert mailing_send_again(actor=organiser, mailing=drive) == 3
    drain(drive)
    sent = Counter(record["to"] for record in read_log(server.log_path))
    assert sent == Counter(c.email for c in supporters)  # everyone exactly once
    assert set(Recipient.objects.filter(mailing=drive).values_list("status", flat=True)) == {"sent"}
    assert mailing_unknown_figures(mailing=drive)["still_unknown"] == 0


def test_rows_too_recent_for_the_esp_log_stay_unknown_until_asked_again(
    fake_esp, make_drive, volunteer, organiser, supporters, settings
):
    settings.MAILING_RECONCILE_LAG_SECONDS = 3600
    _, drive = unknown_drive(fake_esp, make_drive, volunteer, ["late", "timeout", "ok"])
    result = mailing_reconcile(actor=organiser, mailing=drive)
    assert (result.proven_sent, result.proven_not_sent, result.too_recent) == (3, 0, 3)
    assert "Ask again later" in result.note
    assert mailing_send_again(actor=organiser, mailing=drive) == 0  # nothing proven yet
    assert mailing_unknown_figures(mailing=drive)["still_unknown"] == 3


def test_an_unreachable_esp_log_changes_nothing(
    fake_esp, make_drive, volunteer, organiser, supporters, settled_log
):
    server, drive = unknown_drive(fake_esp, make_drive, volunteer, ["late", "timeout", "ok"])
    server.api_key = "rotated"  # our key no longer opens its log
    result = mailing_reconcile(actor=organiser, mailing=drive)
    assert result.errors and "HTTP 401" in result.errors[0]
    assert (result.proven_sent, result.proven_not_sent, result.still_unknown) == (0, 0, 6)
    assert set(
        Recipient.objects.filter(mailing=drive, batch__lt=2).values_list("status", "esp_check")
    ) == {("unknown", "")}


def test_only_organisers_reconcile_and_an_esp_without_a_log_is_said_plainly(
    make_drive, volunteer, organiser, supporters
):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    with pytest.raises(PermissionDenied):
        mailing_reconcile(actor=volunteer, mailing=drive)
    result = mailing_reconcile(actor=organiser, mailing=drive)  # Anymail's test backend
    assert result.supported is False and "no API" in result.note


def test_mailing_reconcile_command_settles_and_sends_again(
    capsys, fake_esp, make_drive, volunteer, organiser, supporters, settled_log
):
    server, drive = unknown_drive(fake_esp, make_drive, volunteer, ["late", "timeout", "ok"])
    call_command(
        "mailing_reconcile", str(drive.pk), "--json", "--send-again", "--as", organiser.username
    )
    report = json.loads(capsys.readouterr().out)
    assert (report["proven_sent"], report["proven_not_sent"], report["sent_again"]) == (3, 3, 3)
    assert report["drive"] == {"proven_sent": 3, "proven_not_sent": 0, "still_unknown": 0}
    drain(drive)
    assert len(read_log(server.log_path)) == 9 == len({r["to"] for r in read_log(server.log_path)})


def test_the_admin_reconciles_a_drive_and_shows_the_three_figures(
    client_for, fake_esp, make_drive, volunteer, organiser, supporters, settled_log
):
    _, drive = unknown_drive(fake_esp, make_drive, volunteer, ["late", "timeout", "ok"])
    client = client_for(organiser)
    response = client.post(
        "/admin/mailings/mailing/",
        {"action": "reconcile", "_selected_action": [drive.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Proven sent 3, proven not sent 3 (safe to send again), still unknown 0" in text
    page = client.get(f"/admin/mailings/mailing/{drive.pk}/change/").content.decode()
    assert "<strong>3</strong> proven sent, <strong>3</strong> proven not sent" in page
    response = client.post(
        "/admin/mailings/mailing/",
        {"action": "send_again", "_selected_action": [drive.pk]},
        follow=True,
    )
    assert "3 rows queued to send again" in response.content.decode()


class _PostmarkStub(BaseHTTPRequestHandler):
    messages: list = []
    queries: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        _PostmarkStub.queries.append(query)
        if self.headers.get("X-Postmark-Server-Token") != "pm-token":
            self.send_response(401)
            self.end_headers()
            return
        found = [m for m in self.messages if query.get("recipient") in m["Recipients"]]
        body = json.dumps({"TotalCount": len(found), "Messages": found}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_postmark_reconciliation_reads_its_outbound_message_search(
    make_drive, volunteer, organiser, school_a, settled_log
):
    drive = make_drive()
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.DONE)
    claimed = timezone.now() - timezone.timedelta(hours=1)
    rows = Recipient.objects.bulk_create(
        Recipient(
            mailing=drive,
            email=f"pm{i}@example.org",
            email_hash=f"pm{i}",
            status=Recipient.Status.UNKNOWN,
            claim=f"call-{i}",
            claimed_at=claimed,
        )
        for i in range(2)
    )
    _PostmarkStub.queries = []
    _PostmarkStub.messages = [
        {
            "MessageID": "pm-message-0",
            "Recipients": [rows[0].email],
            "Metadata": {"recipient_id": str(rows[0].pk), "mailing_id": str(drive.pk)},
            "Tag": f"drive-{drive.pk}",
        }
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PostmarkStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = SimpleNamespace(
            api_url=f"http://127.0.0.1:{server.server_address[1]}/", server_token="pm-token"
        )
        result = mailing_reconcile(actor=organiser, mailing=drive, log=PostmarkLog(backend))
    finally:
        server.shutdown()
        server.server_close()
    assert (result.proven_sent, result.proven_not_sent) == (1, 1)
    first, second = (Recipient.objects.get(pk=row.pk) for row in rows)
    assert first.status == "sent" and first.esp_message_id == "pm-message-0"
    assert second.status == "unknown" and second.esp_check == "not_sent"
    assert {q["tag"] for q in _PostmarkStub.queries} == {f"drive-{drive.pk}"}
    assert all("fromdate" in q and "todate" in q for q in _PostmarkStub.queries)
