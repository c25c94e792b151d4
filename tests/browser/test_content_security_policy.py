"""In a real browser (Chromium), the strict Content-Security-Policy blocks nothing Turnout
needs: the admin's own scripts (actions, the two-list district picker, date shortcuts),
the tick-off page's tap-to-set, and the "I have voted" page's self-posting form.

Screenshots go to var/screenshots/.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from campaign.links import VOTED, signed_token
from tests.conftest import PASSWORD
from tests.factories import CampaignFactory

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def browser_page(live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        page.add_init_script(VIOLATION_LISTENER)
        console = []
        page.on(
            "console",
            lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        page.csp_console = console
        yield page
        browser.close()


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_the_admin_works_under_the_policy(browser_page, live_server, organiser, contact_a):
    page, base = browser_page, live_server.url
    _sign_in(page, base, "organiser")

    page.goto(f"{base}{reverse('admin:contacts_contact_changelist')}")
    assert page.locator("#changelist").is_visible()
    page.check("input.action-select")  # actions.js counts the selection
    assert "1 of 1 selected" in page.locator(".action-counter").inner_text()
    page.screenshot(path=str(SHOTS / "csp-admin-changelist.png"), full_page=True)

    page.goto(f"{base}{reverse('admin:campaign_teammember_add')}")
    assert page.locator("#id_districts_from").count() == 1  # SelectFilter2 built the picker
    page.goto(f"{base}{reverse('admin:mailings_mailing_add')}")
    assert page.locator(".datetimeshortcuts").count() >= 1  # DateTimeShortcuts ran
    page.screenshot(path=str(SHOTS / "csp-admin-mailing-add.png"), full_page=True)

    assert _violations(page) == []


@pytest.mark.django_db(transaction=True)
def test_tap_to_set_on_the_tick_off_page_runs_under_the_policy(
    browser_page, live_server, lead_a, school_a, contact_a
):
    page, base = browser_page, live_server.url
    _sign_in(page, base, "lead_a")
    page.goto(f"{base}{reverse('canvass-tick', args=[school_a.pk])}")

    row = page.locator(f"#c{contact_a.pk}")
    row.locator("button[value=pledged]").click()
    # (A locator wait: page.wait_for_function would eval a string, which the CSP refuses.)
    expect(row).to_have_attribute("data-status", "pledged")

    assert row.locator(".state").inner_text() == "Pledged"
    assert page.url.endswith(f"/canvass/schools/{school_a.pk}/tick/")  # no reload
    page.screenshot(path=str(SHOTS / "csp-tick-off.png"), full_page=True)
    assert _violations(page) == []


@pytest.mark.django_db(transaction=True)
def test_the_voted_page_posts_itself_under_the_policy(browser_page, live_server, contact_a):
    now = timezone.now()
    CampaignFactory(ballot_opens=now - timedelta(days=1), ballot_closes=now + timedelta(days=1))
    page, base = browser_page, live_server.url
    token = signed_token(purpose=VOTED, value=contact_a.pk)

    page.goto(f"{base}/voted/{token}/")
    page.wait_for_selector("text=Thank you for voting")

    contact_a.refresh_from_db()
    assert contact_a.gotv_status == "voted"
    assert _violations(page) == []
