"""The organiser's team and settings in a real browser: invite a district lead, who
sets a password from the emailed link, signs in and lands on their own dashboard;
change the ballot's close date and find the change, before and after, in the audit
trail."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from campaign.models import Campaign
from campaign.roles import Role, scope_for
from contacts.models import District

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "rain on the picket line 2026"


def test_an_organiser_invites_a_district_lead_who_sets_a_password_and_signs_in(
    signed_in,
    open_context,
    organiser,
    world,
    live_server,
    settings,
    screenshot,
    assert_accessible,
    assert_fits_width,
):
    settings.SITE_URL = live_server.url
    cardiff = District.objects.get(name="Cardiff")
    page = signed_in(organiser, "desktop")
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.wait_for_url("**/team/")
    page.get_by_label("Email address").fill("Rhian.Pritchard@example.org")
    page.get_by_label("Role").select_option("lead")
    page.get_by_label("Districts").select_option(label="Cardiff")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url("**/team/")
    assert "Invitation sent to rhian.pritchard@example.org" in page.inner_text("#messages")
    row = page.locator("tr", has_text="rhian.pritchard@example.org")
    assert "District lead" in row.inner_text() and "Invited" in row.inner_text()
    assert "Cardiff" in row.inner_text()
    screenshot(page, "team-invited", "desktop")
    assert_accessible(page)

    [message] = mail.outbox
    assert message.to == ["rhian.pritchard@example.org"]
    link = re.search(r"http://\S+/accounts/invitation/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)

    lead = open_context("phone").new_page()
    lead.goto(link)
    lead.get_by_label("New password", exact=True).fill(PASSWORD)
    lead.get_by_label("New password confirmation").fill(PASSWORD)
    screenshot(lead, "invitation-set-password", "phone")
    assert_accessible(lead)
    assert_fits_width(lead)
    lead.get_by_role("button", name="Set my password").click()
    lead.wait_for_url("**/accounts/login/**")
    assert "Your password is set" in lead.inner_text("#messages")

    lead.get_by_label("Username").fill("rhian.pritchard@example.org")
    lead.get_by_label("Password").fill(PASSWORD)
    lead.get_by_role("button", name="Sign in").click()
    lead.wait_for_url(lambda url: url.rstrip("/") == live_server.url)
    schools = lead.get_by_role("region", name="Your schools")
    assert "Oakfield Academy" in schools.inner_text()
    main = lead.locator("main").inner_text()
    assert "Alder Primary School" not in main and "Birch Academy" not in main
    nav = lead.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert [label.strip() for label in nav] == ["Dashboard", "My schools", "Supporters"]
    screenshot(lead, "invited-lead-dashboard", "phone")
    assert_fits_width(lead)

    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="rhian.pritchard@example.org")
    scope = scope_for(user)
    assert scope.role == Role.LEAD and scope.district_ids == frozenset({cardiff.pk})

    # The link worked once.
    again = open_context("desktop").new_page()
    response = again.goto(link)
    assert response.status == 410 and "already been used" in again.inner_text("main")


def test_an_organiser_changes_the_ballot_close_date_and_the_audit_trail_shows_it(
    signed_in, organiser, world, screenshot, assert_accessible, assert_fits_width
):
    campaign = Campaign.objects.get(is_active=True)
    before = timezone.localtime(campaign.ballot_closes)
    after = (before + timezone.timedelta(days=3)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    page = signed_in(organiser, "desktop")
    page.goto("/team/")
    page.get_by_role("link", name="Campaign settings").click()
    page.wait_for_url("**/settings/")
    # A close before the opening is refused beside the field.
    page.get_by_label("Ballot closes").fill("2020-01-01T09:00")
    page.get_by_role("button", name="Save the settings").click()
    assert "The ballot must close after it opens." in page.inner_text("main")
    page.get_by_label("Ballot closes").fill(after.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save the settings").click()
    page.wait_for_url("**/settings/")
    assert "Campaign settings saved." in page.inner_text("#messages")
    campaign.refresh_from_db()
    assert timezone.localtime(campaign.ballot_closes) == after

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    page.wait_for_url("**/audit/")
    page.get_by_label("What").select_option("campaign_change")
    page.get_by_role("button", name="Filter").click()
    sentence = page.locator(".audit-sentence").first.inner_text()
    assert sentence == (
        f"organiser changed the campaign settings of {campaign.name}: ballot closes from "
        f"{before:%-d %b %Y %H:%M} to {after:%-d %b %Y %H:%M}"
    )
    screenshot(page, "audit-ballot-change", "desktop")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
