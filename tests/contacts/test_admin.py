"""The supporter admin shows and changes only what the user's role and districts allow."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from campaign.models import AuditEvent
from contacts.models import ConsentRecord, Contact, District, GotvEvent, School
from tests.admin_helpers import (
    admin_form_data,
    changelist_pks,
    contact_change_url,
    new_contact_data,
)

pytestmark = pytest.mark.django_db


# Contacts: lists and single records ---------------------------------------------------


def test_contact_changelist_for_lead_a_lists_contact_a_and_not_contact_b(
    client_for, lead_a, contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("admin:contacts_contact_changelist"))
    assert changelist_pks(response) == {contact_a.pk}
    assert "Nowak" not in response.content.decode()


def test_contact_changelist_for_organiser_lists_both(client_for, organiser, contact_a, contact_b):
    response = client_for(organiser).get(reverse("admin:contacts_contact_changelist"))
    assert changelist_pks(response) == {contact_a.pk, contact_b.pk}


def test_contact_changelist_search_stays_in_lead_as_scope(client_for, lead_a, contact_a, contact_b):
    client = client_for(lead_a)
    url = reverse("admin:contacts_contact_changelist")
    assert changelist_pks(client.get(url, {"q": "Nowak"})) == set()
    assert changelist_pks(client.get(url, {"q": "100002"})) == set()
    assert changelist_pks(client.get(url, {"q": "100001"})) == {contact_a.pk}


def test_contact_changelist_district_param_for_another_district_yields_nothing(
    client_for, lead_a, district_b, contact_a, contact_b
):
    response = client_for(lead_a).get(
        reverse("admin:contacts_contact_changelist"), {"district__id__exact": district_b.pk}
    )
    assert changelist_pks(response) == set()
    assert "Nowak" not in response.content.decode()


def test_lead_a_can_open_contact_a_in_the_admin(client_for, lead_a, contact_a):
    response = client_for(lead_a).get(contact_change_url(contact_a))
    assert response.status_code == 200
    assert response.context["original"] == contact_a


@pytest.mark.parametrize(
    "view",
    [
        "admin:contacts_contact_change",
        "admin:contacts_contact_history",
        "admin:contacts_contact_delete",
    ],
)
def test_lead_a_gets_404_for_contact_b_admin_pages(client_for, lead_a, contact_b, view):
    response = client_for(lead_a).get(reverse(view, args=[contact_b.pk]))
    assert response.status_code == 404


def test_lead_a_gets_404_when_posting_a_change_to_contact_b(client_for, lead_a, contact_b):
    response = client_for(lead_a).post(
        contact_change_url(contact_b),
        {"first_name": "Changed", "email": "changed@example.org", "role": "member"},
    )
    assert response.status_code == 404
    contact_b.refresh_from_db()
    assert contact_b.first_name == "Tomasz"


def test_out_of_scope_contact_looks_like_a_missing_one_in_the_admin(client_for, lead_a, contact_b):
    client = client_for(lead_a)
    assert (
        client.get(
            reverse("admin:contacts_contact_change", args=[contact_b.pk + 10_000])
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("admin:contacts_contact_change", args=["not-a-number"])).status_code
        == 404
    )


@pytest.mark.parametrize(
    "view", ["admin:contacts_contact_change", "admin:contacts_contact_history"]
)
def test_organiser_can_open_both_contacts(client_for, organiser, contact_a, contact_b, view):
    client = client_for(organiser)
    assert client.get(reverse(view, args=[contact_a.pk])).status_code == 200
    assert client.get(reverse(view, args=[contact_b.pk])).status_code == 200


def test_lead_a_cannot_reach_contact_b_consents_in_the_consent_admin(
    client_for, lead_a, contact_a, contact_b
):
    client = client_for(lead_a)
    response = client.get(reverse("admin:contacts_consentrecord_changelist"))
    assert changelist_pks(response) == set(contact_a.consents.values_list("pk", flat=True))
    consent_b = contact_b.consents.get()
    response = client.get(reverse("admin:contacts_consentrecord_change", args=[consent_b.pk]))
    assert response.status_code == 404


# Schools and districts ----------------------------------------------------------------


def test_school_changelist_for_lead_a_lists_only_school_a(client_for, lead_a, school_a, school_b):
    response = client_for(lead_a).get(reverse("admin:contacts_school_changelist"))
    assert changelist_pks(response) == {school_a.pk}


def test_school_changelist_for_organiser_lists_both(client_for, organiser, school_a, school_b):
    response = client_for(organiser).get(reverse("admin:contacts_school_changelist"))
    assert changelist_pks(response) == {school_a.pk, school_b.pk}


def test_lead_a_gets_404_for_school_b_in_the_admin(client_for, lead_a, school_b):
    response = client_for(lead_a).get(reverse("admin:contacts_school_change", args=[school_b.pk]))
    assert response.status_code == 404


def test_district_changelist_for_lead_a_lists_only_district_a(
    client_for, lead_a, district_a, district_b
):
    response = client_for(lead_a).get(reverse("admin:contacts_district_changelist"))
    assert changelist_pks(response) == {district_a.pk}


def test_district_changelist_for_organiser_lists_both(
    client_for, organiser, district_a, district_b
):
    response = client_for(organiser).get(reverse("admin:contacts_district_changelist"))
    assert changelist_pks(response) == {district_a.pk, district_b.pk}


def test_lead_a_gets_404_for_district_b_in_the_admin(client_for, lead_a, district_b):
    response = client_for(lead_a).get(
        reverse("admin:contacts_district_change", args=[district_b.pk])
    )
    assert response.status_code == 404


def _district_filter_choices(response):
    """The district filter's choices, or None when Django hides the filter."""
    for spec in response.context["cl"].filter_specs:
        if getattr(spec, "field_path", None) == "district":
            return spec.lookup_choices
    return None


