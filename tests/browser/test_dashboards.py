"""Each role's dashboard in a real browser, desktop and phone: it fits, it passes axe,
and it shows that role's next steps. Screenshots: test-output/screenshots/."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = ["desktop", "phone"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_organiser_dashboard(
    signed_in,
    organiser,
    world,
    screenshot,
    assert_accessible,
    assert_fits_width,
    strict_csp,
    viewport,
):
    page = signed_in(organiser, viewport)
    violations = strict_csp(page)
    page.goto("/")
    main = page.locator("main")
    assert (
        "Union-wide reminder"
        in main.get_by_role("region", name="Waiting for your approval").inner_text()
    )
    sending = main.get_by_role("region", name="Sending now")
    assert sending.locator("progress").count() == 1
    assert (
        "conference-signups-2026.xlsx"
        in main.get_by_role("region", name="Recent imports").inner_text()
    )
    assert (
        "Last week: post your ballot"
        in main.get_by_role("region", name="Unknown rows to review").inner_text()
    )
    assert page.locator("svg.chart rect.chart__bar").count() == 12
    screenshot(page, "dashboard-organiser", viewport)
    assert_fits_width(page)
    assert_accessible(page)
    # The sending panel refreshes itself (htmx, every 5 s) under the strict CSP.
    with page.expect_response(lambda r: "panel=sending" in r.url, timeout=12_000):
        pass
    assert sending.locator("progress").count() == 1
    assert violations() == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_volunteer_dashboard(
    signed_in, volunteer, world, screenshot, assert_accessible, assert_fits_width, viewport
):
    page = signed_in(volunteer, viewport)
    page.goto("/")
    drives = page.get_by_role("region", name="Your drives")
    assert drives.get_by_text("Awaiting approval").count() == 1
    assert drives.get_by_role("link", name="New drive").count() == 1
    # District A is the volunteer's: highlighted on the chart.
    assert page.locator("svg.chart rect.chart__bar--mine").count() == 1
    screenshot(page, "dashboard-volunteer", viewport)
    assert_fits_width(page)
    assert_accessible(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_lead_dashboard(
    signed_in, lead_a, world, screenshot, assert_accessible, assert_fits_width, viewport
):
    page = signed_in(lead_a, viewport)
    page.goto("/")
    chase = page.get_by_role("region", name="Chase next")
    badges = chase.locator(".badge").all_inner_texts()
    assert badges and badges[0] == "Pledged"
    schools = page.get_by_role("region", name="Your schools")
    assert "Alder Primary School" in schools.inner_text()
    assert "Birch Academy" not in page.locator("main").inner_text()
    screenshot(page, "dashboard-lead", viewport)
    assert_fits_width(page)
    assert_accessible(page)


def test_approving_from_the_dashboard_shows_the_outcome(signed_in, organiser, world):
    page = signed_in(organiser, "phone")
    page.goto("/")
    region = page.get_by_role("region", name="Waiting for your approval")
    region.get_by_role("button", name="Approve Union-wide reminder").click()
    page.wait_for_load_state()
    assert "Approved" in page.get_by_role("status").inner_text()
    assert (
        "No drive is waiting for approval."
        in page.get_by_role("region", name="Waiting for your approval").inner_text()
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_lead_in_a_union_of_150_districts_finds_their_district_on_the_chart(
    signed_in,
    lead_a,
    district_a,
    school_a,
    screenshot,
    assert_accessible,
    assert_fits_width,
    viewport,
):
    from contacts.aggregates import tally_rebuild
    from contacts.models import Contact, District
    from contacts.suppression import address_hash

    districts = District.objects.bulk_create(
        District(name=f"Union district {n:03d}") for n in range(149)
    )
    contacts = []
    for n, district in enumerate([district_a, *districts]):
        for k in range(5):
            email = f"u{n}-{k}@example.org"
            contacts.append(
                Contact(
                    first_name="Union",
                    last_name=f"Member {n}-{k}",
                    email=email,
                    email_hash=address_hash(email),
                    district=district,
                    school=school_a if district == district_a else None,
                    gotv_status="voted" if k < (n % 5) else "unknown",
                )
            )
    Contact.objects.bulk_create(contacts)
    tally_rebuild()  # bulk inserts send no signals: recount, as the nightly task would
    page = signed_in(lead_a, viewport)
    page.goto("/")
    assert page.locator("svg.chart rect.chart__bar").count() == 150
    assert page.locator("svg.chart rect.chart__bar--mine").count() == 1
    # 30 districts share 0% turnout; ties go by name, so District A is the first of them.
    assert "District A 0% (121st of 150)" in page.locator("figcaption").inner_text()
    screenshot(page, "dashboard-lead-union", viewport)
    assert_fits_width(page)
    assert_accessible(page)
