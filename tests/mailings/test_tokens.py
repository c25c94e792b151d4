"""Links in emails: previews carry dummy tokens that do nothing; a drive's voted and
unsubscribe links carry its recipient row and expire with the campaign."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from campaign import links
from campaign.links import VOTED, VOTED_RECIPIENT, signed_token, token_value
from contacts.models import ConsentRecord, Contact, GotvEvent, Suppression
from mailings.models import Recipient
from mailings.services import mailing_start, mailing_test_send, unsubscribe_url
from tests.factories import CampaignFactory
from tests.mailings.conftest import drain

pytestmark = pytest.mark.usefixtures("fast_sending")

BODY = "Hi {{ first_name }}! [I have voted]({{ voted_url }})"
LINK = re.compile(r'href="https?://[^/]+(/(?:voted|u)/[^/"]+/)"')


@pytest.fixture
def open_ballot(campaign):
    campaign.ballot_opens = timezone.now() - timedelta(days=2)
    campaign.ballot_closes = timezone.now() + timedelta(days=5)
    campaign.save()
    return campaign


@pytest.fixture
def drive(open_ballot, make_drive, volunteer, contact_a):
    return make_drive(body=BODY)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def sent_links(drive, contact) -> dict[str, str]:
    """The voted and unsubscribe paths the drive's email to ``contact`` carried."""
    message = next(m for m in mail.outbox if contact.email in m.to)
    data = message.merge_data.get(contact.email) if getattr(message, "merge_data", None) else {}
    if data:
        return {"voted": path_of(data["voted_url"]), "u": path_of(data["unsubscribe_url"])}
    html = message.alternatives[0][0]
    found = dict((p.split("/")[1], p) for p in LINK.findall(html))
    return {"voted": found["voted"], "u": found["u"]}


def nothing_recorded(contact) -> bool:
    contact.refresh_from_db()
    withdrawn = contact.consents.exclude(withdrawn_at=None).exists()
    return (
        contact.gotv_status == Contact.Gotv.UNKNOWN
        and not GotvEvent.objects.filter(contact=contact).exists()
        and not withdrawn
        and not Suppression.objects.exists()
    )


# --- previews -------------------------------------------------------------------------


def test_a_preview_as_a_supporter_carries_dummy_links_that_record_nothing(
    client_for, volunteer, drive, contact_a
):
    html = (
        client_for(volunteer)
        .get(f"/mailings/{drive.pk}/preview/html/?contact={contact_a.pk}")
        .content.decode()
    )

    paths = set(LINK.findall(html))
    assert paths == {"/voted/preview/", "/u/preview/"}
    anonymous = Client(enforce_csrf_checks=True)
    for path in paths:
        page = anonymous.get(path)
        assert page.status_code == 200 and "This is a preview" in page.content.decode()
        assert anonymous.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert nothing_recorded(contact_a)


def test_the_preview_page_and_a_test_send_carry_no_personal_token(
    client_for, volunteer, drive, contact_a
):
    page = client_for(volunteer).get(f"/mailings/{drive.pk}/preview/?contact={contact_a.pk}")
    mail.outbox = []
    mailing_test_send(actor=volunteer, mailing=drive, contact=contact_a)

    test_mail = mail.outbox[0]
    for text in (page.content.decode(), test_mail.body, test_mail.alternatives[0][0]):
        tokens = re.findall(r"/(?:voted|u)/([^/\s\"']+)/", text)
        assert tokens and set(tokens) == {"preview"}
    assert nothing_recorded(contact_a)


# --- the drive's own links ------------------------------------------------------------


def test_a_sent_voted_link_names_the_recipient_row_and_records_once(drive, volunteer, contact_a):
    drain(mailing_start(actor=volunteer, mailing=drive))
    row = Recipient.objects.get(mailing=drive, contact=contact_a)
    voted = sent_links(drive, contact_a)["voted"]

    assert token_value(purpose=VOTED_RECIPIENT, token=voted.split("/")[2]) == row.pk
    assert Client().post(voted).status_code == 200
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.VOTED
    assert GotvEvent.objects.get(contact=contact_a).method == GotvEvent.Method.EMAIL_LINK


