"""Refused state-changing POSTs across districts write nothing at all (the permission
matrix rolls every request back, so it checks only the answers)."""

import pytest
from django.urls import reverse

from tests.admin_helpers import admin_form_data


@pytest.mark.django_db
def test_a_lead_of_b_ticking_off_district_a_changes_nothing(
    client_for, lead_b, contact_a, school_a
):
    response = client_for(lead_b).post(
        reverse("canvass-tick", args=[school_a.pk]), {"contact": contact_a.pk, "status": "voted"}
    )

    assert response.status_code == 404
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == "unknown" and not contact_a.gotv_events.exists()


@pytest.mark.django_db
def test_a_volunteer_cannot_record_a_vote_in_the_admin(client_for, organiser, volunteer, contact_a):
    url = reverse("admin:contacts_contact_change", args=[contact_a.pk])
    data = {**admin_form_data(client_for(organiser).get(url)), "gotv_status": "pledged"}

    response = client_for(volunteer).post(url, data)

    assert response.status_code == 403
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == "unknown" and not contact_a.gotv_events.exists()


@pytest.mark.django_db
def test_a_lead_of_b_cannot_edit_district_a_supporter(client_for, organiser, lead_b, contact_a):
    url = reverse("admin:contacts_contact_change", args=[contact_a.pk])
    data = {**admin_form_data(client_for(organiser).get(url)), "first_name": "Changed"}

    response = client_for(lead_b).post(url, data)

    assert response.status_code == 404
    contact_a.refresh_from_db()
    assert contact_a.first_name == "Siân"
