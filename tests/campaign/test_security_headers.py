"""Response headers: a strict Content-Security-Policy with nothing inline, framing only
for the two sandboxed email views, HSTS, no caching of anything with personal data, and a
/healthz that tells the public nothing but "ok"."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from campaign.security.middleware import NoStoreMiddleware
from mailings.services import mailing_create

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
}


def policy(response) -> dict[str, str]:
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives}


class InlineFinder(HTMLParser):
    """Everything a strict CSP would block: inline scripts, <style>, style="", on*=""."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self._in_script = True
        if tag == "style":
            self.found.append("<style>")
        for name in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def drive(volunteer, campaign, contact_a):
    return mailing_create(
        actor=volunteer,
        name="Week one",
        subject="{{ first_name }}, your ballot",
        body="Hello {{ first_name }}",
    )


@pytest.mark.django_db
def test_pages_carry_the_strict_policy(client_for, lead_a, contact_a):
    response = client_for(lead_a).get("/contacts/")

    got = policy(response)
    for directive, value in STRICT.items():
        assert got[directive] == value, directive
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_sign_in_page_carries_the_policy_too(client):
    assert policy(client.get("/accounts/login/"))["script-src"] == "'self'"


@pytest.mark.django_db
def test_the_drive_preview_frame_is_sandboxed_and_framed_only_by_us(
    client_for, volunteer, drive, contact_a
):
    response = client_for(volunteer).get(
        reverse("mailing-preview-html", args=[drive.pk]), {"contact": contact_a.pk}
    )

    got = policy(response)
    assert got["frame-ancestors"] == "'self'"
    assert "sandbox" in got and got["default-src"] == "'none'"
    assert "script-src" not in got  # falls back to default-src 'none'
    assert response["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.django_db
def test_the_outbox_frame_is_sandboxed_and_framed_only_by_us(
    client_for, organiser, settings, tmp_path
):
    from django.core.mail import EmailMultiAlternatives, get_connection

    settings.OUTBOX_DIR = tmp_path
    message = EmailMultiAlternatives(
        "Hi",
        "text",
        "a@example.org",
        ["b@example.org"],
        connection=get_connection("campaign.email.outbox.OutboxBackend", outbox_dir=tmp_path),
    )
    message.attach_alternative("<p>Hi</p>", "text/html")
    message.send()

    response = client_for(organiser).get(f"/outbox/{message.anymail_status.message_id}/html/")

    assert response.status_code == 200
    assert policy(response)["frame-ancestors"] == "'self'" and "sandbox" in policy(response)
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_no_template_has_inline_scripts_or_styles():
    offenders = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        found = inline_parts(path.read_text())
        if found:
            offenders[str(path.relative_to(TEMPLATES))] = found
    assert offenders == {}, "Move these to static files (the CSP blocks them)"


@pytest.mark.django_db
def test_rendered_pages_have_nothing_inline(
    client_for, organiser, lead_a, volunteer, school_a, contact_a, drive, district_a
):
    pages = [
        (lead_a, "/"),
        (lead_a, "/contacts/"),
        (lead_a, f"/contacts/{contact_a.pk}/"),
        (lead_a, reverse("canvass-tick", args=[school_a.pk])),
        (lead_a, reverse("canvass-district", args=[district_a.pk])),
        (volunteer, reverse("mailing-preview", args=[drive.pk])),
        (organiser, "/admin/"),
        (organiser, reverse("admin:contacts_contact_change", args=[contact_a.pk])),
        (organiser, reverse("admin:mailings_mailing_change", args=[drive.pk])),
        (organiser, reverse("admin:campaign_teammember_add")),
    ]
    for user, path in pages:
        response = client_for(user).get(path)
        assert response.status_code == 200, path
        assert inline_parts(response.content.decode()) == [], path


@pytest.mark.django_db
def test_hsts_is_sent_over_https_with_subdomains(client):
    response = client.get("/accounts/login/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/contacts/", "contact", "sheet"])
def test_pages_with_personal_data_are_never_cached(client_for, lead_a, contact_a, school_a, path):
    if path == "contact":
        path = f"/contacts/{contact_a.pk}/"
    if path == "sheet":
        path = reverse("canvass-sheet-xlsx", args=[school_a.pk])
    response = client_for(lead_a).get(path)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_csv_exports_are_never_cached(client_for, organiser, drive):
    response = client_for(organiser).get(
        reverse("admin:mailings_mailing_report_csv", args=[drive.pk])
    )

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]


def test_static_files_are_left_cacheable():
    def view(request):
        return HttpResponse("body{}", content_type="text/css")

    middleware = NoStoreMiddleware(view)
    static = middleware(RequestFactory().get("/static/campaign/site.css"))
    page = middleware(RequestFactory().get("/contacts/"))

    assert not static.has_header("Cache-Control")
    assert "no-store" in page["Cache-Control"]


@pytest.mark.django_db
def test_healthz_tells_the_public_only_that_it_is_alive(client, client_for, lead_a):
    for response in (client.get("/healthz"), client_for(lead_a).get("/healthz")):
        assert response.status_code == 200
        assert response.content == b"ok\n"
        assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_healthz_gives_organisers_the_details(client_for, organiser):
    from django.db import connection

    details = client_for(organiser).get("/healthz").json()

    assert details["ok"] is True
    assert details["database"] == connection.vendor
    assert "queue" in details and "consumer_seen_seconds_ago" in details


@pytest.mark.django_db
def test_healthz_details_wait_for_the_organisers_second_factor(client_for, organiser, settings):
    settings.REQUIRE_2FA_FOR_ORGANISERS = True

    response = client_for(organiser).get("/healthz")

    assert response.content == b"ok\n"
