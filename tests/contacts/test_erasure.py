# ruff: noqa: F811 - fixtures imported from the drive tests are used by name
"""Erasure: a supporter's personal data goes from the contact, drive rows and delivery
events; drive statistics stay as anonymous counts; a keyed-hash suppression stops a
later import re-adding them; the audit trail names them only by id."""

import json

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from campaign.models import AuditEvent
from contacts.importing import ImportOptions, supporters_import
from contacts.models import ConsentRecord, Contact, GotvEvent, ImportBatch, Suppression
from contacts.services.erasure import contact_erase
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Recipient
from mailings.services import mailing_start
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, fast_sending, make_drive  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_sending")

EMAIL = "sian.oneill@example.org"


@pytest.fixture
def history(make_drive, volunteer, organiser, school_a, contact_a):
    """contact_a got a drive, bounced softly once, and was marked pledged."""
    ConsentedContactFactory.create_batch(3, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    row = Recipient.objects.get(mailing=drive, contact=contact_a)
    DeliveryEvent.objects.create(
        esp="mailgun",
        event_key="ev-1",
        event_type=DeliveryEvent.Type.DEFERRED,
        bounce=DeliveryEvent.Bounce.SOFT,
        occurred_at=row.sent_at,
        mailing=drive,
        recipient=row,
        address_hash=address_hash(EMAIL),
        message_id="<1@mg>",
        description=f"452 mailbox of {EMAIL} full",
    )
    GotvEvent.objects.create(
        contact=contact_a, status="pledged", previous_status="unknown", method="web"
    )
    return drive


def drive_counts(drive) -> tuple:
    rows = sorted(Recipient.objects.filter(mailing=drive).values_list("status", flat=True))
    events = sorted(
        DeliveryEvent.objects.filter(mailing=drive).values_list("event_type", flat=True)
    )
    return len(rows), rows, events


def everything_stored() -> str:
    """Every row that could hold the address or name, as one searchable text."""
    models = (Contact, Recipient, DeliveryEvent, AuditEvent, ImportBatch, ConsentRecord)
    return "\n".join(
        json.dumps(list(model.objects.values()), default=str, ensure_ascii=False)
        for model in models
    ).lower()


def test_erasure_removes_the_personal_data_and_keeps_the_drive_counts(
    history, organiser, contact_a
):
    before = drive_counts(history)

    erased = contact_erase(contact=contact_a, actor=organiser)

    assert not Contact.objects.filter(pk=contact_a.pk).exists()
    assert not GotvEvent.objects.filter(contact_id=contact_a.pk).exists()
    assert not ConsentRecord.objects.filter(contact_id=contact_a.pk).exists()
    stored = everything_stored()
    for personal in (EMAIL, "siân", "o'neill", address_hash(EMAIL)):
        assert personal.lower() not in stored
    assert drive_counts(history) == before
    assert (erased.recipients, erased.events) == (1, 1)
    assert Suppression.objects.get(address_hash=address_hash(EMAIL)).reason == "erased"


def test_erasure_is_audited_by_id_without_the_erased_data(history, organiser, contact_a):
    contact_erase(contact=contact_a, actor=organiser)

    entry = AuditEvent.objects.get(action=AuditEvent.Action.ERASURE)
    assert (entry.actor, entry.target_type, entry.target_id) == (
        organiser,
        "contacts.contact",
        str(contact_a.pk),
    )
    assert entry.counts["recipients"] == 1
    text = json.dumps(
        list(AuditEvent.objects.values("target_label", "detail", "counts")), ensure_ascii=False
    ).lower()
    assert EMAIL not in text and "siân" not in text and "neill" not in text


def test_a_later_import_reports_the_erased_address_as_suppressed_and_never_re_adds_it(
    history, organiser, contact_a, tmp_path
):
    contact_erase(contact=contact_a, actor=organiser)
    sheet = tmp_path / "again.csv"
    sheet.write_text(
        "E-mail,First name,Surname,School URN,Consent to email,Consent date\n"
        f"  {EMAIL.upper()} ,Siân,O'Neill,100001,yes,2026-01-10\n",
        encoding="utf-8",
    )

    report = supporters_import(
        path=sheet, file_name="again.csv", actor=organiser, options=ImportOptions()
    )

    assert report.rejected["suppressed"] == 1 and report.created == 0
    assert not Contact.objects.filter(email=EMAIL).exists()


def test_an_erased_supporter_is_never_mailed_by_a_later_drive(
    history, make_drive, volunteer, organiser, contact_a
):
    contact_erase(contact=contact_a, actor=organiser)
    mail.outbox = []

    drain(mailing_start(actor=volunteer, mailing=make_drive(name="after")))

    assert all(EMAIL not in message.to for message in mail.outbox)
    assert mail.outbox


def test_erasure_scrubs_the_address_from_stored_import_reports(organiser, contact_a):
    batch = ImportBatch.objects.create(
        created_by=organiser,
        file_name="week1.csv",
        sha256="0" * 64,
        report={
            "headers": ["E-mail", "First name"],
            "rejected_rows": [[3, [EMAIL, "Siân"], "no consent"], [4, ["x@example.org", "X"], "y"]],
            "problems": [{"row": 3, "column": "E-mail", "code": "c", "message": f"{EMAIL} bad"}],
        },
    )

    contact_erase(contact=contact_a, actor=organiser)

    batch.refresh_from_db()
    assert EMAIL not in json.dumps(batch.report) and "Siân" not in json.dumps(batch.report)
    assert batch.report["rejected_rows"][1] == [4, ["x@example.org", "X"], "y"]


def test_only_organisers_may_erase(lead_a, volunteer, contact_a):
    for user in (lead_a, volunteer):
        with pytest.raises(PermissionDenied):
            contact_erase(contact=contact_a, actor=user)
    assert Contact.objects.filter(pk=contact_a.pk).exists()


def test_the_admin_delete_of_a_supporter_is_erasure_for_organisers(
    client_for, organiser, history, contact_a
):
    client = client_for(organiser)
    url = reverse("admin:contacts_contact_delete", args=[contact_a.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200 and "erased" in confirm.content.decode()
    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact_a.pk).exists()
    assert not Recipient.objects.filter(email=EMAIL).exists()
    assert Suppression.objects.filter(address_hash=address_hash(EMAIL)).exists()
    assert AuditEvent.objects.filter(action="erasure", actor=organiser).count() == 1


def test_the_admin_bulk_delete_erases_each_selected_supporter(
    client_for, organiser, contact_a, school_a
):
    other = ConsentedContactFactory(school=school_a)
    client_for(organiser).post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "delete_selected", "_selected_action": [contact_a.pk, other.pk], "post": "yes"},
    )

    assert not Contact.objects.filter(pk__in=[contact_a.pk, other.pk]).exists()
    assert Suppression.objects.filter(reason="erased").count() == 2
    assert AuditEvent.objects.filter(action="erasure").count() == 2


def test_leads_cannot_delete_supporters_in_the_admin(client_for, lead_a, contact_a):
    response = client_for(lead_a).post(
        reverse("admin:contacts_contact_delete", args=[contact_a.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact_a.pk).exists()


def test_the_unsubscribe_link_of_an_erased_supporter_still_answers_and_adds_nothing(
    history, organiser, contact_a
):
    from django.test import Client

    from mailings.services import unsubscribe_url

    row = Recipient.objects.get(mailing=history, contact=contact_a)
    link = "/" + unsubscribe_url(recipient_id=row.pk).split("/", 3)[3]
    contact_erase(contact=contact_a, actor=organiser)

    assert Client().post(link).status_code == 200
    assert Suppression.objects.count() == 1  # the erasure's own, by the real address
