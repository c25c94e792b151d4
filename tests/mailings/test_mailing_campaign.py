"""A drive belongs to the campaign it was written in: its links expire with it."""

from datetime import timedelta
from importlib import import_module

from django.apps import apps
from django.utils import timezone

from mailings.models import Mailing
from tests.factories import CampaignFactory, UserFactory


def test_a_new_drive_belongs_to_the_active_campaign(campaign):
    drive = Mailing.objects.create(name="d", subject="s", body="b", created_by=UserFactory())
    assert drive.campaign == campaign


def test_existing_drives_get_the_campaign_that_was_newest_when_they_were_written(db):
    now = timezone.now()
    old = CampaignFactory(is_active=False)
    new = CampaignFactory()
    type(old).objects.filter(pk=old.pk).update(created_at=now - timedelta(days=400))
    type(new).objects.filter(pk=new.pk).update(created_at=now - timedelta(days=10))
    user = UserFactory()
    early = Mailing.objects.create(name="a", subject="s", body="b", created_by=user)
    Mailing.objects.create(name="b", subject="s", body="b", created_by=user)
    before_any = Mailing.objects.create(name="c", subject="s", body="b", created_by=user)
    Mailing.objects.filter(pk=early.pk).update(created_at=now - timedelta(days=100))
    Mailing.objects.filter(pk=before_any.pk).update(created_at=now - timedelta(days=999))
    Mailing.objects.update(campaign=None)

    import_module("mailings.migrations.0005_mailing_campaign").backfill(apps, None)

    assert dict(Mailing.objects.values_list("name", "campaign_id")) == {
        "a": old.pk,
        "b": new.pk,
        "c": new.pk,  # written before any campaign: the active one
    }
