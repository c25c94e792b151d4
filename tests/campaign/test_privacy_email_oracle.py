"""The email-existence oracle: a district lead changing a supporter's address learns
nothing about records outside their districts. The change waits for an organiser, and
the lead sees the same answer whether or not another district holds the address."""

import io
import re

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from campaign.canvass import spreadsheet
from campaign.models import AuditEvent
from contacts.models import Contact, EmailChange
from contacts.services.email_change import (
    PENDING_MESSAGE,
    email_change_apply,
    email_change_reject,
)
from tests.admin_helpers import admin_form_data, contact_change_url
from tests.factories import ConsentedContactFactory

FRESH = "sian.new@example.org"


def lead_changes_email(client, contact, email):
    data = admin_form_data(client.get(contact_change_url(contact)))
    data["email"] = email
    response = client.post(contact_change_url(contact), data)
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def outcome(response, notes, contact):
    """What the lead can observe: status, where they land, what they are told, and
    the address the record then shows them."""
    contact.refresh_from_db()
    return (
        response.status_code,
        response.get("Location"),
        [re.sub(r"“.*?”", "“the contact”", n) for n in notes],
        contact.email,
    )


def test_an_address_held_in_another_district_looks_exactly_like_a_fresh_one(
    client_for, lead_a, contact_a, contact_b, school_a
):
    other_a = ConsentedContactFactory(school=school_a, first_name="Ola", last_name="Nordmann")
    client = client_for(lead_a)

    held_elsewhere = outcome(*lead_changes_email(client, contact_a, contact_b.email), contact_a)
    fresh = outcome(*lead_changes_email(client, other_a, FRESH), other_a)

    assert held_elsewhere == (302, held_elsewhere[1], held_elsewhere[2], "sian.oneill@example.org")
    assert held_elsewhere[:3] == fresh[:3]
    assert PENDING_MESSAGE in held_elsewhere[2]
    assert "already has this email" not in " ".join(held_elsewhere[2])
    # Neither record shows the new address yet: both wait for an organiser.
    assert fresh[3] == other_a.email != FRESH
    assert sorted(EmailChange.objects.values_list("new_email", "status")) == [
        (FRESH, "pending"),
        (contact_b.email, "pending"),
    ]


def test_an_address_held_in_the_leads_own_district_is_named_as_before(
    client_for, lead_a, contact_a, school_a
):
    neighbour = ConsentedContactFactory(school=school_a, email="neighbour@example.org")

    response, _ = lead_changes_email(client_for(lead_a), contact_a, neighbour.email)

    assert response.status_code == 200
    assert "Another supporter already has this email address" in response.content.decode()
    assert not EmailChange.objects.exists()


def test_other_fields_of_the_same_edit_are_saved_at_once(client_for, lead_a, contact_a, contact_b):
    client = client_for(lead_a)
    data = admin_form_data(client.get(contact_change_url(contact_a)))
    data.update(email=contact_b.email, notes="Moved schools in January")

    client.post(contact_change_url(contact_a), data)

    contact_a.refresh_from_db()
    assert (contact_a.notes, contact_a.email) == (
        "Moved schools in January",
        "sian.oneill@example.org",
    )


def test_an_organiser_applies_a_change_nobody_else_holds(client_for, lead_a, organiser, contact_a):
    lead_changes_email(client_for(lead_a), contact_a, FRESH)
    change = EmailChange.objects.get()

    email_change_apply(change=change, actor=organiser)

    contact_a.refresh_from_db()
    assert contact_a.email == FRESH
    change.refresh_from_db()
    assert (change.status, change.resolved_by) == ("applied", organiser)
    assert AuditEvent.objects.filter(action="email_change", detail__state="applied").exists()


def test_an_organiser_is_told_which_record_holds_the_address(
    client_for, lead_a, organiser, contact_a, contact_b
):
    lead_changes_email(client_for(lead_a), contact_a, contact_b.email)
    change = EmailChange.objects.get()

    with pytest.raises(ValidationError, match=f"Supporter {contact_b.pk} \\(Tomasz Nowak"):
        email_change_apply(change=change, actor=organiser)
    email_change_reject(change=change, actor=organiser)

    contact_a.refresh_from_db()
    assert contact_a.email == "sian.oneill@example.org"
    assert EmailChange.objects.get().status == "rejected"


def test_the_organisers_admin_list_shows_the_clash_and_applies_changes(
    client_for, lead_a, organiser, contact_a, contact_b, school_a
):
    other_a = ConsentedContactFactory(school=school_a)
    lead = client_for(lead_a)
    lead_changes_email(lead, contact_a, contact_b.email)
    lead_changes_email(lead, other_a, FRESH)
    client = client_for(organiser)

    page = client.get(reverse("admin:contacts_emailchange_changelist"))
    assert page.status_code == 200 and "Tomasz Nowak" in page.content.decode()
    client.post(
        reverse("admin:contacts_emailchange_changelist"),
        {
            "action": "apply_changes",
            "_selected_action": list(EmailChange.objects.values_list("pk", flat=True)),
        },
    )

    assert Contact.objects.get(pk=other_a.pk).email == FRESH
    assert Contact.objects.get(pk=contact_a.pk).email == "sian.oneill@example.org"
    assert dict(EmailChange.objects.values_list("new_email", "status")) == {
        FRESH: "applied",
        contact_b.email: "pending",
    }


def test_leads_cannot_open_or_resolve_pending_changes(client_for, lead_a, contact_a, contact_b):
    client = client_for(lead_a)
    lead_changes_email(client, contact_a, contact_b.email)

    assert client.get(reverse("admin:contacts_emailchange_changelist")).status_code == 403
    with pytest.raises(PermissionDenied):
        email_change_apply(change=EmailChange.objects.get(), actor=lead_a)


def test_organisers_still_get_the_direct_answer(client_for, organiser, contact_a, contact_b):
    response, _ = lead_changes_email(client_for(organiser), contact_a, contact_b.email)
    assert "Another supporter already has this email address" in response.content.decode()


def _sheet(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Canvass"
    sheet.append([spreadsheet.REF_HEADER, spreadsheet.NEW_STATUS_HEADER])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_canvass_upload_answers_alike_for_another_districts_supporter_and_nobody(
    lead_a, contact_a, contact_b
):
    missing = Contact.objects.order_by("-pk").first().pk + 1000
    plan = spreadsheet.canvass_upload_plan(
        actor=lead_a, data=_sheet([[f"C{contact_b.pk}", "Pledged"], [f"C{missing}", "Pledged"]])
    )
    assert [e.message for e in plan.errors][0] == [e.message for e in plan.errors][1]
    assert len(plan.errors) == 2 and plan.change_count == 0


def test_the_lead_sees_the_address_they_gave_waiting_on_the_record(
    client_for, lead_a, contact_a, contact_b
):
    client = client_for(lead_a)
    lead_changes_email(client, contact_a, contact_b.email)

    page = client.get(contact_change_url(contact_a)).content.decode()

    assert "New address waiting for an organiser" in page and contact_b.email in page