def test_district_list_filter_offers_lead_a_only_district_a(
    client_for, lead_a, district_a, district_b, contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("admin:contacts_contact_changelist"))
    assert _district_filter_choices(response) == [(district_a.pk, "District A")]
    assert "District B" not in response.content.decode()


def test_school_district_filter_never_offers_lead_a_district_b(
    client_for, lead_a, district_a, district_b, school_a, school_b
):
    response = client_for(lead_a).get(reverse("admin:contacts_school_changelist"))
    # With a single choice Django hides the filter altogether; it must not list B.
    assert _district_filter_choices(response) in (None, [(district_a.pk, "District A")])
    assert "District B" not in response.content.decode()


@pytest.mark.parametrize("changelist", ["contacts_contact", "contacts_school"])
def test_district_list_filter_offers_the_organiser_every_district(
    client_for, organiser, district_a, district_b, contact_a, contact_b, changelist
):
    response = client_for(organiser).get(reverse(f"admin:{changelist}_changelist"))
    assert _district_filter_choices(response) == [
        (district_a.pk, "District A"),
        (district_b.pk, "District B"),
    ]


def test_lead_as_contact_form_offers_only_district_a_schools_and_districts(
    client_for, lead_a, district_a, school_a, school_b, contact_a
):
    response = client_for(lead_a).get(contact_change_url(contact_a))
    form = response.context["adminform"].form
    assert list(form.fields["school"].queryset) == [school_a]
    assert list(form.fields["district"].queryset) == [district_a]