def test_a_voted_link_posted_after_the_ballot_closed_records_nothing(
    drive, volunteer, contact_a, open_ballot
):
    drain(mailing_start(actor=volunteer, mailing=drive))
    voted = sent_links(drive, contact_a)["voted"]
    open_ballot.ballot_closes = timezone.now() - timedelta(minutes=1)
    open_ballot.save()

    response = Client().post(voted)

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert nothing_recorded(contact_a)


def test_a_voted_link_of_a_past_campaign_records_nothing_in_the_next_one(
    drive, volunteer, contact_a, open_ballot
):
    drain(mailing_start(actor=volunteer, mailing=drive))
    voted = sent_links(drive, contact_a)["voted"]
    open_ballot.ballot_opens -= timedelta(days=30)
    open_ballot.ballot_closes = timezone.now() - timedelta(days=20)
    open_ballot.is_active = False
    open_ballot.save()
    CampaignFactory(
        ballot_opens=timezone.now() - timedelta(days=1),
        ballot_closes=timezone.now() + timedelta(days=9),
    )

    assert Client().post(voted).status_code == 410
    assert nothing_recorded(contact_a)


def test_a_three_year_old_voted_token_records_nothing(open_ballot, contact_a, monkeypatch):
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 3 * 365 * 86400)
    old = signed_token(purpose=VOTED, value=contact_a.pk)
    monkeypatch.setattr(signing.time, "time", real_time)

    response = Client().post(f"/voted/{old}/")

    assert response.status_code == 410
    assert nothing_recorded(contact_a)


def test_a_voted_link_sent_before_links_carried_the_drive_still_works_this_campaign(
    open_ballot, contact_a
):
    existing = signed_token(purpose=VOTED, value=contact_a.pk)

    assert Client().post(f"/voted/{existing}/").status_code == 200
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.VOTED


def test_a_voted_link_of_an_erased_recipient_does_nothing(drive, volunteer, contact_a):
    drain(mailing_start(actor=volunteer, mailing=drive))
    voted = sent_links(drive, contact_a)["voted"]
    Recipient.objects.filter(mailing=drive).update(contact=None)

    assert Client().post(voted).status_code == 400
    assert nothing_recorded(contact_a)


# --- unsubscribe keeps working long after the campaign --------------------------------


def _sent_long_ago(monkeypatch, row, days: int) -> str:
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - days * 86400)
    url = path_of(unsubscribe_url(recipient_id=row.pk))
    monkeypatch.setattr(signing.time, "time", real_time)
    return url


def _close_campaign(campaign, days_ago: int) -> None:
    campaign.ballot_opens = timezone.now() - timedelta(days=days_ago + 40)
    campaign.ballot_closes = timezone.now() - timedelta(days=days_ago)
    campaign.save()


def test_unsubscribe_still_works_eighteen_months_after_the_ballot_closed(
    drive, volunteer, contact_a, open_ballot, monkeypatch, settings
):
    assert settings.MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE == 730
    row = Recipient.objects.get(
        mailing=mailing_start(actor=volunteer, mailing=drive), contact=contact_a
    )
    url = _sent_long_ago(monkeypatch, row, days=600)
    _close_campaign(open_ballot, days_ago=550)

    response = Client().post(url)

    assert response.status_code == 200
    assert list(contact_a.consents.values_list("withdrawn_how", flat=True)) == [
        ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK
    ]


def test_unsubscribe_expires_two_years_after_the_ballot_closed(
    drive, volunteer, contact_a, open_ballot, monkeypatch
):
    row = Recipient.objects.get(
        mailing=mailing_start(actor=volunteer, mailing=drive), contact=contact_a
    )
    url = _sent_long_ago(monkeypatch, row, days=800)
    _close_campaign(open_ballot, days_ago=731)

    response = Client().post(url)

    assert response.status_code == 410
    assert nothing_recorded(contact_a)


def test_a_recent_unsubscribe_link_works_whatever_its_campaign(
    drive, volunteer, contact_a, open_ballot
):
    row = Recipient.objects.get(
        mailing=mailing_start(actor=volunteer, mailing=drive), contact=contact_a
    )
    _close_campaign(open_ballot, days_ago=3000)

    assert Client().post(path_of(unsubscribe_url(recipient_id=row.pk))).status_code == 200
    assert Suppression.objects.count() == 1


def test_links_is_preview_only_for_the_dummy_token():
    assert links.is_preview("preview")
    assert not links.is_preview(signed_token(purpose=VOTED_RECIPIENT, value=1))
