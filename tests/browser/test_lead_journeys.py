"""A district lead's GOTV work in a real browser, on a phone: print a school's sheet,
chase supporters, and keep tapping results with no connection."""

import json
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.models import GotvTap
from contacts.models import Contact, GotvEvent
from tests.factories import CampaignFactory, ConsentedContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def open_ballot(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=3), ballot_closes=now + timedelta(days=21)
    )


@pytest.fixture
def lead_school(school_a, contact_a):
    """Alder Primary: Siân (unknown) and five more, two of them pledged."""
    people = [
        ("Priya", "Shah", Contact.Gotv.PLEDGED),
        ("Ewan", "MacLeod", Contact.Gotv.PLEDGED),
        ("Grace", "Adeyemi", Contact.Gotv.UNKNOWN),
        ("Tom", "Baker", Contact.Gotv.UNKNOWN),
        ("Ana", "Costa", Contact.Gotv.UNKNOWN),
    ]
    for first, last, status in people:
        ConsentedContactFactory(
            school=school_a, first_name=first, last_name=last, gotv_status=status
        )
    return school_a


def pdf_text(path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed: see .ci/system-deps"
    return subprocess.run(  # noqa: S603 - our own file, a fixed program
        [pdftotext, "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def not_yet_voted(page) -> int:
    """The "not yet voted" figure on My schools."""
    return int(page.locator("#not-voted").inner_text())


def dashboard_not_yet_voted(page, school: str) -> int:
    """The lead dashboard's "Not yet voted" figure for ``school``."""
    row = page.locator("tr", has_text=school)
    return int(row.locator('td[data-label="Not yet voted"]').inner_text())


def test_a_lead_prints_a_school_sheet_and_chases_two_supporters_to_voted_on_a_phone(
    signed_in,
    lead_a,
    open_ballot,
    lead_school,
    contact_b,
    tmp_path,
    screenshot,
    assert_accessible,
    assert_fits_width,
):
    page = signed_in(lead_a, "phone")
    page.goto("/")
    on_dashboard = dashboard_not_yet_voted(page, "Alder Primary School")
    assert on_dashboard == 6
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My schools").click()
    page.wait_for_url("**/canvass/my-schools/")
    before = not_yet_voted(page)
    assert before == 6
    card = page.locator(".school-card", has_text="Alder Primary School")
    screenshot(page, "lead-my-schools", "phone")
    assert_accessible(page)
    assert_fits_width(page)

    with page.expect_download() as download:
        card.get_by_role("link", name="Sheet (PDF)").click()
    sheet = tmp_path / "sheet.pdf"
    download.value.save_as(sheet)
    text = pdf_text(sheet)
    for name in ("O'Neill, Siân", "Shah, Priya", "MacLeod, Ewan", "Adeyemi, Grace"):
        assert name in text
    assert "Nowak" not in text and "Tomasz" not in text  # District B's supporter

    page.goto("/canvass/chase/")
    rows = page.locator(".chase-list > li:visible")
    assert rows.count() == 6
    # Pledged first.
    assert rows.nth(0).locator(".name").inner_text() in ("MacLeod, Ewan", "Shah, Priya")
    screenshot(page, "lead-chase-list", "phone")
    assert_accessible(page)
    assert_fits_width(page)
    for name in ("Shah, Priya", "Adeyemi, Grace"):
        row = page.locator(".chase-list > li", has_text=name)
        row.get_by_role("button", name="Voted").click()
        row.wait_for(state="hidden")
    page.locator("#tap-queue").wait_for(state="hidden")
    assert page.locator("#chase-count").inner_text() == "4"

    page.reload()
    names = page.locator(".chase-list .name").all_inner_texts()
    assert len(names) == 4 and "Shah, Priya" not in names and "Adeyemi, Grace" not in names
    assert set(
        Contact.objects.filter(gotv_status=Contact.Gotv.VOTED).values_list("last_name", flat=True)
    ) == {"Shah", "Adeyemi"}

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My schools").click()
    page.wait_for_url("**/canvass/my-schools/")
    assert not_yet_voted(page) == before - 2
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    assert dashboard_not_yet_voted(page, "Alder Primary School") == on_dashboard - 2
    screenshot(page, "lead-dashboard-after-chase", "phone")


def test_taps_made_offline_wait_on_the_phone_and_are_applied_exactly_once(
    signed_in, lead_a, open_ballot, lead_school, screenshot, assert_accessible, assert_fits_width
):
    page = signed_in(lead_a, "phone")
    page.goto(f"/canvass/schools/{lead_school.pk}/tick/")
    screenshot(page, "lead-tick-off", "phone")
    assert_accessible(page)
    assert_fits_width(page)

    page.context.set_offline(True)
    taps = [("Baker, Tom", "Pledged"), ("Costa, Ana", "Voted"), ("O'Neill, Siân", "Won't vote")]
    for name, result in taps:
        row = page.locator(".tick-list > li", has_text=name)
        row.get_by_role("button", name=result, exact=True).click()
    queue = page.locator("#tap-queue")
    assert queue.inner_text().startswith("3 changes waiting to be sent")
    screenshot(page, "lead-tick-off-offline", "phone")
    stored = json.loads(
        page.evaluate("() => JSON.stringify(localStorage.getItem(Object.keys(localStorage)[0]))")
    )
    waiting = json.loads(stored)
    assert len(waiting) == 3 and len({item["key"] for item in waiting}) == 3
    assert GotvTap.objects.count() == 0  # nothing reached the server

    page.context.set_offline(False)
    queue.wait_for(state="hidden", timeout=20_000)
    assert GotvTap.objects.count() == 3
    assert GotvEvent.objects.count() == 3
    assert dict(
        Contact.objects.filter(school=lead_school).values_list("last_name", "gotv_status")
    ) == {
        "O'Neill": "wont_vote",
        "Shah": "pledged",
        "MacLeod": "pledged",
        "Adeyemi": "unknown",
        "Baker": "pledged",
        "Costa": "voted",
    }
    assert page.locator("#voted-count").inner_text() == "1"

    # The phone sends its queue again (a lost answer, a second tab): nothing doubles.
    statuses = page.evaluate(
        """async (items) => {
          const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
          const out = [];
          for (const item of items) {
            const body = new FormData();
            body.set("key", item.key); body.set("result", item.result);
            body.set("csrfmiddlewaretoken", token);
            const r = await fetch(item.url, {method: "POST", body,
              headers: {"Accept": "application/json", "X-CSRFToken": token}});
            out.push((await r.json()).replayed);
          }
          return out;
        }""",
        waiting,
    )
    assert statuses == [True, True, True]
    assert GotvTap.objects.count() == 3 and GotvEvent.objects.count() == 3

    page.reload()
    screenshot(page, "lead-tick-off-synced", "phone")


def test_set_all_ticked_offline_waits_on_the_phone_and_applies_each_supporter_once(
    signed_in, lead_a, open_ballot, lead_school, screenshot
):
    page = signed_in(lead_a, "phone")
    page.goto(f"/canvass/schools/{lead_school.pk}/tick/")
    page.context.set_offline(True)
    for name in ("Shah, Priya", "MacLeod, Ewan"):
        page.locator(".tick-list > li", has_text=name).get_by_role("checkbox").check()
    page.locator("#bulk-status").select_option("voted")
    page.get_by_role("button", name="Set all ticked").click()
    queue = page.locator("#tap-queue")
    assert queue.inner_text().startswith("2 changes waiting to be sent")
    assert page.url.endswith("/tick/")  # no page load: the form did not post offline
    screenshot(page, "lead-tick-off-bulk-offline", "phone")
    assert GotvTap.objects.count() == 0

    page.context.set_offline(False)
    queue.wait_for(state="hidden", timeout=20_000)
    assert GotvTap.objects.count() == 2 and GotvEvent.objects.count() == 2
    voted = Contact.objects.filter(school=lead_school, gotv_status=Contact.Gotv.VOTED)
    assert sorted(voted.values_list("last_name", flat=True)) == ["MacLeod", "Shah"]
    assert page.locator("#voted-count").inner_text() == "2"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_my_schools_chase_list_and_tick_off_screenshots(
    signed_in, lead_a, open_ballot, lead_school, screenshot, assert_fits_width, viewport
):
    page = signed_in(lead_a, viewport)
    for path, name in (
        ("/canvass/my-schools/", "lead-my-schools"),
        ("/canvass/chase/", "lead-chase-list"),
        (f"/canvass/schools/{lead_school.pk}/tick/", "lead-tick-off"),
    ):
        page.goto(path)
        assert_fits_width(page)
        screenshot(page, name, viewport)


def test_before_the_ballot_opens_voted_is_disabled_with_the_reason_beside_it(
    signed_in, lead_a, campaign, lead_school, screenshot
):
    page = signed_in(lead_a, "phone")
    page.goto("/canvass/chase/")
    row = page.locator(".chase-list > li", has_text="Baker, Tom")
    assert row.get_by_role("button", name="Voted").is_disabled()
    assert row.get_by_role("button", name="Pledged").is_enabled()
    assert "once voting opens on" in page.locator("#why-voted").inner_text()
    screenshot(page, "lead-chase-before-ballot", "phone")


def test_another_districts_chase_list_my_schools_and_no_school_sheet_are_branded_404s(
    signed_in, lead_a, district_b, school_b, contact_b, open_ballot
):
    page = signed_in(lead_a, "phone")
    for path in (
        f"/canvass/chase/?district={district_b.pk}",
        f"/canvass/chase/?school={school_b.pk}",
        f"/canvass/my-schools/?district={district_b.pk}",
        f"/canvass/districts/{district_b.pk}/no-school.pdf",
    ):
        response = page.goto(path)
        assert response.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "We can't find that page"
        assert "Nowak" not in page.content()


def test_a_pack_page_shows_progress_and_the_download_button_once_built(
    signed_in, lead_a, district_a, lead_school, open_ballot, settings, tmp_path, screenshot
):
    from campaign.canvass.services import canvass_pack_build
    from campaign.models import CanvassPack

    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 1
    pack = CanvassPack.objects.create(district=district_a, requested_by=lead_a)
    page = signed_in(lead_a, "phone")
    page.goto(f"/canvass/packs/{pack.pk}/")
    assert page.locator("#pack-bar").get_attribute("value") == "0"
    screenshot(page, "lead-pack-building", "phone")

    canvass_pack_build(pack_id=pack.pk)  # the queue's worker, here

    download = page.get_by_role("link", name="Download the PDF")
    download.wait_for(timeout=10_000)  # htmx polled the partial in; no reload
    assert page.locator("#pack-bar").count() == 0
    screenshot(page, "lead-pack-ready", "phone")


def test_a_tap_the_server_refuses_is_explained_next_to_the_supporter_not_in_an_alert(
    signed_in, lead_a, open_ballot, lead_school
):
    page = signed_in(lead_a, "phone")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/canvass/chase/")
    # Meanwhile an organiser withdraws Tom Baker's consent: he is no longer printable.
    Contact.objects.get(last_name="Baker").consents.update(
        withdrawn_at=timezone.now(), withdrawn_how="unsubscribe_link"
    )

    row = page.locator(".chase-list > li", has_text="Baker, Tom")
    row.get_by_role("button", name="Pledged").click()

    error = row.get_by_role("alert")
    error.wait_for()
    assert "no longer on your list" in error.inner_text()
    page.locator("#tap-queue").wait_for(state="hidden")  # not retried forever
    assert not dialogs and not GotvTap.objects.exists()
