"""Journey 3: the lead of district A asks for district B's pages by address and gets
the branded 404 every time, never the page, never Django's debug page.

Pages covered: school page, supporter page, sheet PDF and XLSX, tick-off, upload,
district page, pack page and pack download. The chase list is added by the GOTV
workspace (its URL is not in this branch yet)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True)


def _district_b_pages(world, school_b, contact_b, district_b):
    pack = world["pack_b"]
    return {
        "school page": reverse("school-detail", args=[school_b.pk]),
        "supporter page": reverse("contact-detail", args=[contact_b.pk]),
        "sheet PDF": reverse("canvass-sheet-pdf", args=[school_b.pk]),
        "sheet XLSX": reverse("canvass-sheet-xlsx", args=[school_b.pk]),
        "tick-off": reverse("canvass-tick", args=[school_b.pk]),
        "sheet upload": reverse("canvass-upload", args=[school_b.pk]),
        "district page": reverse("canvass-district", args=[district_b.pk]),
        "pack": reverse("canvass-pack", args=[pack.pk]),
        "pack download": reverse("canvass-pack-download", args=[pack.pk]),
    }


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_lead_of_district_a_gets_the_branded_404_for_district_b(
    signed_in, lead_a, world, school_b, contact_b, district_b, settings, screenshot, debug
):
    settings.DEBUG = debug
    page = signed_in(lead_a, "phone")
    for what, url in _district_b_pages(world, school_b, contact_b, district_b).items():
        response = page.goto(url)
        assert response.status == 404, f"{what} {url}: {response.status}"
        assert page.get_by_role("heading", level=1).inner_text() == "We can't find that page", what
        text = page.inner_text("body")
        assert contact_b.last_name not in text and school_b.name not in text, what
        assert "Traceback" not in page.content() and "URLconf" not in page.content(), what
    screenshot(page, "district-b-refused-lead-a", "phone")


def test_the_same_pages_open_for_district_bs_own_lead(
    signed_in, lead_b, world, school_b, contact_b, district_b
):
    """The addresses above are real pages: the 404 is the scope, not a broken URL."""
    page = signed_in(lead_b, "desktop")
    pages = _district_b_pages(world, school_b, contact_b, district_b)
    for what in ("school page", "supporter page", "tick-off", "district page", "pack"):
        response = page.goto(pages[what])
        assert response.status == 200, f"{what}: {response.status}"
