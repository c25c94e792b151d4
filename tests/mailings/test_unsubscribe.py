"""Unsubscribe links and RFC 8058 one-click: signed, immediate, and final."""

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from contacts.models import ConsentRecord, Suppression
from contacts.suppression import address_hash
from mailings.models import Mailing, Recipient
from mailings.services import mailing_batch_send, mailing_start, unsubscribe_url
from tests.factories import ConsentedContactFactory
from tests.mailings.conftest import drain, sent_to

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def row(make_drive, volunteer, contact_a):
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    return Recipient.objects.get(mailing=drive, contact=contact_a)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def consent_state(contact):
    return list(contact.consents.values_list("withdrawn_how", flat=True))


def test_the_link_holds_a_signed_token_not_a_guessable_id(row):
    url = unsubscribe_url(recipient_id=row.pk)
    assert f"/u/{row.pk}/" not in url
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert signing.loads(token, salt="turnout.unsubscribe") == row.pk


def test_get_shows_a_confirmation_page_and_changes_nothing(row, contact_a):
    response = Client().get(path_of(unsubscribe_url(recipient_id=row.pk)))
    assert response.status_code == 200
    assert b"Unsubscribe me" in response.content
    assert consent_state(contact_a) == [""]
    assert not Suppression.objects.exists()


def test_one_click_post_needs_no_login_or_csrf_and_withdraws_at_once(row, contact_a):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        path_of(unsubscribe_url(recipient_id=row.pk)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert consent_state(contact_a) == [ConsentRecord.WithdrawnHow.ONE_CLICK]
    assert Suppression.objects.get(address_hash=address_hash(contact_a.email)).reason == (
        Suppression.Reason.UNSUBSCRIBED
    )


def test_the_confirmation_button_records_an_unsubscribe_link(row, contact_a):
    Client(enforce_csrf_checks=True).post(path_of(unsubscribe_url(recipient_id=row.pk)))
    assert consent_state(contact_a) == [ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_refused_and_changes_nothing(row, contact_a, method):
    url = path_of(unsubscribe_url(recipient_id=row.pk))
    token = url.split("/")[2]
    forged = signing.dumps(row.pk + 1, salt="turnout.unsubscribe")[:-3] + token[-3:]
    for bad in (token[:-2] + "xx", forged, signing.dumps(row.pk, salt="turnout.voted")):
        response = getattr(Client(), method)(f"/u/{bad}/")
        assert response.status_code == 404
    assert consent_state(contact_a) == [""]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_token_is_refused_with_a_way_out(row, contact_a, settings, monkeypatch, method):
    """Expired: sent over MAX_AGE_DAYS ago and its campaign closed over
    DAYS_AFTER_CLOSE ago (tests/mailings/test_tokens.py has the boundaries)."""
    settings.MAILING_UNSUBSCRIBE_MAX_AGE_DAYS = 1
    settings.MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE = 30
    campaign = row.mailing.campaign
    campaign.ballot_opens -= timedelta(days=400)
    campaign.ballot_closes = timezone.now() - timedelta(days=31)
    campaign.save()
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 2 * 86400)
    url = path_of(unsubscribe_url(recipient_id=row.pk))
    monkeypatch.setattr(signing.time, "time", real_time)
    response = getattr(Client(), method)(url)
    assert response.status_code == 410
    assert b"expired" in response.content and b"replies@campaign.example.org" in response.content
    assert consent_state(contact_a) == [""]


def test_a_contact_who_unsubscribes_mid_drive_gets_nothing_more(
    make_drive, volunteer, school_a, contact_a
):
    others = ConsentedContactFactory.create_batch(5, school=school_a)
    first = mailing_start(actor=volunteer, mailing=make_drive(name="first"))
    second = mailing_start(actor=volunteer, mailing=make_drive(name="second"))
    mailing_batch_send(mailing_id=first.pk, batch=0)  # contact_a (lowest id) gets the first
    assert contact_a.email in sent_to()
    row = Recipient.objects.get(mailing=first, contact=contact_a)
    Client().post(path_of(unsubscribe_url(recipient_id=row.pk)), {"List-Unsubscribe": "One-Click"})

    drain(first)
    drain(second)
    third = mailing_start(actor=volunteer, mailing=make_drive(name="third"))
    drain(third)
    assert sent_to().count(contact_a.email) == 1
    assert Recipient.objects.get(mailing=second, contact=contact_a).status == "skipped"
    assert not Recipient.objects.filter(mailing=third, contact=contact_a).exists()
    assert third.exclusions["unsubscribed"] == 1
    for other in others:
        assert sent_to().count(other.email) == 3
    assert {m.status for m in Mailing.objects.all()} == {"done"}


def test_unsubscribing_skips_only_that_address_whatever_the_stored_hashes(
    make_drive, volunteer, school_a, contact_a
):
    from contacts.models import Contact

    ConsentedContactFactory.create_batch(3, school=school_a)
    Contact.objects.update(email_hash="")
    drive = mailing_start(actor=volunteer, mailing=make_drive())
    row = Recipient.objects.get(mailing=drive, contact=contact_a)
    Client().post(path_of(unsubscribe_url(recipient_id=row.pk)))
    statuses = dict(Recipient.objects.values_list("email", "status"))
    assert statuses.pop(contact_a.email) == "skipped"
    assert set(statuses.values()) == {"queued"}
