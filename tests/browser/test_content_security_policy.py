"""In a real browser (Chromium), the strict Content-Security-Policy blocks nothing Turnout
needs: the admin's own scripts (actions, the two-list district picker, date shortcuts),
the tick-off page's tap-to-set, and the "I have voted" page's self-posting form.

Unlike the journeys' ``strict_csp``, these pages keep the policy the product sends.
Screenshots: test-output/screenshots/csp-*.png.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaign.links import VOTED, signed_token
from tests.conftest import PASSWORD
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def browser_page(open_context):
    page = open_context("desktop").new_page()
    page.add_init_script(VIOLATION_LISTENER)
    console = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.csp_console = console
    return page


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_admin_works_under_the_policy(
    browser_page, live_server, screenshot, organiser, contact_a
):
    page, base = browser_page, live_server.url
    _sign_in(page, base, "organiser")

    page.goto(f"{base}{reverse('admin:contacts_contact_changelist')}")
    assert page.locator("#changelist").is_visible()
    page.check("input.action-select")  # actions.js counts the selection
    assert "1 of 1 selected" in page.locator(".action-counter").inner_text()
    screenshot(page, "csp-admin-changelist", "desktop")

    page.goto(f"{base}{reverse('admin:campaign_teammember_add')}")
    assert page.locator("#id_districts_from").count() == 1  # SelectFilter2 built the picker
    page.goto(f"{base}{reverse('admin:mailings_mailing_add')}")
    assert page.locator(".datetimeshortcuts").count() >= 1  # DateTimeShortcuts ran
    screenshot(page, "csp-admin-mailing-add", "desktop")

    assert _violations(page) == []


def test_tap_to_set_on_the_tick_off_page_runs_under_the_policy(
    browser_page, live_server, screenshot, lead_a, school_a, contact_a
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
    screenshot(page, "csp-tick-off", "desktop")
    assert _violations(page) == []


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
