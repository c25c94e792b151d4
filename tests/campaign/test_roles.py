"""Roles: what each may do (``can``) and how role changes take effect."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from campaign.models import AuditEvent, TeamMember
from campaign.roles import Role, can, scope_for
from campaign.services import team_member_remove, team_member_set
from contacts.models import Contact
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = ["view", "add", "change", "delete"]
MODELS = [
    "contacts.contact",
    "contacts.school",
    "contacts.district",
    "contacts.consentrecord",
    "contacts.importbatch",
    "contacts.tag",
    "mailings.mailing",
    "campaign.campaign",
    "campaign.teammember",
    "campaign.auditevent",
    "auth.user",
]


def _allowed(user):
    return {(action, model) for model in MODELS for action in ACTIONS if can(user, action, model)}


def _all_pairs():
    return {(action, model) for model in MODELS for action in ACTIONS}


def test_organiser_may_do_everything_except_audit_writes_and_evidence_deletes(organiser):
    forbidden = {
        ("add", "campaign.auditevent"),
        ("change", "campaign.auditevent"),
        ("delete", "campaign.auditevent"),
        ("delete", "contacts.consentrecord"),
        ("delete", "contacts.importbatch"),
    }
    assert _allowed(organiser) == _all_pairs() - forbidden


def test_superuser_has_the_organisers_rights(db):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert can(root, "change", "campaign.teammember")
    assert can(root, "view", "campaign.auditevent")
    assert not can(root, "change", "campaign.auditevent")
    assert not can(root, "delete", "contacts.consentrecord")


def test_volunteer_may_add_and_change_mailings_but_only_view_contacts(volunteer):
    assert can(volunteer, "view", "mailings.mailing")
    assert can(volunteer, "add", "mailings.mailing")
    assert can(volunteer, "change", "mailings.mailing")
    assert not can(volunteer, "delete", "mailings.mailing")
    assert can(volunteer, "view", "contacts.contact")
    assert not can(volunteer, "change", "contacts.contact")
    assert not can(volunteer, "add", "contacts.contact")
    assert not can(volunteer, "delete", "contacts.contact")


def test_volunteer_rights_are_exactly_the_listed_ones(volunteer):
    assert _allowed(volunteer) == {
        ("view", "contacts.contact"),
        ("view", "contacts.school"),
        ("view", "contacts.district"),
        ("view", "contacts.consentrecord"),
        ("view", "mailings.mailing"),
        ("add", "mailings.mailing"),
        ("change", "mailings.mailing"),
        ("view", "campaign.campaign"),
    }


def test_volunteer_cannot_change_roles_or_read_the_audit_trail(volunteer):
    assert not can(volunteer, "view", "campaign.teammember")
    assert not can(volunteer, "change", "campaign.teammember")
    assert not can(volunteer, "view", "campaign.auditevent")


def test_lead_may_change_contacts_but_not_view_mailings(lead_a):
    assert can(lead_a, "view", "contacts.contact")
    assert can(lead_a, "change", "contacts.contact")
    assert not can(lead_a, "add", "contacts.contact")
    assert not can(lead_a, "delete", "contacts.contact")
    assert not can(lead_a, "view", "mailings.mailing")
    assert not can(lead_a, "add", "mailings.mailing")


def test_lead_rights_are_exactly_the_listed_ones(lead_a):
    assert _allowed(lead_a) == {
        ("view", "contacts.contact"),
        ("change", "contacts.contact"),
        ("view", "contacts.school"),
        ("view", "contacts.district"),
        ("view", "contacts.consentrecord"),
        ("view", "campaign.campaign"),
    }


def test_can_ignores_the_case_of_the_model_label(lead_a):
    assert can(lead_a, "change", "contacts.Contact")
    assert not can(lead_a, "view", "mailings.Mailing")


def test_user_without_a_role_may_do_nothing(db):
    stranger = UserFactory(username="stranger", is_staff=True)
    assert _allowed(stranger) == set()
    assert _allowed(AnonymousUser()) == set()
    assert _allowed(None) == set()


def test_inactive_organiser_may_do_nothing(organiser):
    organiser.is_active = False
    assert _allowed(organiser) == set()


# team_member_set / team_member_remove ------------------------------------------------


def test_team_member_set_gives_a_new_user_staff_access_and_a_role(organiser, district_a):
    recruit = UserFactory(username="recruit", is_staff=False)

    member = team_member_set(actor=organiser, user=recruit, role=Role.LEAD, districts=[district_a])

    recruit.refresh_from_db()
    assert recruit.is_staff is True
    assert member.role == Role.LEAD
    assert list(member.districts.all()) == [district_a]
    assert can(recruit, "change", "contacts.contact")


def test_team_member_set_audits_the_change_with_before_and_after(organiser, district_a):
    recruit = UserFactory(username="recruit")

    team_member_set(actor=organiser, user=recruit, role=Role.LEAD, districts=[district_a])

    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.actor == organiser
    assert event.target_type == "auth.user"
    assert event.target_id == str(recruit.pk)
    assert event.detail == {
        "before": {"role": None, "districts": [], "all_districts": False},
        "after": {"role": "lead", "districts": ["District A"], "all_districts": False},
    }


def test_team_member_set_without_a_change_writes_no_audit_event(organiser, lead_a, district_a):
    team_member_set(actor=organiser, user=lead_a, role=Role.LEAD, districts=[district_a])
    assert not AuditEvent.objects.exists()


def test_new_districts_apply_immediately_without_refetching_the_user(
    organiser, lead_a, district_a, district_b, contact_a, contact_b
):
    # Prime the cached scope on this very user object, as a request would.
    assert list(Contact.objects.visible_to(lead_a)) == [contact_a]
    assert scope_for(lead_a).district_ids == frozenset({district_a.pk})

    team_member_set(
        actor=organiser, user=lead_a, role=Role.LEAD, districts=[district_a, district_b]
    )

    assert set(Contact.objects.visible_to(lead_a)) == {contact_a, contact_b}


def test_promotion_to_organiser_applies_immediately(organiser, volunteer, contact_a, contact_b):
    assert not can(volunteer, "change", "campaign.teammember")
    team_member_set(actor=organiser, user=volunteer, role=Role.ORGANISER)
    assert can(volunteer, "change", "campaign.teammember")
    assert set(Contact.objects.visible_to(volunteer)) == {contact_a, contact_b}
    assert not TeamMember.objects.get(user=volunteer).districts.exists()


def test_volunteer_cannot_set_roles(volunteer, lead_a, district_b):
    with pytest.raises(PermissionDenied):
        team_member_set(actor=volunteer, user=volunteer, role=Role.ORGANISER)
    with pytest.raises(PermissionDenied):
        team_member_set(actor=volunteer, user=lead_a, role=Role.LEAD, districts=[district_b])
    assert TeamMember.objects.get(user=volunteer).role == Role.VOLUNTEER
    assert list(TeamMember.objects.get(user=lead_a).districts.values_list("name", flat=True)) == [
        "District A"
    ]
    assert not AuditEvent.objects.exists()


def test_lead_cannot_set_roles(lead_a, district_b):
    with pytest.raises(PermissionDenied):
        team_member_set(actor=lead_a, user=lead_a, role=Role.LEAD, districts=[district_b])


def test_team_member_set_rejects_a_lead_without_districts(organiser):
    recruit = UserFactory(username="recruit")
    with pytest.raises(ValidationError) as excinfo:
        team_member_set(actor=organiser, user=recruit, role=Role.LEAD, districts=[])
    assert "districts" in excinfo.value.message_dict
    assert not TeamMember.objects.filter(user=recruit).exists()


def test_team_member_set_rejects_all_districts_for_a_lead(organiser, district_a):
    recruit = UserFactory(username="recruit")
    with pytest.raises(ValidationError) as excinfo:
        team_member_set(
            actor=organiser,
            user=recruit,
            role=Role.LEAD,
            districts=[district_a],
            all_districts=True,
        )
    assert "all_districts" in excinfo.value.message_dict


def test_team_member_remove_takes_away_staff_access_and_audits(organiser, lead_a, contact_a):
    assert list(Contact.objects.visible_to(lead_a)) == [contact_a]

    team_member_remove(actor=organiser, user=lead_a)

    lead_a.refresh_from_db()
    assert lead_a.is_staff is False
    assert not TeamMember.objects.filter(user=lead_a).exists()
    assert not Contact.objects.visible_to(lead_a).exists()
    assert not can(lead_a, "view", "contacts.contact")
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.actor == organiser
    assert event.target_id == str(lead_a.pk)
    assert event.detail == {
        "before": {"role": "lead", "districts": ["District A"], "all_districts": False},
        "after": {"role": None, "districts": [], "all_districts": False},
    }


def test_team_member_remove_leaves_a_superuser_staff(organiser):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    TeamMember.objects.create(user=root, role=Role.ORGANISER)
    team_member_remove(actor=organiser, user=root)
    root.refresh_from_db()
    assert root.is_staff is True


def test_team_member_remove_of_a_non_member_does_nothing(organiser):
    stranger = UserFactory(username="stranger")
    team_member_remove(actor=organiser, user=stranger)
    assert not AuditEvent.objects.exists()


def test_volunteer_cannot_remove_team_members(volunteer, lead_a):
    with pytest.raises(PermissionDenied):
        team_member_remove(actor=volunteer, user=lead_a)
    assert TeamMember.objects.filter(user=lead_a).exists()
