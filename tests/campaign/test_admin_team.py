"""Roles change only through organisers, audited; the audit trail is read-only."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from campaign.models import AuditEvent, TeamMember
from campaign.roles import Role
from campaign.services import audit_record, team_member_set
from contacts.models import Contact
from tests.admin_helpers import (
    changelist_pks,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# Volunteers cannot change roles ---------------------------------------------------------


def test_volunteer_gets_403_on_the_team_member_changelist(client_for, volunteer):
    response = client_for(volunteer).get(reverse("admin:campaign_teammember_changelist"))
    assert response.status_code == 403


def test_volunteer_gets_403_on_the_team_member_add_view(client_for, volunteer, district_a):
    client = client_for(volunteer)
    assert client.get(reverse("admin:campaign_teammember_add")).status_code == 403
    recruit = UserFactory(username="recruit")
    response = client.post(
        reverse("admin:campaign_teammember_add"),
        {"user": recruit.pk, "role": Role.ORGANISER},
    )
    assert response.status_code == 403
    assert not TeamMember.objects.filter(user=recruit).exists()


def test_volunteer_cannot_promote_themselves_through_the_team_member_change_view(
    client_for, volunteer
):
    member = TeamMember.objects.get(user=volunteer)
    response = client_for(volunteer).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {"user": volunteer.pk, "role": Role.ORGANISER},
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == Role.VOLUNTEER


def test_team_member_set_by_a_volunteer_raises_permission_denied(volunteer, lead_a):
    with pytest.raises(PermissionDenied):
        team_member_set(actor=volunteer, user=volunteer, role=Role.ORGANISER)
    assert TeamMember.objects.get(user=volunteer).role == Role.VOLUNTEER


def test_volunteer_cannot_edit_user_accounts(client_for, volunteer, lead_a):
    client = client_for(volunteer)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_user_change", args=[lead_a.pk])).status_code == 403


# Organisers change roles through the TeamMember admin --------------------------------


def test_organiser_adds_a_team_member_through_the_admin_and_it_is_audited(
    client_for, organiser, district_a
):
    recruit = UserFactory(username="recruit", is_staff=False)

    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_add"),
        {"user": recruit.pk, "role": Role.LEAD, "districts": [district_a.pk]},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    member = TeamMember.objects.get(user=recruit)
    assert member.role == Role.LEAD
    assert list(member.districts.all()) == [district_a]
    recruit.refresh_from_db()
    assert recruit.is_staff is True
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.actor == organiser
    assert event.target_id == str(recruit.pk)
    assert event.detail == {
        "before": {"role": None, "districts": [], "all_districts": False},
        "after": {"role": "lead", "districts": ["District A"], "all_districts": False},
    }


def test_organiser_changes_a_role_through_the_admin_and_it_is_audited(
    client_for, organiser, lead_a, district_a, district_b, contact_b
):
    member = TeamMember.objects.get(user=lead_a)

    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {"user": lead_a.pk, "role": Role.LEAD, "districts": [district_a.pk, district_b.pk]},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert TeamMember.objects.filter(user=lead_a).count() == 1
    assert set(TeamMember.objects.get(user=lead_a).districts.all()) == {district_a, district_b}
    assert Contact.objects.visible_to(lead_a).filter(pk=contact_b.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.actor == organiser
    assert event.target_id == str(lead_a.pk)
    assert event.detail["before"] == {
        "role": "lead",
        "districts": ["District A"],
        "all_districts": False,
    }
    assert event.detail["after"] == {
        "role": "lead",
        "districts": ["District A", "District B"],
        "all_districts": False,
    }


def test_organiser_turns_a_volunteer_into_a_lead_through_the_admin(
    client_for, organiser, volunteer, district_b
):
    member = TeamMember.objects.get(user=volunteer)
    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {"user": volunteer.pk, "role": Role.LEAD, "districts": [district_b.pk]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.LEAD
    assert list(member.districts.all()) == [district_b]
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.detail["before"]["role"] == "volunteer"
    assert event.detail["after"] == {
        "role": "lead",
        "districts": ["District B"],
        "all_districts": False,
    }


def test_a_lead_without_districts_is_rejected_with_a_form_error(client_for, organiser):
    recruit = UserFactory(username="recruit")

    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_add"), {"user": recruit.pk, "role": Role.LEAD}
    )

    assert response.status_code == 200
    assert "districts" in response.context["adminform"].form.errors
    assert not TeamMember.objects.filter(user=recruit).exists()
    assert not AuditEvent.objects.exists()


def test_all_districts_for_a_lead_is_rejected_with_a_form_error(
    client_for, organiser, lead_a, district_a
):
    member = TeamMember.objects.get(user=lead_a)
    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {
            "user": lead_a.pk,
            "role": Role.LEAD,
            "districts": [district_a.pk],
            "all_districts": "on",
        },
    )
    assert response.status_code == 200
    assert "all_districts" in response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.all_districts is False


def test_organiser_removes_a_team_member_through_the_admin(client_for, organiser, lead_a):
    member = TeamMember.objects.get(user=lead_a)
    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_delete", args=[member.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TeamMember.objects.filter(user=lead_a).exists()
    lead_a.refresh_from_db()
    assert lead_a.is_staff is False
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.detail["after"]["role"] is None


# The audit trail in the admin ---------------------------------------------------------


@pytest.fixture
def audit_event(organiser):
    return audit_record(actor=organiser, action=AuditEvent.Action.EXPORT, counts={"rows": 3})


def test_organiser_can_list_audit_events(client_for, organiser, audit_event):
    response = client_for(organiser).get(reverse("admin:campaign_auditevent_changelist"))
    assert changelist_pks(response) == {audit_event.pk}


def test_organiser_cannot_add_audit_events(client_for, organiser):
    client = client_for(organiser)
    assert client.get(reverse("admin:campaign_auditevent_add")).status_code == 403
    response = client.post(reverse("admin:campaign_auditevent_add"), {"action": "export"})
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_organiser_can_view_but_not_change_an_audit_event(client_for, organiser, audit_event):
    client = client_for(organiser)
    url = reverse("admin:campaign_auditevent_change", args=[audit_event.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    response = client.post(url, {"action": "import", "target_label": "forged"})
    assert response.status_code == 403
    stored = AuditEvent.objects.get(pk=audit_event.pk)
    assert (stored.action, stored.target_label) == ("export", "")


def test_organiser_is_offered_no_delete_action_for_audit_events(client_for, organiser, audit_event):
    client = client_for(organiser)
    response = client.get(reverse("admin:campaign_auditevent_changelist"))
    action_form = response.context["action_form"]
    offered = [] if action_form is None else [v for v, _ in action_form.fields["action"].choices]
    assert "delete_selected" not in offered
    response = client.post(
        reverse("admin:campaign_auditevent_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [audit_event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()
    response = client.post(
        reverse("admin:campaign_auditevent_delete", args=[audit_event.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()


@pytest.mark.parametrize("who", ["volunteer", "lead_a"])
def test_volunteers_and_leads_get_403_on_the_audit_trail(client_for, audit_event, request, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("admin:campaign_auditevent_changelist")).status_code == 403
    url = reverse("admin:campaign_auditevent_change", args=[audit_event.pk])
    assert client.get(url).status_code == 403


def test_changing_a_team_member_cannot_move_the_role_to_another_account(
    client_for, organiser, lead_a, lead_b, district_a
):
    member = TeamMember.objects.get(user=lead_a)
    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {"user": lead_b.pk, "role": Role.LEAD, "districts": [district_a.pk]},
    )
    assert response.status_code == 302
    assert TeamMember.objects.get(pk=member.pk).user == lead_a
    assert set(TeamMember.objects.get(user=lead_b).districts.values_list("name", flat=True)) == {
        "District B"
    }
