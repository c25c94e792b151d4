"""Accounts: only a superuser changes a superuser, and every change of a password, staff,
superuser or active flag (or permissions) lands in the audit trail, whichever way it is
made: the admin's user form, its password form, the team pages or the shell."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from campaign.models import AuditEvent
from campaign.roles import Role
from campaign.security import signals
from campaign.services import team_member_set
from tests.admin_helpers import admin_form_data
from tests.conftest import PASSWORD
from tests.factories import UserFactory

User = get_user_model()
NEW_PASSWORD = "a long and new passphrase 2026"


def password_form(new=NEW_PASSWORD):
    return {"password1": new, "password2": new, "usable_password": "true"}


def account_events(*, creations=False):
    events = AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_CHANGE)
    if not creations:  # fixtures' superusers are audited as created
        events = events.exclude(detail__has_key="created")
    return list(events)


def user_form_data(client, url):
    data = admin_form_data(client.get(url))
    joined = data.pop("date_joined")
    data["date_joined_0"], data["date_joined_1"] = joined[:10], joined[11:19]
    return data


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def root2(db):
    return UserFactory(username="root2", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_an_organiser_cannot_set_a_superusers_password(client_for, organiser, root):
    client = client_for(organiser)
    url = reverse("admin:auth_user_password_change", args=[root.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, password_form()).status_code == 403
    root.refresh_from_db()
    assert root.check_password(PASSWORD)


@pytest.mark.django_db
def test_an_organiser_sees_a_superuser_read_only_and_cannot_edit_or_remove_them(
    client_for, organiser, root
):
    client = client_for(organiser)
    change = reverse("admin:auth_user_change", args=[root.pk])

    page = client.get(change)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    data = {"username": "root", "email": "evil@example.org", "is_active": "on"}
    assert client.post(change, data).status_code == 403
    assert (
        client.post(reverse("admin:auth_user_delete", args=[root.pk]), {"post": "yes"}).status_code
        == 403
    )
    bulk = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    root.refresh_from_db()
    assert root.email == "root@example.org" and User.objects.filter(pk=root.pk).exists()


@pytest.mark.django_db
def test_a_superuser_sets_another_superusers_password_and_it_is_audited(client_for, root, root2):
    response = client_for(root).post(
        reverse("admin:auth_user_password_change", args=[root2.pk]), password_form()
    )

    assert response.status_code == 302
    root2.refresh_from_db()
    assert root2.check_password(NEW_PASSWORD)
    (event,) = account_events()
    assert event.actor == root and event.target_id == str(root2.pk)
    assert event.detail["changed"] == ["password"]
    assert root2.password not in str(event.detail) and NEW_PASSWORD not in str(event.detail)


@pytest.mark.django_db
def test_an_organiser_setting_a_volunteers_password_is_audited(client_for, organiser, volunteer):
    response = client_for(organiser).post(
        reverse("admin:auth_user_password_change", args=[volunteer.pk]), password_form()
    )

    assert response.status_code == 302
    (event,) = account_events()
    assert event.actor == organiser and event.target_id == str(volunteer.pk)
    assert event.detail == {"changed": ["password"], "password": {"set": True, "unusable": False}}


@pytest.mark.django_db
def test_disabling_a_password_in_the_admin_is_audited(client_for, organiser, volunteer):
    client_for(organiser).post(
        reverse("admin:auth_user_password_change", args=[volunteer.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )

    volunteer.refresh_from_db()
    assert not volunteer.has_usable_password()
    (event,) = account_events()
    assert event.detail["password"]["unusable"] is True


@pytest.mark.django_db
def test_a_superuser_granting_superuser_and_staff_in_the_user_form_is_audited(client_for, root):
    someone = UserFactory(username="someone")
    client = client_for(root)
    url = reverse("admin:auth_user_change", args=[someone.pk])
    data = user_form_data(client, url)
    data.update({"is_staff": "on", "is_superuser": "on"})

    response = client.post(url, data)

    assert response.status_code == 302
    (event,) = account_events()
    assert event.actor == root
    assert event.detail["changed"] == ["is_staff", "is_superuser"]
    assert event.detail["is_superuser"] == {"before": False, "after": True}


@pytest.mark.django_db
def test_an_organiser_cannot_make_anyone_superuser_in_the_user_form(client_for, organiser):
    someone = UserFactory(username="someone")
    client = client_for(organiser)
    url = reverse("admin:auth_user_change", args=[someone.pk])
    data = user_form_data(client, url)
    data.update({"is_staff": "on", "is_superuser": "on"})

    client.post(url, data)

    someone.refresh_from_db()
    assert not someone.is_superuser and not someone.is_staff


@pytest.mark.django_db
def test_an_organiser_deactivating_an_account_is_audited(client_for, organiser, lead_a):
    client = client_for(organiser)
    url = reverse("admin:auth_user_change", args=[lead_a.pk])
    data = user_form_data(client, url)
    data.pop("is_active")

    assert client.post(url, data).status_code == 302

    (event,) = account_events()
    assert event.actor == organiser
    assert event.detail["is_active"] == {"before": True, "after": False}


@pytest.mark.django_db
def test_giving_a_role_audits_the_role_and_the_staff_flag(organiser):
    recruit = UserFactory(username="recruit")
    token = signals.current_actor.set(organiser)
    try:
        team_member_set(actor=organiser, user=recruit, role=Role.VOLUNTEER)
    finally:
        signals.current_actor.reset(token)

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {AuditEvent.Action.ROLE_CHANGE, AuditEvent.Action.ACCOUNT_CHANGE}
    (event,) = account_events()
    assert event.detail["is_staff"] == {"before": False, "after": True}


@pytest.mark.django_db
def test_a_password_changed_at_the_shell_is_audited_without_an_actor(lead_a):
    lead_a.set_password(NEW_PASSWORD)
    lead_a.save()

    (event,) = account_events()
    assert event.actor is None and event.actor_label == ""
    assert event.detail["changed"] == ["password"]


@pytest.mark.django_db
def test_a_superuser_created_at_the_shell_is_audited(db):
    User.objects.create_superuser("newroot", "newroot@example.org", NEW_PASSWORD)

    (event,) = account_events(creations=True)
    assert event.detail["created"] is True and event.detail["is_superuser"] is True


@pytest.mark.django_db
def test_the_hasher_upgrade_at_sign_in_is_not_a_password_change(client, settings, lead_a):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    client.post("/accounts/login/", {"username": "lead_a", "password": PASSWORD})

    lead_a.refresh_from_db()
    assert lead_a.password.startswith("pbkdf2_sha256$")  # upgraded...
    assert account_events() == []  # ...and not mistaken for a new password


@pytest.mark.django_db
def test_nothing_in_the_app_lets_a_non_superuser_change_a_superuser(organiser, root):
    token = signals.current_actor.set(organiser)
    try:
        root.set_password(NEW_PASSWORD)
        with pytest.raises(PermissionDenied):
            root.save()
        root.refresh_from_db()
        root.is_active = False
        with pytest.raises(PermissionDenied):
            root.save()
    finally:
        signals.current_actor.reset(token)
    root.refresh_from_db()
    assert root.is_active and root.check_password(PASSWORD)


@pytest.mark.django_db
def test_permission_changes_on_an_account_are_audited(client_for, root):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Readers")
    someone = UserFactory(username="someone")
    client = client_for(root)
    url = reverse("admin:auth_user_change", args=[someone.pk])
    data = user_form_data(client, url)
    data["groups"] = [str(group.pk)]

    assert client.post(url, data).status_code == 302

    (event,) = account_events()
    assert event.detail == {"changed": ["groups"], "groups": {"add": [group.pk]}}
