"""The organiser's team page: invitations (single use, expiring), roles and districts,
deactivation, and the rule that the campaign always keeps an organiser."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaign.invitations import invitation_send
from campaign.models import AuditEvent, Invitation, TeamMember
from campaign.roles import Role, scope_for
from campaign.services import (
    last_organiser_check,
    team_member_deactivate,
    team_member_remove,
    team_member_set,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "a long and unusual passphrase 7"


def _link(message) -> str:
    found = re.search(r"https?://\S+/accounts/invitation/\S+/", message.body)
    assert found, message.body
    return found.group(0)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _invite(client, district, email="new.lead@example.org", role="lead"):
    return client.post(reverse("team"), {"email": email, "role": role, "districts": [district.pk]})


def test_an_invitation_gives_the_account_role_districts_and_a_link_that_works_once(
    client_for, organiser, district_a, campaign, client
):
    response = _invite(client_for(organiser), district_a)
    assert response.status_code == 302

    user = User.objects.get(username="new.lead@example.org")
    assert not user.has_usable_password()
    assert scope_for(user).role == Role.LEAD
    assert scope_for(user).district_ids == frozenset({district_a.pk})
    [message] = mail.outbox
    assert message.to == ["new.lead@example.org"] and campaign.name in message.subject
    path = _path(_link(message))
    invitation = Invitation.objects.get(user=user)
    assert path.split("/")[-2] not in invitation.token_hash  # only a hash is kept

    client.logout()
    assert client.get(path).status_code == 200
    weak = client.post(path, {"new_password1": "abc", "new_password2": "abc"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    again = client.post(
        path, {"new_password1": "x" + NEW_PASSWORD, "new_password2": "x" + NEW_PASSWORD}
    )
    assert again.status_code == 410 and "already been used" in again.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    actions = list(
        AuditEvent.objects.filter(target_id=str(user.pk)).values_list("action", flat=True)
    )
    assert AuditEvent.Action.INVITATION_SEND in actions
    assert AuditEvent.Action.INVITATION_ACCEPT in actions
    assert AuditEvent.Action.ROLE_CHANGE in actions


def test_an_expired_invitation_link_sets_no_password(organiser, district_a, client):
    invitation_send(actor=organiser, email="late@example.org", role="lead", districts=[district_a])
    path = _path(_link(mail.outbox[0]))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not User.objects.get(username="late@example.org").has_usable_password()


def test_an_invitation_is_valid_for_the_configured_days(organiser, district_a, settings):
    settings.INVITATION_VALID_DAYS = 5
    before = timezone.now()
    invitation = invitation_send(
        actor=organiser, email="x@example.org", role="lead", districts=[district_a]
    )
    assert timedelta(days=5) <= invitation.expires_at - before < timedelta(days=5, minutes=1)


def test_inviting_again_retires_the_earlier_link(organiser, district_a, client):
    invitation_send(actor=organiser, email="twice@example.org", role="lead", districts=[district_a])
    invitation_send(actor=organiser, email="twice@example.org", role="lead", districts=[district_a])
    old, new = _path(_link(mail.outbox[0])), _path(_link(mail.outbox[1]))
    assert client.get(old).status_code == 410
    assert client.get(new).status_code == 200


def test_inviting_someone_who_has_an_account_is_refused_beside_the_email(
    client_for, organiser, lead_a, district_a
):
    lead_a.email = "lead.a@example.org"
    lead_a.save()
    response = _invite(client_for(organiser), district_a, email="Lead.A@example.org")
    assert response.status_code == 400
    assert "already has an account" in response.context["form"].errors["email"][0]
    assert not mail.outbox


def test_a_lead_invited_without_a_district_is_refused_beside_the_districts(client_for, organiser):
    response = client_for(organiser).post(
        reverse("team"), {"email": "nodistrict@example.org", "role": "lead"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["districts"]
    assert not User.objects.filter(username="nodistrict@example.org").exists()
    assert not mail.outbox


def test_an_organiser_changes_a_role_and_districts_audited(
    client_for, organiser, lead_a, district_a, district_b
):
    response = client_for(organiser).post(
        reverse("team-member", args=[lead_a.pk]),
        {"role": "lead", "districts": [district_a.pk, district_b.pk]},
    )
    assert response.status_code == 302
    assert set(TeamMember.objects.get(user=lead_a).districts.all()) == {district_a, district_b}
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGE)
    assert event.detail["before"]["districts"] == ["District A"]
    assert event.detail["after"]["districts"] == ["District A", "District B"]


def test_deactivating_a_teammate_stops_their_sign_in_and_is_audited(
    client_for, organiser, lead_a, client
):
    client_for(organiser).post(reverse("team-member-active", args=[lead_a.pk]), {"active": "0"})
    lead_a.refresh_from_db()
    assert not lead_a.is_active and scope_for(lead_a).sees_nothing
    event = AuditEvent.objects.filter(
        action=AuditEvent.Action.ACCOUNT_CHANGE, target_id=str(lead_a.pk)
    ).get()
    assert event.detail["is_active"] == {"before": True, "after": False}


def test_nobody_can_remove_the_last_organiser(organiser, district_a):
    with pytest.raises(ValidationError, match="last organiser"):
        team_member_set(actor=organiser, user=organiser, role=Role.LEAD, districts=[district_a])
    with pytest.raises(ValidationError, match="last organiser"):
        team_member_set(actor=organiser, user=organiser, role=Role.VOLUNTEER)
    with pytest.raises(ValidationError, match="last organiser"):
        team_member_remove(actor=organiser, user=organiser)
    with pytest.raises(ValidationError, match="your own account"):
        team_member_deactivate(actor=organiser, user=organiser)
    assert TeamMember.objects.get(user=organiser).role == Role.ORGANISER

    # With a second organiser, one may go; then the other is the last again.
    second = UserFactory(username="second")
    team_member_set(actor=organiser, user=second, role=Role.ORGANISER)
    team_member_deactivate(actor=organiser, user=second)
    with pytest.raises(ValidationError, match="last organiser"):
        team_member_set(actor=organiser, user=organiser, role=Role.VOLUNTEER)
    # A deactivated organiser does not count.
    with pytest.raises(ValidationError, match="last organiser"):
        last_organiser_check(user=organiser, role_after=None, active_after=False)


def test_with_a_second_organiser_one_can_step_down(organiser):
    second = UserFactory(username="second")
    team_member_set(actor=organiser, user=second, role=Role.ORGANISER)
    team_member_set(actor=second, user=organiser, role=Role.VOLUNTEER)
    assert TeamMember.objects.get(user=organiser).role == Role.VOLUNTEER


def test_the_team_page_refuses_to_demote_the_last_organiser_beside_the_form(client_for, organiser):
    response = client_for(organiser).post(
        reverse("team-member", args=[organiser.pk]), {"role": "volunteer"}
    )
    assert response.status_code == 400
    assert "last organiser" in response.content.decode()
    assert TeamMember.objects.get(user=organiser).role == Role.ORGANISER


def test_the_team_page_lists_everyone_with_their_state(client_for, organiser, lead_a, district_a):
    invitation_send(
        actor=organiser, email="pending@example.org", role="lead", districts=[district_a]
    )
    page = client_for(organiser).get(reverse("team")).content.decode()
    assert "lead_a" in page and "pending@example.org" in page
    assert "Invited" in page and "District A" in page


def test_the_admin_form_also_refuses_to_demote_the_last_organiser(client_for, organiser):
    member = TeamMember.objects.get(user=organiser)
    response = client_for(organiser).post(
        reverse("admin:campaign_teammember_change", args=[member.pk]),
        {"user": organiser.pk, "role": "volunteer", "all_districts": ""},
    )
    assert response.status_code == 200
    assert "last organiser" in response.content.decode()
    assert TeamMember.objects.get(user=organiser).role == Role.ORGANISER
