"""Journey 4: every page reachable from each role's navigation, on a 390 px phone,
fits the screen (no sideways scrolling) and has no critical or serious axe-core
violations. The app's own pages (not the admin's) also run under the strict
Content-Security-Policy the product is moving to, with nothing refused."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED = {
    "organiser": ["Dashboard", "Supporters", "Drives", "Canvass", "Import", "Team", "Audit"],
    "volunteer": ["Dashboard", "Drives", "Supporters"],
    "lead_a": ["Dashboard", "My schools", "Supporters"],
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_in_the_navigation_fits_a_phone_and_passes_axe(
    request, signed_in, world, assert_accessible, assert_fits_width, strict_csp, role
):
    user = request.getfixturevalue(role)
    page = signed_in(user, "phone")
    violations = strict_csp(page)
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    links = nav.get_by_role("link")
    labels = [text.replace("in admin", "").strip() for text in links.all_text_contents()]
    assert labels == EXPECTED[role]
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for label, href in zip(labels, hrefs, strict=True):
        response = page.goto(href)
        assert response.status == 200, f"{role} → {label} ({href}): {response.status}"
        assert_fits_width(page)
        assert_accessible(page)
        if "/admin/" not in href:
            assert violations() == [], f"{role} → {label}: CSP refused {violations()}"
