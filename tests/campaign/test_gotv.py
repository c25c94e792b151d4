"""GOTV status: the ballot window, the "I have voted" link, web tick-off, and drives
cancelled when the ballot closes."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from campaign.gotv import GotvRuleError, gotv_drives_cancel_after_close
from campaign.links import VOTED, signed_token
from contacts.models import Contact, GotvEvent
from contacts.services.gotv import gotv_set, gotv_set_many
from mailings.models import Mailing
from tests.factories import CampaignFactory, ConsentedContactFactory


@pytest.fixture
def open_ballot(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=2), ballot_closes=now + timedelta(days=5)
    )


def voted_path(contact) -> str:
    """A link of the kind sent before links carried the drive (still honoured while the
    campaign runs; tests/mailings/test_tokens.py covers the drive's own links)."""
    return f"/voted/{signed_token(purpose=VOTED, value=contact.pk)}/"


# --- ballot window ---------------------------------------------------------------------


def test_before_the_ballot_opens_only_pledges_can_be_recorded(campaign, contact_a, lead_a):
    assert campaign.ballot_opens > timezone.now()

    with pytest.raises(GotvRuleError, match="only pledges can be recorded"):
        gotv_set(contact=contact_a, status=Contact.Gotv.VOTED, method="web", actor=lead_a)
    assert gotv_set(contact=contact_a, status=Contact.Gotv.PLEDGED, method="web", actor=lead_a)

    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.PLEDGED


def test_once_the_ballot_is_open_voted_is_recorded_with_who_when_and_how(
    open_ballot, contact_a, lead_a
):
    assert gotv_set(contact=contact_a, status=Contact.Gotv.VOTED, method="canvass", actor=lead_a)
    assert not gotv_set(
        contact=contact_a, status=Contact.Gotv.VOTED, method="canvass", actor=lead_a
    )

    event = GotvEvent.objects.get(contact=contact_a)
    assert (event.previous_status, event.status, event.method, event.actor) == (
        "unknown",
        "voted",
        "canvass",
        lead_a,
    )


def test_setting_many_records_one_history_row_per_change(open_ballot, school_a, lead_a):
    contacts = [ConsentedContactFactory(school=school_a) for _ in range(4)]
    gotv_set(contact=contacts[0], status=Contact.Gotv.VOTED, method="web", actor=lead_a)

    changed = gotv_set_many(
        contact_ids=[c.pk for c in contacts], status=Contact.Gotv.VOTED, method="web", actor=lead_a
    )

    assert changed == 3
    assert GotvEvent.objects.filter(status="voted").count() == 4
    assert set(Contact.objects.values_list("gotv_status", flat=True)) == {"voted"}


def test_an_unknown_status_is_refused_with_the_allowed_ones_named(open_ballot, contact_a):
    with pytest.raises(GotvRuleError, match="not a GOTV status; use one of unknown, pledged"):
        gotv_set(contact=contact_a, status="maybe", method="web")


# --- "I have voted" -------------------------------------------------------------------


def test_opening_the_voted_link_records_nothing_until_the_page_posts(
    client, open_ballot, contact_a
):
    response = client.get(voted_path(contact_a))

    assert response.status_code == 200
    body = response.content.decode()
    # Auto-post for real visitors, from a static script (no inline script: strict CSP).
    assert 'id="voted-form"' in body and "/static/gotv/voted.js" in body
    assert "<script>" not in body and "style=" not in body
    script = (settings.BASE_DIR / "campaign" / "static" / "gotv" / "voted.js").read_text()
    assert 'getElementById("voted-form")' in script and "form.submit()" in script
    assert "Yes, I have voted" in body  # and a button without JavaScript
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.UNKNOWN
    assert not GotvEvent.objects.exists()


def test_posting_the_voted_link_records_voted_once_and_thanks_the_supporter(
    client, open_ballot, contact_a
):
    first = client.post(voted_path(contact_a))
    again = client.post(voted_path(contact_a))

    assert first.status_code == again.status_code == 200
    assert "Thank you for voting, Siân" in first.content.decode()
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.VOTED
    event = GotvEvent.objects.get(contact=contact_a)
    assert event.method == GotvEvent.Method.EMAIL_LINK and event.actor is None
    # Once recorded, opening the link again just says thank you.
    assert "Thank you for voting" in client.get(voted_path(contact_a)).content.decode()


def test_a_tampered_or_foreign_token_records_nothing(client, open_ballot, contact_a):
    path = voted_path(contact_a)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    unsubscribe_token = signed_token(purpose="unsubscribe", value=contact_a.pk)

    assert client.post(tampered).status_code == 400
    assert client.post(f"/voted/{unsubscribe_token}/").status_code == 400
    assert client.post(f"/voted/{signed_token(purpose=VOTED, value=999999)}/").status_code == 404
    assert not GotvEvent.objects.exists()


def test_the_voted_link_before_the_ballot_opens_explains_and_records_nothing(
    client, campaign, contact_a
):
    response = client.post(voted_path(contact_a))

    assert response.status_code == 409
    assert "Voting hasn't opened yet" in response.content.decode()
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == Contact.Gotv.UNKNOWN


# --- web tick-off -----------------------------------------------------------------------


def test_a_lead_taps_a_supporter_to_set_their_status(client_for, lead_a, open_ballot, contact_a):
    client = client_for(lead_a)
    page = client.get(f"/canvass/schools/{contact_a.school_id}/tick/")
    assert page.status_code == 200 and "O&#x27;Neill, Siân" in page.content.decode()

    response = client.post(
        f"/canvass/schools/{contact_a.school_id}/tick/",
        {"contact": contact_a.pk, "status": "voted"},
        HTTP_ACCEPT="application/json",
    )

    assert response.json() == {
        "ok": True,
        "changed": 1,
        "status": "voted",
        "label": "Voted",
        "ids": [contact_a.pk],
    }
    event = GotvEvent.objects.get(contact=contact_a)
    assert (event.method, event.actor) == (GotvEvent.Method.WEB, lead_a)


def test_a_lead_bulk_sets_ticked_supporters_without_javascript(
    client_for, lead_a, open_ballot, school_a
):
    contacts = [ConsentedContactFactory(school=school_a) for _ in range(3)]
    client = client_for(lead_a)

    response = client.post(
        f"/canvass/schools/{school_a.pk}/tick/",
        {"contact": [c.pk for c in contacts], "status": "pledged"},
    )

    assert response.status_code == 302
    assert set(Contact.objects.values_list("gotv_status", flat=True)) == {"pledged"}
    assert GotvEvent.objects.filter(method="web").count() == 3


def test_tick_off_is_scoped_to_the_leads_districts_and_closed_to_volunteers(
    client_for, lead_a, volunteer, open_ballot, contact_a, contact_b
):
    lead = client_for(lead_a)
    assert lead.get(f"/canvass/schools/{contact_b.school_id}/tick/").status_code == 404
    # Someone else's supporter posted to the lead's own school is no better.
    assert (
        lead.post(
            f"/canvass/schools/{contact_a.school_id}/tick/",
            {"contact": [contact_a.pk, contact_b.pk], "status": "voted"},
        ).status_code
        == 404
    )
    assert Contact.objects.filter(gotv_status="voted").count() == 0

    vol = client_for(volunteer)
    assert vol.get(f"/canvass/schools/{contact_a.school_id}/tick/").status_code == 403
    assert (
        vol.post(
            f"/canvass/schools/{contact_a.school_id}/tick/",
            {"contact": contact_a.pk, "status": "voted"},
        ).status_code
        == 403
    )


def test_tick_off_before_the_ballot_opens_explains_why_voted_is_refused(
    client_for, lead_a, campaign, contact_a
):
    response = client_for(lead_a).post(
        f"/canvass/schools/{contact_a.school_id}/tick/",
        {"contact": contact_a.pk, "status": "voted"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "only pledges can be recorded" in response.json()["error"]


# --- ballot closed ----------------------------------------------------------------------


def test_unfinished_drives_are_cancelled_once_the_ballot_has_closed(db, volunteer):
    now = timezone.now()
    campaign = CampaignFactory(
        ballot_opens=now - timedelta(days=10), ballot_closes=now + timedelta(hours=1)
    )
    scheduled = Mailing.objects.create(
        name="Last call",
        subject="Vote!",
        body="Vote",
        created_by=volunteer,
        status=Mailing.Status.SCHEDULED,
        scheduled_for=now + timedelta(hours=2),
    )
    paused = Mailing.objects.create(
        name="Paused", subject="x", body="x", created_by=volunteer, status=Mailing.Status.PAUSED
    )
    done = Mailing.objects.create(
        name="Sent", subject="x", body="x", created_by=volunteer, status=Mailing.Status.DONE
    )
    draft = Mailing.objects.create(name="Draft", subject="x", body="x", created_by=volunteer)

    assert gotv_drives_cancel_after_close(now=now) == 0
    assert gotv_drives_cancel_after_close(now=campaign.ballot_closes + timedelta(minutes=1)) == 2

    for mailing in (scheduled, paused, done, draft):
        mailing.refresh_from_db()
    assert scheduled.status == paused.status == Mailing.Status.CANCELLED
    assert "ballot has closed" in scheduled.status_reason
    assert done.status == Mailing.Status.DONE
    assert draft.status == Mailing.Status.DRAFT