def test_lead_a_cannot_move_contact_a_into_school_b(
    client_for, lead_a, contact_a, school_b, district_b
):
    client = client_for(lead_a)
    data = admin_form_data(client.get(contact_change_url(contact_a)))
    data["school"] = str(school_b.pk)
    data["district"] = str(district_b.pk)

    response = client.post(contact_change_url(contact_a), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "school" in errors
    assert "district" in errors
    contact_a.refresh_from_db()
    assert contact_a.school_id != school_b.pk
    assert contact_a.district_id != district_b.pk


def test_school_autocomplete_for_lead_a_offers_only_district_a_schools(
    client_for, lead_a, school_a, school_b
):
    response = client_for(lead_a).get(
        reverse("admin:autocomplete"),
        {"app_label": "contacts", "model_name": "contact", "field_name": "school", "term": ""},
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(school_a.pk)]


def test_lead_a_can_change_contact_a_through_the_admin(client_for, lead_a, contact_a):
    client = client_for(lead_a)
    data = admin_form_data(client.get(contact_change_url(contact_a)))
    data["gotv_status"] = Contact.Gotv.PLEDGED

    response = client.post(contact_change_url(contact_a), data)

    assert response.status_code == 302
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.PLEDGED
    # The consent evidence shown read-only in the inline is untouched.
    assert contact_a.is_mailable()
    event = contact_a.gotv_events.get()
    assert (event.previous_status, event.status) == (Contact.Gotv.UNKNOWN, Contact.Gotv.PLEDGED)
    assert (event.method, event.actor) == (GotvEvent.Method.ADMIN, lead_a)


def test_voted_cannot_be_recorded_in_the_admin_before_the_ballot_opens(
    client_for, lead_a, contact_a, campaign
):
    client = client_for(lead_a)
    data = admin_form_data(client.get(contact_change_url(contact_a)))
    data["gotv_status"] = Contact.Gotv.VOTED

    response = client.post(contact_change_url(contact_a), data)

    assert response.status_code == 200
    assert (
        "only pledges can be recorded"
        in response.context["adminform"].form.errors["gotv_status"][0]
    )
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.UNKNOWN
    assert not contact_a.gotv_events.exists()


def test_lead_cannot_add_or_delete_contacts(client_for, lead_a, contact_a):
    client = client_for(lead_a)
    assert client.get(reverse("admin:contacts_contact_add")).status_code == 403
    assert (
        client.post(reverse("admin:contacts_contact_delete", args=[contact_a.pk]), {"post": "yes"})
    ).status_code == 403
    assert Contact.objects.filter(pk=contact_a.pk).exists()


# Volunteers: read-only contacts, no role changes --------------------------------------


def test_volunteer_can_view_a_contact_in_district_a(client_for, volunteer, contact_a):
    response = client_for(volunteer).get(contact_change_url(contact_a))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False


def test_volunteer_post_to_change_a_contact_gets_403(client_for, volunteer, contact_a):
    response = client_for(volunteer).post(
        contact_change_url(contact_a),
        {
            "first_name": "Changed",
            "email": contact_a.email,
            "role": "member",
            "gotv_status": "voted",
            "consents-TOTAL_FORMS": "0",
            "consents-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    contact_a.refresh_from_db()
    assert contact_a.first_name == "Siân"


def test_volunteer_gets_404_for_a_contact_outside_district_a(client_for, volunteer, contact_b):
    response = client_for(volunteer).get(contact_change_url(contact_b))
    assert response.status_code == 404


# Withdrawing consent from the admin ---------------------------------------------------


def test_organiser_withdraws_consent_with_the_admin_action(
    client_for, organiser, contact_a, contact_b
):
    response = client_for(organiser).post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "withdraw_consent", ACTION_CHECKBOX_NAME: [contact_a.pk]},
    )

    assert response.status_code == 302
    assert not contact_a.is_mailable()
    assert not Contact.objects.mailable().filter(pk=contact_a.pk).exists()
    assert contact_b.is_mailable()
    consent = contact_a.consents.get()
    assert consent.withdrawn_how == ConsentRecord.WithdrawnHow.REQUEST
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONSENT_WITHDRAW)
    assert event.actor == organiser
    assert event.counts == {"consent_records": 1}


