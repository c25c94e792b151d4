"""Supporter pages in a real browser: search as you type (never in a URL), the
stacked-card list on a phone, the supporter page and a lead's edit."""

import pytest
from django.urls import reverse

from campaign.models import AuditEvent
from contacts.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_searching_by_email_updates_the_list_and_no_request_carries_the_address(
    signed_in,
    organiser,
    world,
    contact_a,
    screenshot,
    assert_accessible,
    assert_fits_width,
    strict_csp,
    viewport,
):
    page = signed_in(organiser, viewport)
    violations = strict_csp(page)
    urls = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(reverse("contact-list"))
    screenshot(page, "supporters", viewport)
    assert_fits_width(page)
    assert_accessible(page)

    with page.expect_response(lambda r: r.request.method == "POST" and "/contacts/" in r.url):
        page.get_by_role("searchbox", name="Search").fill(contact_a.email)
    summary = page.locator("#result-summary")
    summary.get_by_text("1 supporter matches").wait_for()
    rows = page.locator("#supporter-results tbody tr")
    assert rows.count() == 1
    assert "Siân O'Neill" in rows.first.inner_text()
    assert not any(contact_a.email in url or "sian.oneill" in url for url in urls)
    assert "sian" not in page.url
    screenshot(page, "supporters-search", viewport)
    assert_fits_width(page)
    assert_accessible(page)
    assert violations() == []


def test_the_list_pages_forward_by_post_on_a_phone(signed_in, organiser, world):
    page = signed_in(organiser, "phone")
    page.goto(reverse("contact-list"))
    total = Contact.objects.count()
    assert total > 50
    page.get_by_role("button", name="Next page").click()
    page.locator(".pager").get_by_text("Page 2 of").wait_for()
    assert page.url.endswith("/contacts/")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_supporter_page(
    signed_in, lead_a, world, contact_a, screenshot, assert_accessible, assert_fits_width, viewport
):
    page = signed_in(lead_a, viewport)
    page.goto(reverse("contact-detail", args=[contact_a.pk]))
    assert page.get_by_role("heading", level=1).inner_text() == "Siân O'Neill"
    assert page.get_by_role("region", name="Email consent").get_by_text("Current").count() == 1
    screenshot(page, "supporter", viewport)
    assert_fits_width(page)
    assert_accessible(page)


def test_a_lead_records_a_vote_and_a_phone_from_the_supporter_page_on_a_phone(
    signed_in, lead_a, world, contact_a, screenshot
):
    page = signed_in(lead_a, "phone")
    page.goto(reverse("contact-detail", args=[contact_a.pk]))
    page.get_by_label("GOTV status").select_option("voted")
    page.get_by_label("Mobile").fill("07700 900777")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("status").get_by_text("Saved: gotv status, mobile of Siân O'Neill.").wait_for()
    screenshot(page, "supporter-saved", "phone")
    contact_a.refresh_from_db()
    assert (contact_a.gotv_status, contact_a.mobile) == ("voted", "+447700900777")
    assert AuditEvent.objects.filter(action="contact_change", actor=lead_a).count() == 1
    history = page.get_by_role("region", name="GOTV history").inner_text()
    assert "Unknown → Voted" in history


def test_a_bad_phone_number_is_shown_beside_the_field(signed_in, lead_a, world, contact_a):
    page = signed_in(lead_a, "phone")
    page.goto(reverse("contact-detail", args=[contact_a.pk]))
    page.get_by_label("Mobile").fill("12345")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#id_mobile_errors")
    assert "is not a UK mobile number" in error.inner_text()
    assert page.get_by_label("Mobile").get_attribute("aria-invalid") == "true"
