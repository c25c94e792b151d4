"""Sign-in protection: lockouts (django-axes), demo logins refused without DEBUG, the
organisers' second factor (TOTP), and the idle and absolute session limits."""

import time

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaign.models import AuditEvent
from campaign.security import signals
from contacts.demo.seeding import DEMO_PASSWORD
from tests.conftest import PASSWORD
from tests.factories import UserFactory

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def sign_in(client, username, password, *, url=LOGIN, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def current_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():06d}"


# --- Lockouts -------------------------------------------------------------------------


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.mark.django_db
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, limit, lead_a):
    for _ in range(limit - 1):
        assert sign_in(client, "lead_a", "wrong").status_code == 200
    assert sign_in(client, "lead_a", "wrong").status_code == 429  # the last one allowed
    response = sign_in(client, "lead_a", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in locked" in body and "lead_a" in body
    assert "Try again in 30 minutes" in body
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client, limit, lead_a):
    for _ in range(limit - 1):
        sign_in(client, "lead_a", "wrong")
    response = sign_in(client, "lead_a", PASSWORD)

    assert response.status_code == 302
    assert signed_in_as(client) == str(lead_a.pk)


@pytest.mark.django_db
def test_the_admin_sign_in_is_locked_out_too(client, limit, organiser):
    for _ in range(limit):
        sign_in(client, "organiser", "wrong", url=ADMIN_LOGIN)
    response = sign_in(client, "organiser", PASSWORD, url=ADMIN_LOGIN)

    assert response.status_code == 429
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_a_lockout_is_per_username_and_address(client, limit, lead_a, lead_b):
    for _ in range(limit):
        sign_in(client, "lead_a", "wrong")

    # The same person from another address, and another person from this address.
    assert sign_in(client, "lead_a", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302
    client.logout()
    assert sign_in(client, "lead_b", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_the_client_is_the_address_the_proxy_added(
    client, settings, limit, lead_a
):
    settings.BEHIND_TLS_PROXY = True
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(limit):
        # The attacker varies what they send; the proxy appends the address it saw.
        sign_in(client, "lead_a", "wrong", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.7", **proxy)

    locked = sign_in(client, "lead_a", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert locked.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    # Another client behind the same proxy is not locked out.
    other = sign_in(client, "lead_a", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4", **proxy)
    assert other.status_code == 302


@pytest.mark.django_db
def test_an_organiser_lifts_a_lockout_in_the_admin_and_it_is_audited(
    client, client_for, limit, lead_a, organiser
):
    for _ in range(limit):
        sign_in(client, "lead_a", "wrong")
    attempt = AccessAttempt.objects.get(username="lead_a")

    admin = client_for(organiser)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "lead_a" in listing.content.decode()
    response = admin.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    admin.logout()

    assert sign_in(client, "lead_a", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_UNLOCK)
    assert event.actor == organiser and event.detail["username"] == "lead_a"


@pytest.mark.django_db
def test_leads_and_volunteers_cannot_see_or_lift_lockouts(client_for, lead_a, volunteer):
    for user in (lead_a, volunteer):
        response = client_for(user).get(reverse("admin:axes_accessattempt_changelist"))
        assert response.status_code == 403


# --- Demo logins ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_demo_logins_are_refused_when_debug_is_off(client, settings, url):
    settings.DEBUG = False
    UserFactory(username="admin", password=DEMO_PASSWORD, is_staff=True, is_superuser=True)

    response = sign_in(client, "admin", DEMO_PASSWORD, url=url)

    assert response.status_code == 200  # the sign-in form again, with its error
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_demo_logins_work_in_debug(client, settings):
    settings.DEBUG = True
    user = UserFactory(username="organiser", password=DEMO_PASSWORD)

    assert sign_in(client, "organiser", DEMO_PASSWORD).status_code == 302
    assert signed_in_as(client) == str(user.pk)


# --- Second factor ------------------------------------------------------------------------


@pytest.fixture
def two_factor(settings):
    settings.REQUIRE_2FA_FOR_ORGANISERS = True


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.mark.django_db
def test_an_organiser_without_a_device_is_sent_to_enrol(client, two_factor, organiser):
    sign_in(client, "organiser", PASSWORD)

    for path in ("/contacts/", "/admin/", "/outbox/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("otp-setup"))
    page = client.get(reverse("otp-setup"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in body  # the QR code
    device = TOTPDevice.objects.get(user=organiser, confirmed=False)
    assert page.context["secret"].replace(" ", "") in body.replace(" ", "")
    assert device.config_url.startswith("otpauth://totp/Turnout%3Aorganiser")


@pytest.mark.django_db
def test_enrolling_with_a_right_code_verifies_the_session_and_is_audited(
    client, two_factor, organiser
):
    sign_in(client, "organiser", PASSWORD)
    client.get(reverse("otp-setup"))
    device = TOTPDevice.objects.get(user=organiser)

    wrong = client.post(
        reverse("otp-setup"), {"token": "000000" if current_code(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()

    response = client.post(
        reverse("otp-setup"), {"token": current_code(device), "next": "/contacts/"}
    )

    assert response.status_code == 302 and response["Location"] == "/contacts/"
    assert client.get("/contacts/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    event = AuditEvent.objects.get(action=AuditEvent.Action.SECOND_FACTOR)
    assert event.actor == organiser and event.detail == {"enrolled": "Authenticator app"}


@pytest.mark.django_db
def test_an_enrolled_organiser_must_give_a_code_after_the_password(client, two_factor, organiser):
    device = enrolled(organiser)
    sign_in(client, "organiser", PASSWORD)

    blocked = client.get("/admin/")
    assert blocked.status_code == 302
    assert blocked["Location"].startswith(reverse("otp-verify"))
    # Enrolling a new phone needs the current one: a stolen password is not enough.
    assert client.get(reverse("otp-setup"))["Location"].startswith(reverse("otp-verify"))

    refused = client.post(reverse("otp-verify"), {"token": current_code(device, offset_steps=10)})
    assert refused.status_code == 200 and "not right" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()

    ok = client.post(reverse("otp-verify"), {"token": current_code(device), "next": "/admin/"})
    assert ok["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_code_cannot_be_used_twice(client, two_factor, organiser):
    device = enrolled(organiser)
    sign_in(client, "organiser", PASSWORD)
    code = current_code(device)
    client.post(reverse("otp-verify"), {"token": code})
    client.post(reverse("logout"))

    sign_in(client, "organiser", PASSWORD)
    again = client.post(reverse("otp-verify"), {"token": code})

    assert again.status_code == 200
    assert client.get("/contacts/").status_code == 302


@pytest.mark.django_db
def test_repeated_wrong_codes_are_throttled(client, two_factor, organiser):
    device = enrolled(organiser)
    sign_in(client, "organiser", PASSWORD)
    client.post(reverse("otp-verify"), {"token": current_code(device, offset_steps=20)})

    # Right code, but straight after a wrong one: refused until the back-off passes.
    response = client.post(reverse("otp-verify"), {"token": current_code(device)})

    assert "Too many wrong codes" in response.content.decode()
    assert client.get("/contacts/").status_code == 302


@pytest.mark.django_db
def test_next_after_the_code_never_leaves_the_site(client, two_factor, organiser):
    device = enrolled(organiser)
    sign_in(client, "organiser", PASSWORD)

    response = client.post(
        reverse("otp-verify"), {"token": current_code(device), "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


@pytest.mark.django_db
def test_leads_and_volunteers_need_no_second_factor(client, two_factor, lead_a, volunteer):
    for user in ("lead_a", "volunteer"):
        sign_in(client, user, PASSWORD)
        assert client.get("/contacts/").status_code == 200
        client.post(reverse("logout"))


@pytest.mark.django_db
def test_a_superuser_needs_the_second_factor_too(client, two_factor):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    sign_in(client, "root", PASSWORD)

    assert client.get("/admin/")["Location"].startswith(reverse("otp-setup"))


@pytest.mark.django_db
def test_with_the_setting_off_organisers_go_straight_in(client, settings, organiser):
    settings.REQUIRE_2FA_FOR_ORGANISERS = False
    sign_in(client, "organiser", PASSWORD)

    assert client.get("/contacts/").status_code == 200


@pytest.mark.django_db
def test_an_organiser_removes_a_lost_authenticator_and_it_is_audited(client_for, organiser):
    colleague = UserFactory(username="colleague")
    device = enrolled(colleague)

    response = client_for(organiser).post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.SECOND_FACTOR)
    assert event.target_id == str(colleague.pk) and event.detail == {"removed": "phone"}


@pytest.mark.django_db
def test_the_authenticator_admin_never_shows_the_secret(client_for, organiser):
    device = enrolled(UserFactory(username="colleague"))

    page = client_for(organiser).get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))

    assert page.status_code == 200
    assert device.key not in page.content.decode()


# --- Session limits ---------------------------------------------------------------------


def _age_session(client, **seconds_ago):
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


@pytest.mark.django_db
def test_a_session_idle_longer_than_the_limit_is_signed_out(client, settings, lead_a):
    settings.SESSION_IDLE_SECONDS = 600
    sign_in(client, "lead_a", PASSWORD)
    _age_session(client, **{signals.LAST_SEEN_AT: 601})

    response = client.get("/contacts/")

    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_activity_within_the_idle_limit_keeps_the_session(client, settings, lead_a):
    settings.SESSION_IDLE_SECONDS = 600
    sign_in(client, "lead_a", PASSWORD)
    _age_session(client, **{signals.LAST_SEEN_AT: 500})

    assert client.get("/contacts/").status_code == 200
    # The stamp moved on, so another 500 s later the session is still alive.
    assert time.time() - client.session[signals.LAST_SEEN_AT] < 5


@pytest.mark.django_db
def test_a_busy_session_still_ends_after_the_absolute_limit(client, settings, lead_a):
    settings.SESSION_COOKIE_AGE = 8 * 3600
    sign_in(client, "lead_a", PASSWORD)
    _age_session(client, **{signals.SIGNED_IN_AT: 8 * 3600 + 1, signals.LAST_SEEN_AT: 10})

    response = client.get("/contacts/")

    assert response.status_code == 302
    assert signed_in_as(client) is None
