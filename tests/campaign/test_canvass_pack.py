"""District packs built in the background: progress, download, scope, clean-up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.canvass.services import canvass_pack_build, canvass_packs_expire, pack_path
from campaign.models import AuditEvent, CanvassPack
from tests.campaign.test_canvass_pdf import many_supporters, pdf_pages
from tests.factories import SchoolFactory


@pytest.fixture
def district_a_schools(school_a, contact_a):
    schools = [school_a]
    for n in range(3):
        school = SchoolFactory(
            name=f"Extra School {n}", urn=f"20000{n}", district=school_a.district
        )
        many_supporters(school, 10 + 15 * n, prefix=f"Extra{n}x")
        schools.append(school)
    return schools


def test_a_lead_requests_a_pack_and_downloads_it_when_ready(
    client_for,
    lead_a,
    district_a,
    district_a_schools,
    contact_b,
    tmp_path,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 2  # the real process pool
    client = client_for(lead_a)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/canvass/districts/{district_a.pk}/pack/")
    pack = CanvassPack.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/canvass/packs/{pack.pk}/"
    assert len(callbacks) == 1  # the build is enqueued once the request commits
    assert client.get(f"/canvass/packs/{pack.pk}/?format=json").json()["ready"] is False

    built = canvass_pack_build(pack_id=pack.pk)

    assert built.status == CanvassPack.Status.DONE
    assert (built.schools_done, built.schools_total) == (4, 4)
    assert built.rows == 1 + 10 + 25 + 40
    status = client.get(f"/canvass/packs/{pack.pk}/?format=json").json()
    assert status["ready"] is True and status["percent"] == 100
    download = client.get(f"/canvass/packs/{pack.pk}/download/")
    assert download.status_code == 200
    pdf = b"".join(download.streaming_content)
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) == built.pages
    text = "\n".join(pages)
    assert "Canvass pack: District A" in pages[0]
    assert "Tomasz" not in text
    assert all(f"Testperson, Extra2x{n:03d}" in text for n in range(40))
    # Schools come in the cover's order, each starting its own page count.
    starts = [p for p in pages[1:] if "Page 1 of" in p]
    assert len(starts) == 4
    event = AuditEvent.objects.get(action=AuditEvent.Action.CANVASS_PRINT)
    assert (event.actor, event.counts["rows"], event.detail["pack"]) == (lead_a, built.rows, True)


def test_another_districts_lead_cannot_request_see_or_download_the_pack(
    client_for, lead_a, lead_b, district_a, district_a_schools, tmp_path, settings
):
    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 1
    client_for(lead_a).post(f"/canvass/districts/{district_a.pk}/pack/")
    pack = CanvassPack.objects.get()
    canvass_pack_build(pack_id=pack.pk)

    other = client_for(lead_b)
    assert other.post(f"/canvass/districts/{district_a.pk}/pack/").status_code == 404
    assert other.get(f"/canvass/packs/{pack.pk}/").status_code == 404
    assert other.get(f"/canvass/packs/{pack.pk}/download/").status_code == 404
    assert CanvassPack.objects.count() == 1


def test_volunteers_cannot_request_packs(client_for, volunteer, district_a):
    assert (
        client_for(volunteer).post(f"/canvass/districts/{district_a.pk}/pack/").status_code == 403
    )
    assert not CanvassPack.objects.exists()


def test_a_duplicate_task_does_not_build_the_pack_twice(
    lead_a, district_a, district_a_schools, tmp_path, settings
):
    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 1
    pack = CanvassPack.objects.create(district=district_a, requested_by=lead_a)

    canvass_pack_build(pack_id=pack.pk)
    canvass_pack_build(pack_id=pack.pk)

    assert AuditEvent.objects.filter(action=AuditEvent.Action.CANVASS_PRINT).count() == 1


def test_a_pack_fails_with_a_reason_when_its_requester_lost_the_district(
    lead_a, district_a, district_b, tmp_path, settings
):
    settings.CANVASS_DIR = tmp_path / "packs"
    pack = CanvassPack.objects.create(district=district_b, requested_by=lead_a)

    built = canvass_pack_build(pack_id=pack.pk)

    assert built.status == CanvassPack.Status.FAILED
    assert "no longer covers this district" in built.error


def test_pack_files_are_deleted_after_the_retention_time(
    lead_a, district_a, district_a_schools, tmp_path, settings
):
    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 1
    pack = canvass_pack_build(
        pack_id=CanvassPack.objects.create(district=district_a, requested_by=lead_a).pk
    )
    path = pack_path(pack)
    assert path.is_file()

    assert canvass_packs_expire(now=timezone.now() + timedelta(hours=1)) == 0
    assert canvass_packs_expire(now=timezone.now() + timedelta(hours=25)) == 1

    pack.refresh_from_db()
    assert pack.status == CanvassPack.Status.EXPIRED and not path.exists()


def test_a_pack_whose_build_was_lost_is_failed_with_a_reason(lead_a, district_a):
    pack = CanvassPack.objects.create(
        district=district_a,
        requested_by=lead_a,
        status=CanvassPack.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
    )

    canvass_packs_expire()

    pack.refresh_from_db()
    assert pack.status == CanvassPack.Status.FAILED
    assert "interrupted" in pack.error


def test_the_pack_page_polls_a_progress_bar_and_offers_the_download_once_ready(
    client_for, lead_a, district_a, district_a_schools, tmp_path, settings
):
    settings.CANVASS_DIR = tmp_path / "packs"
    settings.CANVASS_PDF_WORKERS = 1
    client = client_for(lead_a)
    client.post(f"/canvass/districts/{district_a.pk}/pack/")
    pack = CanvassPack.objects.get()
    CanvassPack.objects.filter(pk=pack.pk).update(
        status=CanvassPack.Status.RUNNING, schools_total=4, schools_done=1
    )

    page = client.get(f"/canvass/packs/{pack.pk}/").content.decode()
    assert f'hx-get="/canvass/packs/{pack.pk}/"' in page and 'hx-trigger="every 1500ms"' in page
    assert '<progress id="pack-bar" max="100" value="25">' in page
    assert "<script>" not in page and "Download the PDF" not in page

    partial = client.get(f"/canvass/packs/{pack.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="pack-progress"' in partial
    assert "<html" not in partial and "1 of 4 sheets laid out" in partial

    CanvassPack.objects.filter(pk=pack.pk).update(status=CanvassPack.Status.PENDING)
    canvass_pack_build(pack_id=pack.pk)
    done = client.get(f"/canvass/packs/{pack.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done  # polling stops
    assert f'href="/canvass/packs/{pack.pk}/download/">Download the PDF</a>' in done
