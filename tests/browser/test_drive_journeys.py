"""Email drives in a real browser, desktop and phone, sent by a real queue consumer
(tests/browser/consumer.py) into the embedded outbox: compose, target, preview, test,
confirm, watch it go; approval; pause and resume; the outbox itself.
Screenshots: test-output/screenshots/drive-*.png."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from campaign.models import TeamMember
from campaign.roles import forget_scope
from contacts.models import Contact, District
from mailings.models import Mailing, Recipient
from mailings.selectors import AudienceFilters, audience_breakdown_for
from mailings.services import mailing_create, mailing_start
from mailings.services.sending import chunk_sizer
from tests.browser.consumer import ThreadConsumer
from tests.factories import ConsentedContactFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = ["desktop", "phone"]
NOT_YET_VOTED = ("unknown", "pledged", "ballot_received")


@pytest.fixture
def outbox_sending(settings, tmp_path):
    """Drives go through the embedded outbox ("ESP"), two recipients per batch task, so
    a drive takes a few seconds to watch."""
    settings.EMAIL_BACKEND = "campaign.email.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.EMAIL_SEND_RATE = 1000.0
    settings.MAILING_BATCH_SIZE = 2
    settings.MAILING_CHUNK_SECONDS = 1.0
    chunk_sizer.seconds.clear()
    return settings


@pytest.fixture
def consumer(live_server):
    made = []

    def start(pause: float = 0.3) -> ThreadConsumer:
        worker = ThreadConsumer(live_server, pause=pause).start()
        made.append(worker)
        return worker

    yield start
    for worker in made:
        worker.stop()


def no_reload_marker(page) -> None:
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def outbox_file_for(address: str) -> str:
    for path in sorted((django_settings.OUTBOX_DIR).glob("*.eml")):
        text = path.read_text(errors="replace")
        if f"To: {address}" in text or f"<{address}>" in text:
            return path.stem.split("-", 1)[1]
    raise AssertionError(f"no message to {address} in the outbox")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_volunteer_composes_previews_tests_and_sends_a_drive(
    signed_in,
    volunteer,
    organiser,
    world,
    outbox_sending,
    consumer,
    screenshot,
    strict_csp,
    assert_fits_width,
    district_a,
    school_a,
    viewport,
):
    cardiff = District.objects.get(name="Cardiff")
    TeamMember.objects.get(user=volunteer).districts.add(cardiff)
    forget_scope(volunteer)
    eluned = ConsentedContactFactory(
        first_name="Eluned", last_name="Ap-Rhys Ó Dálaigh", school=school_a, gotv_status="pledged"
    )
    one = audience_breakdown_for(
        user=volunteer,
        filters=AudienceFilters(district_ids=(district_a.pk,), gotv_statuses=NOT_YET_VOTED),
    )["mailable"]
    both = audience_breakdown_for(
        user=volunteer,
        filters=AudienceFilters(
            district_ids=(district_a.pk, cardiff.pk), gotv_statuses=NOT_YET_VOTED
        ),
    )["mailable"]
    assert 0 < one < both
    page = signed_in(volunteer, viewport)
    organiser_page = signed_in(organiser, viewport)
    worker = consumer()
    violations = strict_csp(page)

    page.goto("/drives/")
    page.get_by_role("link", name="New drive").click()
    page.get_by_label("Name", exact=True).fill("Pledged but not posted: last push")
    page.get_by_label("Subject", exact=True).fill("{{ frist_name }}, have you posted your ballot?")
    page.get_by_label("Body", exact=True).fill(
        "Dear {{ first_name }},\n\nThe ballot closes **{{ ballot_closes }}**.\n\n"
        "[I have voted]({{ voted_url }})"
    )
    check = page.locator("#merge-check")
    expect(check).to_contain_text("unknown merge field frist_name")
    check.get_by_role("button", name="Use {{ first_name }}").click()
    expect(page.get_by_label("Subject", exact=True)).to_have_value("{{ first_name }}, have you posted your ballot?")
    expect(check).to_contain_text("The subject and body are fine")

    page.get_by_role("button", name="Not yet voted").click()
    page.get_by_label("District A", exact=True).check()
    count = page.locator("#audience-mailable")
    expect(count).to_have_text(str(one))
    page.get_by_label("Cardiff", exact=True).check()
    expect(count).to_have_text(str(both))

    page.get_by_label("Preview as a supporter of the audience: search by name").fill("Eluned")
    page.locator("#people-found").get_by_role("button", name="Eluned Ap-Rhys Ó Dálaigh").click()
    expect(page.locator("#preview-name")).to_have_text("Eluned Ap-Rhys Ó Dálaigh")
    expect(page.locator("#preview-subject")).to_have_text("Eluned, have you posted your ballot?")
    frame = page.frame_locator("#composer-preview iframe")
    expect(frame.locator("body")).to_contain_text("Dear Eluned,")
    expect(page.locator("#preview-text")).to_contain_text("Dear Eluned,")
    screenshot(page, "drive-composer", viewport)
    assert_fits_width(page)

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#drive-state")).to_have_text("Draft")
    page.get_by_role("button", name=f"Send a test to {volunteer.email}").click()
    expect(page.locator("#messages")).to_contain_text(f"Test sent to {volunteer.email}")
    page.get_by_role("region", name="Test it").get_by_role("link").first.click()
    expect(page.locator("#message-subject")).to_contain_text("[TEST]")
    expect(page.frame_locator("#message-html").locator("body")).to_contain_text("Dear ")
    page.go_back()

    page.get_by_role("link", name="Send…").click()
    expect(page.locator("#confirm-count")).to_have_text(str(both))
    expect(page.locator("#confirm-subject")).to_have_text(
        "{{ first_name }}, have you posted your ballot?"
    )
    campaign = world["campaign"]
    expect(page.locator("#confirm-sender")).to_contain_text(campaign.from_email)
    screenshot(page, "drive-confirm", viewport)
    page.get_by_role("button", name=f"Confirm: send to {both} supporters").click()
    expect(page.locator("#drive-progress")).to_be_visible()
    no_reload_marker(page)
    expect(page.locator("#progress-state")).to_have_text("Done", timeout=60_000)
    assert still_same_document(page), "the page reloaded to show progress"
    expect(page.locator("#count-sent")).to_have_text(str(both))
    screenshot(page, "drive-done", viewport)
    assert_fits_width(page)
    assert violations() == []

    with worker.lock:
        drive = Mailing.objects.get(name="Pledged but not posted: last push")
        sent = Recipient.objects.filter(mailing=drive, status="sent").count()
    assert drive.status == Mailing.Status.DONE and sent == both
    message_id = outbox_file_for(eluned.email)
    organiser_page.goto(f"/outbox/?q={eluned.email}")
    organiser_page.get_by_role("link", name="Eluned, have you posted your ballot?").click()
    headers = organiser_page.locator("#message-headers")
    expect(headers.locator("tr", has_text="List-Unsubscribe-Post")).to_contain_text(
        "List-Unsubscribe=One-Click"
    )
    expect(headers.locator("tr").filter(has=organiser_page.locator("th", has_text="List-Unsubscribe").filter(has_not_text="Post"))).to_contain_text("/u/")
    expect(organiser_page.frame_locator("#message-html").locator("body")).to_contain_text("Dear Eluned,")
    expect(organiser_page.locator("#message-text")).to_contain_text("Dear Eluned,")
    assert message_id in organiser_page.url
    screenshot(organiser_page, "drive-outbox-message", viewport)
