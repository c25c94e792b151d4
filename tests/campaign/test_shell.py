"""The app shell: branded error pages (also with DEBUG on), sign-in and password
reset by email, per-role navigation, and no inline script or style anywhere."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


# --- Error pages --------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_an_unknown_address_gets_the_branded_404_without_the_url_list(
    client_for, organiser, settings, debug
):
    settings.DEBUG = debug
    response = client_for(organiser).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can't find that page" in page
    # Django's debug 404 lists every pattern, e.g. "u/<str:token>/" and "anymail/".
    assert "URLconf" not in page and "&lt;str:token&gt;" not in page and "anymail/" not in page
    assert "Go to your dashboard" in page


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_another_districts_supporter_gets_the_branded_404(
    client_for, lead_a, contact_b, settings, debug
):
    settings.DEBUG = debug
    response = client_for(lead_a).get(reverse("contact-detail", args=[contact_b.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can't find that page" in page
    assert "Traceback" not in page and "No Contact matches" not in page
    assert contact_b.last_name not in page


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_a_role_without_permission_gets_the_branded_403(client_for, volunteer, settings, debug):
    settings.DEBUG = debug
    response = client_for(volunteer).get(reverse("canvass-home"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You can't do that with your role" in page
    assert "Your role cannot canvass." in page
    assert "Traceback" not in page


def test_the_500_page_is_branded_and_needs_no_database(rf):
    from campaign.errors import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page


def test_a_crash_with_debug_off_shows_the_branded_500(organiser, settings, monkeypatch):
    import campaign.views

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(campaign.views.selectors, "district_turnout", boom)
    client = Client(raise_request_exception=False)
    client.force_login(organiser)
    response = client.get(reverse("home"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "database on fire" not in page


def test_a_view_that_returns_its_own_404_page_keeps_it_with_debug_on(client, settings):
    """Only Django's debug page is replaced, not a product page that answers 404."""
    settings.DEBUG = True
    response = client.get(reverse("unsubscribe", args=["not-a-token"]))
    assert response.status_code == 404
    assert "We can't find that page" not in response.content.decode()


# --- Signing in and out, passwords ---------------------------------------------------------


def test_sign_in_page_is_in_the_products_style(client):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in to Turnout" in page
    assert 'for="id_username"' in page and 'for="id_password"' in page
    assert reverse("password_reset") in page


def test_signing_out_says_so(client_for, lead_a):
    client = client_for(lead_a)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You are signed out." in response.content.decode()


def test_password_reset_by_email_from_request_to_new_password(client, lead_a):
    lead_a.email = "lead.a@example.org"
    lead_a.save()
    response = client.post(reverse("password_reset"), {"email": "lead.a@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lead.a@example.org"]
    assert message.subject == "Choose a new Turnout password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    confirm = client.get(link, follow=True)
    assert "Choose a new password" in confirm.content.decode()
    set_url = confirm.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "a brand new passphrase 7", "new_password2": "a brand new passphrase 7"},
        follow=True,
    )
    assert "Your password is changed" in done.content.decode()
    lead_a.refresh_from_db()
    assert lead_a.check_password("a brand new passphrase 7")
    # The link works once.
    again = client.get(link, follow=True)
    assert "has already been used or has expired" in again.content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_password_reset_goes_through_the_outbox_backend(client, lead_a, settings, tmp_path):
    settings.EMAIL_BACKEND = "campaign.email.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    client.post(reverse("password_reset"), {"email": lead_a.email})
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert stored, "the outbox holds the reset email"
    assert any("/accounts/reset/" in path.read_text(errors="ignore") for path in stored)


def test_password_change_returns_to_the_dashboard_with_a_message(client_for, lead_a):
    client = client_for(lead_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase 9",
            "new_password2": "another long passphrase 9",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Your password is changed." in response.content.decode()


def test_password_change_errors_appear_beside_the_field(client_for, lead_a):
    response = client_for(lead_a).post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    page = response.content.decode()
    assert 'id="id_old_password_errors"' in page


# --- Navigation ---------------------------------------------------------------------------


def _nav(response) -> list[tuple[str, bool]]:
    return [(link.label, link.in_admin) for link in response.context["navigation"]]


def test_each_role_gets_its_own_navigation(client_for, organiser, volunteer, lead_a):
    assert _nav(client_for(organiser).get(reverse("home"))) == [
        ("Dashboard", False),
        ("Supporters", False),
        ("Drives", False),
        ("Canvass", False),
        ("Import", False),
        ("Team", False),
        ("Audit", False),
    ]
    assert _nav(client_for(volunteer).get(reverse("home"))) == [
        ("Dashboard", False),
        ("Drives", False),
        ("Supporters", False),
    ]
    assert _nav(client_for(lead_a).get(reverse("home"))) == [
        ("Dashboard", False),
        ("My schools", False),
        ("Supporters", False),
    ]


def test_the_import_pages_mark_import_not_supporters_as_current(client_for, organiser):
    response = client_for(organiser).get(reverse("import-list"))
    assert [link.label for link in response.context["navigation"] if link.current] == ["Import"]


def test_the_current_page_is_marked_in_the_navigation(client_for, lead_a, contact_a):
    response = client_for(lead_a).get(reverse("contact-detail", args=[contact_a.pk]))
    current = [link.label for link in response.context["navigation"] if link.current]
    assert current == ["Supporters"]
    assert 'aria-current="page"' in response.content.decode()


def test_every_page_has_a_skip_link_and_a_live_message_region(client_for, lead_a):
    page = client_for(lead_a).get(reverse("home")).content.decode()
    assert '<a class="skip-link" href="#main">' in page
    assert 'id="main"' in page
    assert 'role="status" aria-live="polite"' in page


# --- Nothing inline (the coming Content-Security-Policy: script-src/style-src 'self') -----

OWN_TEMPLATES = [
    "base.html",
    "403.html",
    "404.html",
    "500.html",
    "errors",
    "registration",
    "campaign",
    "admin",
    "contacts/contact_list.html",
    "contacts/contact_detail.html",
    "contacts/school_detail.html",
    "contacts/partials",
]


def _own_template_files():
    for name in OWN_TEMPLATES:
        path = TEMPLATES / name
        yield from sorted(path.rglob("*.html")) if path.is_dir() else [path]


@pytest.mark.parametrize("path", list(_own_template_files()), ids=lambda p: p.name)
def test_no_inline_script_style_or_handler_in_the_apps_templates(path):
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text, "inline <style>"
    assert not re.search(r"\sstyle=", text), 'style="" attribute'
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    assert "hx-on" not in text, "hx-on needs eval"


def test_htmx_is_served_from_our_static_files(client_for, lead_a):
    page = client_for(lead_a).get(reverse("home")).content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and all(
        src.startswith(settings.STATIC_URL) or src.startswith("/static/") for src in sources
    )
    assert any("vendor/htmx/htmx-2" in src for src in sources)
    assert (
        Path(settings.BASE_DIR) / "campaign/static/vendor/htmx/htmx-2.0.11.min.js"
    ).stat().st_size > 40_000
