"""The CLI and admin surfaces of drives, and the staff preview: thin, scoped, audited."""

import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from mailings.models import Mailing, Recipient
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, sent_to

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def body_file(tmp_path):
    path = tmp_path / "body.md"
    path.write_text("Hello {{ first_name }}, please vote for {{ candidate }}.", encoding="utf-8")
    return path


def create(capsys, *args):
    call_command("mailing_create", *map(str, args))
    return int(capsys.readouterr().out.strip())


def test_mailing_create_send_and_status_from_the_command_line(
    capsys, body_file, volunteer, campaign, contact_a, school_a, district_a
):
    ConsentedContactFactory.create_batch(2, school=school_a)
    mailing_id = create(
        capsys, "--name", "CLI drive", "--subject", "Vote!", "--body-file", body_file,
        "--district", "District A", "--school", "100001", "--gotv", "unknown", "--as", "volunteer",
    )  # fmt: skip
    mailing = Mailing.objects.get(pk=mailing_id)
    assert mailing.created_by == volunteer and mailing.gotv_statuses == ["unknown"]

    call_command("mailing_send", str(mailing_id))
    assert "sending, 3 recipients" in capsys.readouterr().out
    drain(mailing)
    call_command("mailing_status", str(mailing_id), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "done"
    assert report["counts"]["sent"] == 3 and report["counts"]["queued"] == 0
    assert len(sent_to()) == 3


def test_mailing_create_names_unknown_fields_and_places(capsys, tmp_path, volunteer, campaign):
    bad = tmp_path / "bad.md"
    bad.write_text("Hi {{ nickname }}")
    with pytest.raises(CommandError, match="nickname"):
        create(capsys, "--name", "x", "--subject", "s", "--body-file", bad, "--as", "volunteer")
    with pytest.raises(CommandError, match="No district named 'Atlantis'"):
        create(capsys, "--name", "x", "--subject", "s", "--body-file", bad, "--district", "Atlantis", "--as", "volunteer")  # fmt: skip


def test_mailing_status_as_someone_else_does_not_reveal_the_drive(
    capsys, body_file, volunteer, lead_a, campaign
):
    mailing_id = create(capsys, "--name", "x", "--subject", "s", "--body-file", body_file, "--as", "volunteer")  # fmt: skip
    with pytest.raises(CommandError, match=f"No drive {mailing_id} that lead_a may see"):
        call_command("mailing_status", str(mailing_id), "--as", "lead_a")


def test_admin_actions_start_pause_resume_and_cancel(
    client_for, volunteer, campaign, contact_a, make_drive
):
    drive = make_drive()
    client = client_for(volunteer)
    url = "/admin/mailings/mailing/"

    def act(action):
        return client.post(url, {"action": action, "_selected_action": [drive.pk]}, follow=True)

    assert "started (sending)" in act("start").content.decode()
    assert Recipient.objects.filter(mailing=drive).count() == 1
    assert "paused" in act("pause").content.decode()
    drive.refresh_from_db()
    assert drive.status == "paused"
    act("resume")
    drive.refresh_from_db()
    assert drive.status == "sending"
    response = act("approve")
    assert "Only organisers can approve drives" in response.content.decode()
    act("cancel")
    drive.refresh_from_db()
    assert drive.status == "cancelled"


def test_admin_refuses_a_body_with_unknown_fields(client_for, volunteer, campaign):
    response = client_for(volunteer).post(
        "/admin/mailings/mailing/add/",
        {"name": "x", "subject": "Hi", "body": "Hi {{ nick }}"},
    )
    assert response.status_code == 200
    assert "unknown merge field nick" in response.content.decode()
    assert not Mailing.objects.exists()


def test_admin_creates_a_drive_through_the_service_with_its_audience(
    client_for, volunteer, campaign, district_a
):
    response = client_for(volunteer).post(
        "/admin/mailings/mailing/add/",
        {
            "name": "Admin drive",
            "subject": "Hi {{ first_name }}",
            "body": "Vote!",
            "districts": [district_a.pk],
            "roles": ["rep"],
        },
    )
    assert response.status_code == 302
    drive = Mailing.objects.get()
    assert drive.created_by == volunteer and list(drive.districts.all()) == [district_a]
    assert drive.roles == ["rep"]


def test_test_send_goes_to_the_senders_own_address(
    client_for, volunteer, campaign, contact_a, make_drive
):
    drive = make_drive()
    client_for(volunteer).post(
        "/admin/mailings/mailing/", {"action": "test_send", "_selected_action": [drive.pk]}
    )
    (message,) = mail.outbox
    assert message.to == ["volunteer@example.org"]
    assert message.subject == "[TEST] Siân, your ballot"


def test_preview_shows_the_mail_as_a_contact_in_the_audience_gets_it(
    client_for, volunteer, lead_a, campaign, contact_a, contact_b, make_drive
):
    drive = make_drive(body="Dear {{ first_name }} of {{ school }}")
    client = client_for(volunteer)
    page = client.get(f"/mailings/{drive.pk}/preview/?contact={contact_a.pk}")
    assert page.status_code == 200
    assert "Dear Siân of Alder Primary School" in page.content.decode()
    html = client.get(f"/mailings/{drive.pk}/preview/html/?contact={contact_a.pk}")
    assert "sandbox" in html["Content-Security-Policy"]
    assert "Dear Siân of Alder Primary School" in html.content.decode()
    # Not in the sender's audience, or not the viewer's drive: as if it did not exist.
    assert client.get(f"/mailings/{drive.pk}/preview/?contact={contact_b.pk}").status_code == 404
    assert client_for(lead_a).get(f"/mailings/{drive.pk}/preview/").status_code == 404


@pytest.mark.parametrize(("heartbeat", "warned"), [(None, True), (600, True), (5, False)])
def test_mailing_send_wait_warns_at_once_when_no_consumer_was_seen_recently(
    capsys, volunteer, campaign, contact_a, heartbeat, warned
):
    import time

    from huey.contrib.djhuey import HUEY

    from campaign.tasks import HEARTBEAT_KEY
    from mailings.services import mailing_create

    HUEY.get(HEARTBEAT_KEY)  # forget a heartbeat another test left
    if heartbeat is not None:
        HUEY.put(HEARTBEAT_KEY, time.time() - heartbeat)
    drive = mailing_create(actor=volunteer, name="Wait", subject="Hi", body="Vote")
    started = time.monotonic()
    with pytest.raises(CommandError, match="Timed out waiting"):
        call_command("mailing_send", str(drive.pk), "--wait", "--timeout", "0.3")
    err = capsys.readouterr().err
    assert ("no queue consumer has been seen recently" in err) is warned
    if warned:
        assert "run_huey" in err
    assert time.monotonic() - started < 5
    HUEY.get(HEARTBEAT_KEY)
