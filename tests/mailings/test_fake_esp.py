"""Drives through Anymail's real Mailgun backend to the local fake ESP, and the outbox."""

from email import policy
from email.parser import BytesParser

import pytest
from django.core.mail import get_connection

from mailings.fake_esp import FakeESPServer, read_log
from mailings.models import Mailing, Recipient
from mailings.services import mailing_batch_send, mailing_start
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def fake_esp(tmp_path, settings):
    servers = []

    def start(**options):
        server = FakeESPServer(log_path=str(tmp_path / "esp.jsonl"), **options).start()
        servers.append(server)
        settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
        settings.ANYMAIL = {
            "MAILGUN_API_KEY": "fake-key",
            "MAILGUN_API_URL": server.api_url,
            "MAILGUN_SENDER_DOMAIN": "mg.campaign.example.org",
            "REQUESTS_TIMEOUT": 2,
        }
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def supporters(school_a, contact_a):
    return [contact_a, *ConsentedContactFactory.create_batch(6, school=school_a)]


def test_a_drive_reaches_the_fake_mailgun_once_per_recipient_personalised(
    fake_esp, make_drive, volunteer, supporters
):
    server = fake_esp(store_bodies=True)
    drive = mailing_start(
        actor=volunteer, mailing=make_drive(body="Dear {{ first_name }} of {{ school }}")
    )
    drain(drive)
    assert drive.status == Mailing.Status.DONE
    log = read_log(server.log_path)
    assert sorted(r["to"] for r in log) == sorted(c.email for c in supporters)
    assert server.stats["accepted_calls"] == 3  # one API call per batch of 3
    for record in log:
        row = Recipient.objects.select_related("contact").get(mailing=drive, email=record["to"])
        assert record["variables"] == {"mailing_id": str(drive.pk), "recipient_id": str(row.pk)}
        assert row.esp_message_id == record["message_id"] and row.esp_status == "queued"
        assert record["subject"] == f"{row.contact.first_name}, your ballot"
        assert f"Dear {row.contact.first_name} of Alder Primary School" in record["text"]
        unsubscribe = record["headers"]["List-Unsubscribe"]
        assert unsubscribe.startswith("<http") and unsubscribe[1:-1] in record["html"]
        assert record["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_html_in_a_name_arrives_escaped_at_the_esp(fake_esp, make_drive, volunteer, school_a):
    server = fake_esp(store_bodies=True)
    ConsentedContactFactory(school=school_a, first_name="<script>x</script>")
    drain(mailing_start(actor=volunteer, mailing=make_drive(body="Hi {{ first_name }}")))
    (record,) = read_log(server.log_path)
    assert "<script>" not in record["html"] and "&lt;script&gt;x&lt;/script&gt;" in record["html"]
    assert "Hi <script>x</script>" in record["text"]


def test_injected_transient_failures_are_retried_until_everyone_has_one_message(
    fake_esp, make_drive, volunteer, supporters
):
    server = fake_esp(fail_rate=0.5, seed=7)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    for _ in range(40):
        drain(drive)
        if drive.status == Mailing.Status.DONE:
            break
    assert drive.status == Mailing.Status.DONE
    assert server.stats["failed_calls"] > 0
    log = read_log(server.log_path)
    assert sorted(r["to"] for r in log) == sorted(c.email for c in supporters)
    assert set(Recipient.objects.values_list("status", flat=True)) == {"sent"}


def test_an_address_mailgun_refuses_fails_alone_with_the_reason(
    fake_esp, make_drive, volunteer, supporters
):
    bad = supporters[2].email
    server = fake_esp(reject_pattern="^" + bad.replace(".", r"\.") + "$")
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    row = Recipient.objects.get(mailing=drive, email=bad)
    assert row.status == "failed" and "not a valid address" in row.error
    assert sorted(r["to"] for r in read_log(server.log_path)) == sorted(
        c.email for c in supporters if c.email != bad
    )


def test_wrong_api_key_is_a_permanent_failure(fake_esp, make_drive, volunteer, contact_a, settings):
    fake_esp(api_key="the-real-key")
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    assert Recipient.objects.get(mailing=drive).status == "failed"


def test_a_hung_call_leaves_its_rows_unknown_not_resent(
    fake_esp, make_drive, volunteer, supporters, settings
):
    server = fake_esp(timeout_rate=1.0, timeout_seconds=3)
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.3}
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    mailing_batch_send(mailing_id=drive.pk, batch=0)
    rows = Recipient.objects.filter(mailing=drive, batch=0)
    assert set(rows.values_list("status", flat=True)) == {"unknown"}
    assert read_log(server.log_path) == []


def test_the_outbox_shows_each_recipient_their_own_mail(
    make_drive, volunteer, supporters, settings, tmp_path
):
    settings.EMAIL_BACKEND = "campaign.email.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    drive = mailing_start(actor=volunteer, mailing=make_drive(body="Dear {{ first_name }}"))
    drain(drive, connection=get_connection())
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 7
    seen = set()
    for path in files:
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        row = Recipient.objects.select_related("contact").get(mailing=drive, email=parsed["To"])
        assert parsed["Subject"] == f"{row.contact.first_name}, your ballot"
        assert f"Dear {row.contact.first_name}" in parsed.get_body(("plain",)).get_content()
        assert "%recipient." not in parsed.get_body(("html",)).get_content()
        unsubscribe = str(parsed["List-Unsubscribe"]).strip()
        assert (
            unsubscribe.startswith("<http")
            and unsubscribe[1:-1] in parsed.get_body(("plain",)).get_content()
        )
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        seen.add(unsubscribe)
    assert len(seen) == 7
