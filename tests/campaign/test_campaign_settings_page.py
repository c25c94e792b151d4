"""Campaign settings in the app: validated, and audited with before and after."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.audit_sentences import audit_sentence
from campaign.models import AuditEvent, Campaign

pytestmark = pytest.mark.django_db


def _local(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def _form(campaign, **changes):
    data = {
        "name": campaign.name,
        "candidate": campaign.candidate,
        "ballot_opens": _local(campaign.ballot_opens),
        "ballot_closes": _local(campaign.ballot_closes),
        "sender_name": campaign.sender_name,
        "sender_email": campaign.sender_email,
        "reply_to": campaign.reply_to,
    }
    return {**data, **changes}


@pytest.fixture
def esp_domain(settings):
    settings.DEFAULT_FROM_EMAIL = "Turnout <turnout@union-campaign.org.uk>"


def test_changing_the_close_date_is_audited_with_before_and_after(
    client_for, organiser, campaign, esp_domain
):
    campaign.sender_email = "team@union-campaign.org.uk"
    campaign.save()
    before = campaign.ballot_closes
    new_close = (before + timedelta(days=2)).replace(second=0, microsecond=0)
    response = client_for(organiser).post(
        reverse("campaign-settings"),
        _form(campaign, ballot_closes=_local(new_close)),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.ballot_closes == new_close
    event = AuditEvent.objects.get(action=AuditEvent.Action.CAMPAIGN_CHANGE)
    assert event.detail["fields"] == ["ballot_closes"]
    assert event.detail["before"]["ballot_closes"] == before.isoformat()
    assert event.detail["after"]["ballot_closes"] == new_close.isoformat()
    sentence = audit_sentence(event)
    assert sentence.startswith("organiser changed the campaign settings")
    assert "ballot closes from" in sentence and " to " in sentence


def test_the_ballot_must_close_after_it_opens(client_for, organiser, campaign):
    response = client_for(organiser).post(
        reverse("campaign-settings"),
        _form(campaign, ballot_closes=_local(campaign.ballot_opens)),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["ballot_closes"] == [
        "The ballot must close after it opens."
    ]
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_CHANGE).exists()


def test_the_sender_must_be_at_the_esps_domain(client_for, organiser, campaign, esp_domain):
    client = client_for(organiser)
    refused = client.post(
        reverse("campaign-settings"), _form(campaign, sender_email="me@gmail.com")
    )
    assert refused.status_code == 400
    assert "union-campaign.org.uk" in refused.context["form"].errors["sender_email"][0]
    # The ESP's domain or a subdomain of it is fine.
    for address in ("team@union-campaign.org.uk", "team@mail.union-campaign.org.uk"):
        ok = client.post(reverse("campaign-settings"), _form(campaign, sender_email=address))
        assert ok.status_code == 302, ok.context["form"].errors
        campaign.refresh_from_db()
        assert campaign.sender_email == address


def test_a_mailgun_sender_domain_is_the_one_compared(client_for, organiser, campaign, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_SENDER_DOMAIN": "mg.caucus.org"}
    client = client_for(organiser)
    assert (
        client.post(
            reverse("campaign-settings"), _form(campaign, sender_email="a@caucus.org")
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("campaign-settings"), _form(campaign, sender_email="a@other.org")
        ).status_code
        == 400
    )


def test_with_no_campaign_the_form_creates_the_active_one(client_for, organiser):
    response = client_for(organiser).post(
        reverse("campaign-settings"),
        {
            "name": "GS 2027",
            "candidate": "Ada Okafor",
            "ballot_opens": "2027-01-10T09:00",
            "ballot_closes": "2027-02-10T12:00",
            "sender_name": "Ada for GS",
            "sender_email": "team@example.org",
            "reply_to": "",
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.is_active and campaign.candidate == "Ada Okafor"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CAMPAIGN_CHANGE)
    assert event.detail["created"] is True
    assert audit_sentence(event) == "organiser created the campaign GS 2027"


def test_volunteers_and_leads_cannot_change_settings(client_for, volunteer, campaign):
    response = client_for(volunteer).post(reverse("campaign-settings"), _form(campaign))
    assert response.status_code == 403