def test_withdraw_consent_action_is_not_offered_to_a_lead(client_for, lead_a, contact_a):
    client = client_for(lead_a)
    response = client.get(reverse("admin:contacts_contact_changelist"))
    action_form = response.context["action_form"]
    offered = [] if action_form is None else [v for v, _ in action_form.fields["action"].choices]
    assert "withdraw_consent" not in offered

    client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "withdraw_consent", ACTION_CHECKBOX_NAME: [contact_a.pk]},
    )
    assert contact_a.is_mailable()
    assert not AuditEvent.objects.exists()


def test_withdraw_consent_action_is_offered_to_an_organiser(client_for, organiser, contact_a):
    response = client_for(organiser).get(reverse("admin:contacts_contact_changelist"))
    offered = [v for v, _ in response.context["action_form"].fields["action"].choices]
    assert "withdraw_consent" in offered


def test_mailable_column_and_filter_reflect_consent(
    client_for, organiser, contact_a, unconsented_contact_a
):
    client = client_for(organiser)
    url = reverse("admin:contacts_contact_changelist")
    assert changelist_pks(client.get(url, {"mailable": "yes"})) == {contact_a.pk}
    assert changelist_pks(client.get(url, {"mailable": "no"})) == {unconsented_contact_a.pk}


# Saving contacts through the admin normalises them ------------------------------------


def test_contact_saved_through_the_admin_is_normalised(client_for, organiser, school_a):
    client = client_for(organiser)
    data = new_contact_data(
        client,
        first_name="Priya",
        last_name="Shah",
        email="  Priya.Shah@Example.ORG ",
        mobile="07700 900123",
        school=str(school_a.pk),
        district="",
    )

    response = client.post(reverse("admin:contacts_contact_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    contact = Contact.objects.get(first_name="Priya")
    assert contact.email == "priya.shah@example.org"
    assert contact.mobile == "+447700900123"
    assert contact.district == school_a.district


def test_organiser_clearing_the_district_gets_it_back_from_the_school(
    client_for, organiser, contact_a, school_a
):
    client = client_for(organiser)
    data = admin_form_data(client.get(contact_change_url(contact_a)))
    data["district"] = ""
    data["mobile"] = "+44 7700 900 456"

    response = client.post(contact_change_url(contact_a), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    contact_a.refresh_from_db()
    assert contact_a.district == school_a.district
    assert contact_a.mobile == "+447700900456"


def test_contact_with_an_invalid_mobile_is_rejected(client_for, organiser, school_a):
    client = client_for(organiser)
    data = new_contact_data(
        client,
        first_name="Bad",
        email="bad@example.org",
        mobile="0161 496 0000",
        school=str(school_a.pk),
    )
    response = client.post(reverse("admin:contacts_contact_add"), data)
    assert response.status_code == 200
    assert "mobile" in response.context["adminform"].form.errors
    assert not Contact.objects.filter(first_name="Bad").exists()


def test_duplicate_email_differing_only_in_case_is_rejected(
    client_for, organiser, contact_a, school_a
):
    client = client_for(organiser)
    data = new_contact_data(
        client, first_name="Copy", email=" SIAN.ONeill@Example.org", school=str(school_a.pk)
    )

    response = client.post(reverse("admin:contacts_contact_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["email"]
    assert "already has this email address" in errors["email"][0]
    assert Contact.objects.filter(email__iexact="sian.oneill@example.org").count() == 1
    assert not Contact.objects.filter(first_name="Copy").exists()


def test_school_saved_through_the_admin_gets_its_name_key(client_for, organiser, district_a):
    response = client_for(organiser).post(
        reverse("admin:contacts_school_add"),
        {"name": "  St. Mary's C of E Primary ", "urn": "", "district": district_a.pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    school = School.objects.get(name="St. Mary's C of E Primary")
    assert school.name_key == "st marys c of e primary"
    assert school.urn is None


def test_lead_cannot_add_schools_or_districts(client_for, lead_a, district_a):
    client = client_for(lead_a)
    assert client.get(reverse("admin:contacts_school_add")).status_code == 403
    assert client.get(reverse("admin:contacts_district_add")).status_code == 403
    assert District.objects.count() == 1
