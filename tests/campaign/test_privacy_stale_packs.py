"""Packs whose build stopped (the consumer died mid-build) do not stay "building" for
ever: with no progress for CANVASS_PACK_STALE_MINUTES they fail, with a retry button."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.canvass.services import canvass_packs_fail_stale
from campaign.models import CanvassPack
from campaign.tasks import canvass_packs_stale_task


@pytest.fixture
def stuck(lead_a, district_a):
    """Started an hour ago; its last progress 11 minutes ago (limit 10)."""
    return CanvassPack.objects.create(
        district=district_a,
        requested_by=lead_a,
        status=CanvassPack.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        progress_at=timezone.now() - timedelta(minutes=11),
        schools_total=40,
        schools_done=12,
    )


def test_a_pack_with_no_progress_for_the_limit_fails_with_a_reason(stuck, settings):
    settings.CANVASS_PACK_STALE_MINUTES = 10

    assert canvass_packs_fail_stale() == 1

    stuck.refresh_from_db()
    assert stuck.status == CanvassPack.Status.FAILED
    assert "no progress for 10 minutes" in stuck.error and stuck.finished_at


def test_a_slow_pack_still_making_progress_is_left_alone(stuck, settings):
    settings.CANVASS_PACK_STALE_MINUTES = 10
    CanvassPack.objects.filter(pk=stuck.pk).update(progress_at=timezone.now())

    assert canvass_packs_fail_stale() == 0
    stuck.refresh_from_db()
    assert stuck.status == CanvassPack.Status.RUNNING


def test_the_limit_is_a_setting(stuck, settings):
    settings.CANVASS_PACK_STALE_MINUTES = 30
    assert canvass_packs_fail_stale() == 0


def test_the_periodic_task_fails_stale_packs(stuck, settings):
    settings.CANVASS_PACK_STALE_MINUTES = 10
    canvass_packs_stale_task.call_local()
    stuck.refresh_from_db()
    assert stuck.status == CanvassPack.Status.FAILED


def test_a_failed_pack_page_offers_a_retry_that_builds_it_again(
    client_for, lead_a, stuck, django_capture_on_commit_callbacks
):
    canvass_packs_fail_stale()
    client = client_for(lead_a)
    page = client.get(f"/canvass/packs/{stuck.pk}/")
    assert f'action="/canvass/packs/{stuck.pk}/retry/"' in page.content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/canvass/packs/{stuck.pk}/retry/")

    retry = CanvassPack.objects.exclude(pk=stuck.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/canvass/packs/{retry.pk}/"
    assert (retry.status, retry.retry_of, retry.requested_by) == ("pending", stuck, lead_a)
    assert len(callbacks) == 1  # the build task is enqueued once the request commits


def test_only_failed_packs_can_be_retried(client_for, lead_a, stuck):
    response = client_for(lead_a).post(f"/canvass/packs/{stuck.pk}/retry/", follow=True)
    assert "Only a failed pack can be retried" in response.content.decode()
    assert CanvassPack.objects.count() == 1


def test_another_leads_pack_cannot_be_retried(client_for, lead_b, stuck):
    canvass_packs_fail_stale()
    assert client_for(lead_b).post(f"/canvass/packs/{stuck.pk}/retry/").status_code == 404
    assert CanvassPack.objects.count() == 1


def test_retry_wants_a_post(client_for, lead_a, stuck):
    canvass_packs_fail_stale()
    assert client_for(lead_a).get(f"/canvass/packs/{stuck.pk}/retry/").status_code == 405
