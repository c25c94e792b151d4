"""The app shell in a real browser: signing in, the branded error pages."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_lead_signs_in_with_the_form_and_lands_on_the_dashboard(
    open_context, lead_a, campaign, screenshot, assert_accessible, assert_fits_width, viewport
):
    page = open_context(viewport).new_page()
    page.goto("/")
    assert "/accounts/login/" in page.url
    screenshot(page, "sign-in", viewport)
    assert_accessible(page)
    assert_fits_width(page)

    page.get_by_label("Username").fill("lead_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    assert page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts() == [
        "Dashboard",
        "My schools",
        "Supporters",
    ]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_role("status").inner_text().strip() == "You are signed out."


def test_a_wrong_password_is_explained_beside_the_form(open_context, lead_a):
    page = open_context("phone").new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("lead_a")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")


def test_an_unknown_address_gets_the_branded_404_without_the_url_list(
    signed_in, organiser, screenshot, assert_accessible, assert_fits_width
):
    page = signed_in(organiser, "phone")
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "We can't find that page"
    assert "urlpatterns" not in page.content() and "admin/" not in page.inner_text("main")
    screenshot(page, "not-found", "phone")
    assert_accessible(page)
    assert_fits_width(page)
