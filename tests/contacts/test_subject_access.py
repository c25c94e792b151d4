# ruff: noqa: F811 - fixtures imported from the drive tests are used by name
"""Subject access: everything held on one supporter as JSON and as a readable PDF, for
organisers only, from the admin, a command and a URL; each copy is audited."""

import io
import json

import pdfplumber
import pytest
from django.core.management import call_command
from django.urls import reverse

from campaign.canvass.services import canvass_sheet_print
from campaign.models import AuditEvent
from contacts.models import Contact, GotvEvent
from contacts.services.email_change import email_change_request
from contacts.services.subject_access import subject_access_export
from mailings.models import DeliveryEvent, Recipient
from mailings.services import mailing_start
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, fast_sending, make_drive  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def held(make_drive, volunteer, organiser, lead_a, school_a, contact_a, contact_b):
    """contact_a: a drive with a delivery event, a GOTV change, a canvass print of
    their school, a pending address change. contact_b: a drive too (must not appear)."""
    contact_a.notes = "Prefers a call after 6pm"
    contact_a.save()
    drive = mailing_start(actor=volunteer, mailing=make_drive(name="Week one push"))
    drain(drive)
    row = Recipient.objects.get(mailing=drive, contact=contact_a)
    DeliveryEvent.objects.create(
        esp="mailgun",
        event_key="ev-a",
        event_type=DeliveryEvent.Type.DELIVERED,
        occurred_at=row.sent_at,
        mailing=drive,
        recipient=row,
    )
    GotvEvent.objects.create(
        contact=contact_a, status="pledged", previous_status="unknown", method="web", actor=lead_a
    )
    canvass_sheet_print(actor=lead_a, school=school_a)
    email_change_request(contact=contact_a, email="sian.new@example.org", actor=lead_a)
    return contact_a


def test_the_json_copy_holds_everything_about_the_supporter_and_nothing_else(
    held, organiser, contact_b
):
    data = json.loads(subject_access_export(actor=organiser, contact=held, fmt="json"))

    assert data["details"]["email"] == "sian.oneill@example.org"
    assert data["details"]["notes"] == "Prefers a call after 6pm"
    assert data["details"]["school"] == "Alder Primary School"
    assert [c["method"] for c in data["consent_history"]] == ["Web sign-up form"]
    assert [(g["to"], g["recorded_by"]) for g in data["gotv_history"]] == [("Pledged", "lead_a")]
    [drive] = data["drives_received"]
    assert (drive["drive"], drive["status"]) == ("Week one push", "Sent")
    assert [e["event"] for e in drive["delivery_events"]] == ["Delivered"]
    assert [p["what"] for p in data["canvass_prints"]] == ["Alder Primary School (100001)"]
    assert [a["new_email"] for a in data["address_changes"]] == ["sian.new@example.org"]
    assert "Supporter address change" in [a["action"] for a in data["audit_entries"]]
    text = json.dumps(data, ensure_ascii=False)
    assert contact_b.email not in text and "Nowak" not in text


def test_the_pdf_copy_is_readable(held, organiser):
    pdf = subject_access_export(actor=organiser, contact=held, fmt="pdf")

    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = "\n".join(page.extract_text() or "" for page in document.pages)
    for expected in (
        "Personal data held by the campaign",
        "sian.oneill@example.org",
        "Siân O'Neill",
        "Week one push",
        "Prefers a call after 6pm",
        "Alder Primary School",
        "sian.new@example.org",
    ):
        assert expected in text


def test_each_copy_is_audited_without_the_data(held, organiser):
    subject_access_export(actor=organiser, contact=held, fmt="json")
    subject_access_export(actor=organiser, contact=held, fmt="pdf")

    entries = AuditEvent.objects.filter(action=AuditEvent.Action.SUBJECT_ACCESS)
    assert sorted(e.detail["format"] for e in entries) == ["json", "pdf"]
    assert {(e.actor, e.target_id, e.target_label) for e in entries} == {
        (organiser, str(held.pk), f"Supporter {held.pk}")
    }


def test_organisers_get_a_copy_from_the_url(client_for, organiser, held):
    client = client_for(organiser)
    as_json = client.get(f"/contacts/{held.pk}/subject-access.json")
    as_pdf = client.get(f"/contacts/{held.pk}/subject-access.pdf")

    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/json"
    assert json.loads(as_json.content)["details"]["id"] == held.pk
    assert as_pdf.status_code == 200 and as_pdf.content.startswith(b"%PDF")
    assert "no-store" in as_json["Cache-Control"] or "no-cache" in as_json["Cache-Control"]
    assert client.get(f"/contacts/{held.pk}/subject-access.xml").status_code == 404


@pytest.mark.parametrize("who", ["lead_a", "volunteer"])
def test_other_roles_are_refused_the_url_and_nothing_is_audited(client_for, request, who, held):
    response = client_for(request.getfixturevalue(who)).get(
        f"/contacts/{held.pk}/subject-access.json"
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SUBJECT_ACCESS).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, held):
    response = client.get(f"/contacts/{held.pk}/subject-access.json")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_organisers_get_a_copy_from_the_admin_action(client_for, organiser, held):
    response = client_for(organiser).post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "subject_access_json", "_selected_action": [held.pk]},
    )
    assert response.status_code == 200
    assert json.loads(response.content)["details"]["id"] == held.pk
    assert 'filename="subject-access-' in response["Content-Disposition"]


def test_the_admin_action_wants_exactly_one_supporter(client_for, organiser, held, school_a):
    other = ConsentedContactFactory(school=school_a)
    response = client_for(organiser).post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "subject_access_pdf", "_selected_action": [held.pk, other.pk]},
        follow=True,
    )
    assert "Choose exactly one supporter" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SUBJECT_ACCESS).exists()


def test_leads_do_not_get_the_admin_action(client_for, lead_a, held):
    page = client_for(lead_a).get(reverse("admin:contacts_contact_changelist"))
    assert "subject_access_json" not in page.content.decode()


def test_the_command_writes_json_and_pdf(held, tmp_path):
    call_command(
        "subject_access",
        str(held.pk),
        "--json",
        str(tmp_path / "copy.json"),
        "--pdf",
        str(tmp_path / "copy.pdf"),
    )

    assert json.loads((tmp_path / "copy.json").read_text())["details"]["id"] == held.pk
    assert (tmp_path / "copy.pdf").read_bytes().startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="subject_access", detail__via="command").count() == 2


def test_the_command_names_a_missing_supporter(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No supporter has id 999999"):
        call_command("subject_access", "999999", "--json", "/dev/null")
    assert not Contact.objects.exists()
