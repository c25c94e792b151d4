"""A big drive's report page shows stored figures, with their time, to those who see
every recipient, and a queued task counts them again once they are a minute old
(mailings/reports.py ``drive_report_shown``); a scoped viewer's report is counted live."""

from datetime import timedelta

import pytest
from django.utils import timezone

import mailings.tasks
from mailings import reports
from mailings.models import DriveReport, Recipient
from mailings.reports import drive_report, drive_report_shown
from mailings.services import mailing_cancel, mailing_start
from mailings.services.report import drive_report_store
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, esp_reports

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def big(monkeypatch):
    """Drives of more than 2 rows count as big."""
    monkeypatch.setattr(reports, "REPORT_STORED_ROWS", 2)


@pytest.fixture
def recounts(monkeypatch):
    queued = []
    monkeypatch.setattr(mailings.tasks, "drive_report_task", queued.append)
    return queued


@pytest.fixture
def sent_drive(make_drive, volunteer, school_a):
    ConsentedContactFactory.create_batch(4, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    drain(drive)
    for row in Recipient.objects.filter(mailing=drive)[:3]:
        esp_reports(row, "delivered")
    return drive


def _figures(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "as_of"}


def test_a_big_drives_report_is_counted_once_then_shown_as_stored(
    big, recounts, sent_drive, organiser
):
    first = drive_report_shown(mailing=sent_drive, viewer=organiser)

    assert first["as_of"] is not None
    assert first["counts"]["delivered"] == 3
    assert _figures(first) == drive_report(mailing=sent_drive, viewer=None)
    esp_reports(Recipient.objects.filter(mailing=sent_drive).last(), "delivered")

    again = drive_report_shown(mailing=sent_drive, viewer=organiser)

    assert again["counts"]["delivered"] == 3  # as stored, less than a minute ago
    assert again["as_of"] == first["as_of"]
    assert recounts == []


def test_a_minute_old_report_is_shown_while_one_recount_is_queued(
    big, recounts, sent_drive, organiser, django_capture_on_commit_callbacks
):
    drive_report_shown(mailing=sent_drive, viewer=organiser)
    esp_reports(Recipient.objects.filter(mailing=sent_drive).last(), "delivered")
    old = timezone.now() - timedelta(seconds=reports.REPORT_FRESH_SECONDS + 1)
    DriveReport.objects.filter(mailing=sent_drive).update(counted_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        shown = [drive_report_shown(mailing=sent_drive, viewer=organiser) for _ in range(3)]

    assert [r["counts"]["delivered"] for r in shown] == [3, 3, 3]
    assert recounts == [sent_drive.pk]  # three looks, one recount
    drive_report_store(mailing_id=sent_drive.pk)
    recounted = drive_report_shown(mailing=sent_drive, viewer=organiser)
    assert recounted["counts"]["delivered"] == 4
    assert _figures(recounted) == drive_report(mailing=sent_drive, viewer=None)


def test_the_drive_state_shown_with_a_stored_report_is_current(
    big, recounts, sent_drive, organiser
):
    drive_report_shown(mailing=sent_drive, viewer=organiser)
    sent_drive.name = "Renamed push"
    sent_drive.save(update_fields=["name"])

    assert drive_report_shown(mailing=sent_drive, viewer=organiser)["name"] == "Renamed push"


def test_a_scoped_viewers_report_is_always_counted_live(big, recounts, sent_drive, volunteer):
    report = drive_report_shown(mailing=sent_drive, viewer=volunteer)

    assert report["as_of"] is None
    assert report["counts"]["delivered"] == 3
    assert not DriveReport.objects.exists()


def test_a_small_drives_report_is_counted_live(recounts, sent_drive, organiser):
    report = drive_report_shown(mailing=sent_drive, viewer=organiser)

    assert report["as_of"] is None
    assert not DriveReport.objects.exists()


def test_the_report_page_says_when_its_figures_were_counted(
    big, recounts, sent_drive, organiser, client_for
):
    page = client_for(organiser).get(f"/drives/{sent_drive.pk}/report/")

    assert page.status_code == 200
    assert "Figures as of" in page.content.decode()


def test_a_big_drive_queues_a_count_of_its_report_when_it_starts_and_when_it_finishes(
    big, recounts, make_drive, volunteer, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(4, school=school_a)
    with django_capture_on_commit_callbacks(execute=True):
        drive = mailing_start(actor=volunteer, mailing=make_drive())

    assert recounts == [drive.pk]
    with django_capture_on_commit_callbacks(execute=True):
        drain(drive)

    assert drive.status == drive.Status.DONE
    assert recounts == [drive.pk, drive.pk]  # one count at the finish, not one per batch


def test_a_small_drive_queues_no_count_of_its_report(
    recounts, make_drive, volunteer, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(4, school=school_a)
    with django_capture_on_commit_callbacks(execute=True):
        drive = mailing_start(actor=volunteer, mailing=make_drive())
        drain(drive)

    assert drive.status == drive.Status.DONE
    assert recounts == []


def test_the_first_look_after_a_big_drive_finishes_reads_the_count_it_queued(
    big, recounts, make_drive, volunteer, organiser, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(4, school=school_a)
    with django_capture_on_commit_callbacks(execute=True):
        drive = mailing_start(actor=volunteer, mailing=make_drive())
        drain(drive)
    for mailing_id in recounts:  # as the consumer runs them
        drive_report_store(mailing_id=mailing_id)
    counted = DriveReport.objects.get(mailing=drive).counted_at

    shown = drive_report_shown(mailing=drive, viewer=organiser)

    assert shown["as_of"] == counted
    assert shown["sent"] == 4
    assert _figures(shown) == drive_report(mailing=drive, viewer=None)


def test_a_big_drive_queues_a_count_of_its_report_when_it_is_cancelled(
    big, recounts, make_drive, volunteer, school_a, django_capture_on_commit_callbacks
):
    ConsentedContactFactory.create_batch(4, school=school_a)
    drive = mailing_start(actor=volunteer, mailing=make_drive())

    with django_capture_on_commit_callbacks(execute=True):
        mailing_cancel(actor=volunteer, mailing=drive)

    assert recounts == [drive.pk]
