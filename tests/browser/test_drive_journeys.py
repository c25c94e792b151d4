"""Email drives in a real browser, desktop and phone, sent by a real queue consumer
(tests/browser/consumer.py) into the embedded outbox: compose, target, preview, test,
confirm, watch it go; approval; pause and resume; the outbox itself.
Screenshots: test-output/screenshots/drive-*.png."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from campaign.models import TeamMember
from campaign.roles import forget_scope
from contacts.models import District
from mailings.models import Mailing, Recipient
from mailings.selectors import AudienceFilters, audience_breakdown_for
from mailings.services import mailing_create, mailing_start
from mailings.services.chunks import chunk_sizer
from tests.browser.consumer import ThreadConsumer
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import esp_reports

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
def consumer():
    made = []

    def start(pause: float = 0.3) -> ThreadConsumer:
        worker = ThreadConsumer(pause=pause).start()
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
    assert_accessible,
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
    consumer()
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
    expect(page.get_by_label("Subject", exact=True)).to_have_value(
        "{{ first_name }}, have you posted your ballot?"
    )
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
    assert_accessible(page)

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
    assert_accessible(page)
    assert violations() == []

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
    expect(
        headers.locator("tr").filter(
            has=organiser_page.locator("th", has_text="List-Unsubscribe").filter(
                has_not_text="Post"
            )
        )
    ).to_contain_text("/u/")
    expect(organiser_page.frame_locator("#message-html").locator("body")).to_contain_text(
        "Dear Eluned,"
    )
    expect(organiser_page.locator("#message-text")).to_contain_text("Dear Eluned,")
    assert message_id in organiser_page.url
    screenshot(organiser_page, "drive-outbox-message", viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_big_drive_waits_for_an_organiser_who_approves_it_and_it_sends(
    signed_in,
    volunteer,
    organiser,
    world,
    outbox_sending,
    consumer,
    screenshot,
    assert_fits_width,
    district_a,
    viewport,
):
    outbox_sending.MAILING_APPROVAL_THRESHOLD = 3
    drive = mailing_create(
        actor=volunteer,
        name="Every District A supporter",
        subject="{{ first_name }}, the ballot is open",
        body="Hello {{ first_name }}",
        districts=[district_a],
    )
    size = audience_breakdown_for(
        user=volunteer, filters=AudienceFilters(district_ids=(district_a.pk,))
    )["mailable"]
    assert size > 3
    page = signed_in(volunteer, viewport)
    organiser_page = signed_in(organiser, viewport)
    consumer()

    page.goto(f"/drives/{drive.pk}/send/")
    expect(page.locator("main")).to_contain_text("need an organiser's approval")
    page.get_by_role("button", name="Request approval").click()
    expect(page.locator("#drive-state")).to_have_text("Awaiting approval")
    expect(page.locator("#messages")).to_contain_text("every organiser has been told")

    organiser_page.goto("/")
    queue = organiser_page.get_by_role("region", name="Waiting for your approval")
    expect(queue).to_contain_text("Every District A supporter")
    organiser_page.goto("/outbox/")
    notice = organiser_page.get_by_role("link", name="Approval needed: Every District A supporter")
    expect(notice).to_have_count(1)
    notice.click()
    expect(organiser_page.locator("#message-text")).to_contain_text(f"/drives/{drive.pk}/")
    expect(organiser_page.locator("#message-headers")).to_contain_text(organiser.email)
    organiser_page.goto(f"/drives/{drive.pk}/")
    screenshot(organiser_page, "drive-approval", viewport)
    assert_fits_width(organiser_page)
    organiser_page.get_by_role("button", name="Approve and send").click()
    expect(organiser_page.locator("#progress-state")).to_have_text("Done", timeout=60_000)
    expect(organiser_page.locator("#count-sent")).to_have_text(str(size))
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.DONE and drive.approved_by == organiser
    _esp_reports_over_three_hours(drive)
    organiser_page.get_by_role("link", name="Report").click()
    funnel = organiser_page.get_by_role("region", name="Delivery funnel")
    expect(funnel.locator("svg text").first).to_have_text(f"Sent: {size}")
    # Drawn in percent, not scaled down to the panel: its text is as legible on a phone.
    label_height = funnel.locator("svg text").first.evaluate(
        "t => t.getBoundingClientRect().height"
    )
    assert label_height >= 14, f"funnel labels {label_height:.1f} px high"
    hourly = organiser_page.get_by_role("region", name="Events per hour (UTC)")
    expect(hourly.locator("svg rect")).not_to_have_count(0)
    expect(hourly).to_contain_text("Tallest bar:")
    expect(
        organiser_page.get_by_role("link", name="Download each recipient's status (CSV)")
    ).to_be_visible()
    assert_fits_width(organiser_page)
    screenshot(organiser_page, "drive-report", viewport)
    assert_fits_width(organiser_page)
    page.goto(f"/drives/{drive.pk}/")
    expect(page.locator("#drive-state")).to_have_text("Done")


def _esp_reports_over_three_hours(drive) -> None:
    """Delivery reports as the ESP's webhooks would bring them: delivered over three
    hours, some opened, one clicked, one bounced."""
    rows = list(Recipient.objects.filter(mailing=drive).order_by("pk"))
    now = timezone.now()
    for n, row in enumerate(rows):
        kinds = (
            ["bounced"] if n == 0 else ["delivered"] + ["opened"] * (n % 2) + ["clicked"] * (n == 1)
        )
        for kind in kinds:
            esp_reports(row, kind, at=now - timedelta(hours=n % 3))


def _counts(drive) -> dict[str, int]:
    rows = list(Recipient.objects.filter(mailing=drive).values_list("status", flat=True))
    return {status: rows.count(status) for status in Recipient.Status.values}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_organiser_pauses_a_sending_drive_and_resumes_it_to_done(
    signed_in, organiser, world, outbox_sending, consumer, screenshot, viewport
):
    # Every supporter with consent, two per batch: dozens of batch tasks to interrupt.
    drive = mailing_create(actor=organiser, name="Union-wide GOTV", subject="Vote", body="Vote")
    page = signed_in(organiser, viewport)
    consumer(pause=0.4)
    drive = mailing_start(actor=organiser, mailing=drive)
    total = drive.recipient_count
    assert drive.status == Mailing.Status.SENDING and total >= 30

    page.goto(f"/drives/{drive.pk}/")
    expect(page.locator("#count-sent")).not_to_have_text("0", timeout=20_000)
    page.get_by_role("link", name="Pause").click()
    page.get_by_role("button", name="Yes, pause it").click()
    paused_at = time.monotonic()
    expect(page.locator("#progress-state")).to_have_text("Paused")
    expect(page.locator("#pause-reason")).to_contain_text("Paused by organiser")
    # Sending stops between chunks: nothing more goes after MAILING_CHUNK_SECONDS + 2 s.
    limit = outbox_sending.MAILING_CHUNK_SECONDS + 2
    last, last_change = _counts(drive), paused_at
    while time.monotonic() - paused_at < limit + 3:
        now = _counts(drive)
        if now != last:
            last, last_change = now, time.monotonic()
        time.sleep(0.2)
    assert last_change - paused_at <= limit, "rows were still being sent after the pause"
    assert last["queued"] > 0 and last["sending"] == 0
    stopped_at = last["sent"]
    expect(page.locator("#count-sent")).to_have_text(str(stopped_at))
    screenshot(page, "drive-paused", viewport)

    page.get_by_role("link", name="Resume").click()
    page.get_by_role("button", name="Yes, resume it").click()
    expect(page.locator("#progress-state")).to_have_text("Done", timeout=90_000)
    expect(page.locator("#count-sent")).to_have_text(f"{total:,}")
    assert _counts(drive)["sent"] == total


def test_the_outbox_list_is_clean_and_shows_a_messages_html(
    signed_in, organiser, world, outbox_sending, consumer, screenshot, assert_accessible, tmp_path
):
    drive = mailing_create(
        actor=organiser,
        name="Outbox check",
        subject="{{ first_name }}: one week left",
        body="**Bold** reminder for {{ first_name }}",
    )
    page = signed_in(organiser, "desktop")
    consumer(pause=0.05)
    mailing_start(actor=organiser, mailing=drive)
    deadline = time.monotonic() + 60
    while _counts(drive)["queued"] and time.monotonic() < deadline:
        time.sleep(0.3)
    page.goto("/outbox/")
    html = page.content()
    for leak in ("OutboxMessage(", "PosixPath", str(tmp_path), ".eml", "message_id="):
        assert leak not in html, f"the outbox list shows {leak!r}"
    first = page.locator("main table a").first
    subject = first.inner_text()
    assert subject.endswith(": one week left")
    first.click()
    frame = page.frame_locator("#message-html")
    expect(frame.locator("strong")).to_have_text("Bold")
    expect(frame.locator("body")).to_contain_text(f"reminder for {subject.split(':')[0]}")
    screenshot(page, "drive-outbox-html", "desktop")
    assert_accessible(page)
