"""The supporter list (search by POST, filters, a count that explains itself) and the
supporter page (history, and a lead's audited edits)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.models import ConsentRecord, Contact, GotvEvent, Tag
from contacts.suppression import address_hash
from mailings.models import DeliveryEvent, Mailing, Recipient
from tests.factories import CampaignFactory, ConsentedContactFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _listed(response):
    return {contact.pk for contact in response.context["page"].object_list}


@pytest.fixture
def open_campaign(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=2), ballot_closes=now + timedelta(days=20)
    )


@pytest.fixture
def mobile_a(school_a):
    return ConsentedContactFactory(
        first_name="Mo", last_name="Bile", mobile="+447700900123", school=school_a
    )


# --- Search by POST ----------------------------------------------------------------------


def test_search_by_email_is_a_post_and_finds_the_supporter(client_for, lead_a, contact_a):
    response = client_for(lead_a).post(reverse("contact-list"), {"q": "sian.oneill@example.org"})
    assert response.status_code == 200
    assert _listed(response) == {contact_a.pk}


def test_a_search_in_the_query_string_is_ignored(
    client_for, lead_a, contact_a, unconsented_contact_a
):
    """Nobody is encouraged to put an address in a URL: GET never searches by ``q``."""
    response = client_for(lead_a).get(reverse("contact-list"), {"q": "sian.oneill@example.org"})
    assert _listed(response) == {contact_a.pk, unconsented_contact_a.pk}
    assert "sian.oneill@example.org" not in response.content.decode()


def test_the_search_form_posts_and_never_gets(client_for, lead_a):
    page = client_for(lead_a).get(reverse("contact-list")).content.decode()
    assert 'id="supporter-search"' in page
    form = page[
        page.index('id="supporter-search"') - 200 : page.index('id="supporter-search"') + 400
    ]
    assert 'method="post"' in form and 'hx-post="' in form
    assert 'method="get"' not in page


@pytest.mark.parametrize("typed", ["07700 900123", "+44 7700 900123", "7700900123", "900123 "])
def test_search_by_mobile_however_it_is_typed(client_for, lead_a, mobile_a, contact_a, typed):
    response = client_for(lead_a).post(reverse("contact-list"), {"q": typed})
    if typed.strip() == "900123":
        # Six bare digits read as a school URN, not a phone number.
        assert _listed(response) == set()
    else:
        assert _listed(response) == {mobile_a.pk}


def test_search_by_mobile_stays_in_scope(client_for, lead_b, mobile_a):
    response = client_for(lead_b).post(reverse("contact-list"), {"q": "07700 900123"})
    assert _listed(response) == set()


# --- Filters ----------------------------------------------------------------------------


def test_filters_narrow_by_school_role_status_consent_and_tag(
    client_for, organiser, contact_a, unconsented_contact_a, contact_b
):
    contact_a.role = Contact.Role.REP
    contact_a.gotv_status = Contact.Gotv.PLEDGED
    contact_a.save()
    contact_b.gotv_status = Contact.Gotv.VOTED
    contact_b.save()
    tag = Tag.objects.create(name="conference 2026")
    unconsented_contact_a.tags.add(tag)
    client = client_for(organiser)
    url = reverse("contact-list")
    assert _listed(client.post(url, {"school": "birch"})) == {contact_b.pk}
    assert _listed(client.post(url, {"school": "100001"})) == {
        contact_a.pk,
        unconsented_contact_a.pk,
    }
    assert _listed(client.post(url, {"role": "rep"})) == {contact_a.pk}
    assert _listed(client.post(url, {"gotv": "not_voted"})) == {
        contact_a.pk,
        unconsented_contact_a.pk,
    }
    assert _listed(client.post(url, {"gotv": "voted"})) == {contact_b.pk}
    assert _listed(client.post(url, {"consent": "no"})) == {unconsented_contact_a.pk}
    assert _listed(client.post(url, {"consent": "yes"})) == {contact_a.pk, contact_b.pk}
    assert _listed(client.post(url, {"tag": tag.pk})) == {unconsented_contact_a.pk}
    # Filters that name nobody also work from a link.
    assert _listed(client.get(url, {"gotv": "voted"})) == {contact_b.pk}


def test_a_district_outside_scope_is_an_error_beside_the_field_and_matches_nobody(
    client_for, lead_a, district_b, contact_a
):
    response = client_for(lead_a).post(reverse("contact-list"), {"district": district_b.pk})
    assert _listed(response) == set()
    assert "That district is not one of yours." in response.content.decode()


def test_the_count_explains_who_is_not_emailable(
    client_for, organiser, contact_a, unconsented_contact_a, contact_b
):
    ContactFactory(school=contact_a.school)
    suppressed = ConsentedContactFactory(school=contact_a.school, email="gone@example.org")
    from contacts.models import Suppression

    Suppression.objects.create(address_hash=address_hash(suppressed.email), reason="unsubscribed")
    response = client_for(organiser).get(reverse("contact-list"))
    assert response.context["counts"] == {
        "total": 5,
        "no_consent": 2,
        "suppressed": 1,
        "mailable": 2,
    }
    text = " ".join(response.content.decode().split())
    assert "5 supporters" in text
    assert "2 without email consent are not emailable and not printed on sheets" in text
    assert "1 more unsubscribed, bounced or complained and is never emailed" in text


def test_pages_of_results_are_posted_with_the_search_carried(client_for, organiser, school_a):
    for n in range(60):
        ContactFactory(first_name="Smith", last_name=f"Person {n:02d}", school=school_a)
    ContactFactory(first_name="Jones", last_name="Brown", school=school_a)
    client = client_for(organiser)
    first = client.post(reverse("contact-list"), {"q": "smith"})
    assert first.context["counts"]["total"] == 60
    assert len(first.context["page"].object_list) == 50
    assert ("q", "smith") in first.context["carried"]
    second = client.post(reverse("contact-list"), {"q": "smith", "page": 2})
    assert len(second.context["page"].object_list) == 10
    assert second.context["page"].number == 2


def test_htmx_search_returns_only_the_results_and_the_count(client_for, lead_a, contact_a):
    response = client_for(lead_a).post(
        reverse("contact-list"), {"q": "siân"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert "<html" not in page
    assert 'id="result-summary"' in page and 'hx-swap-oob="true"' in page
    assert "O&#x27;Neill" in page


def test_supporter_pages_are_not_cached(client_for, lead_a, contact_a):
    client = client_for(lead_a)
    for url in (reverse("contact-list"), reverse("contact-detail", args=[contact_a.pk])):
        assert "no-store" in client.get(url)["Cache-Control"]


# --- The supporter page ----------------------------------------------------------------


def test_supporter_page_shows_consent_history_with_wording_and_withdrawal(
    client_for, lead_a, contact_a
):
    ConsentRecord.objects.create(
        contact=contact_a,
        given_at=timezone.now() - timedelta(days=400),
        source="Paper form at NEU conference",
        wording="Email me about the election.",
        method=ConsentRecord.Method.PAPER_FORM,
        withdrawn_at=timezone.now() - timedelta(days=200),
        withdrawn_how=ConsentRecord.WithdrawnHow.ONE_CLICK,
    )
    page = client_for(lead_a).get(reverse("contact-detail", args=[contact_a.pk])).content.decode()
    assert "Paper form at NEU conference" in page
    assert "Email me about the election." in page
    assert "One-click unsubscribe" in page
    assert "Current" in page  # the factory's consent, still in force


def test_supporter_page_shows_gotv_history_and_drives_with_their_outcome(
    client_for, lead_a, organiser, contact_a
):
    GotvEvent.objects.create(
        contact=contact_a,
        status="pledged",
        previous_status="unknown",
        method="canvass",
        actor=organiser,
    )
    mailing = Mailing.objects.create(
        name="Ballot week", subject="Vote", body="Vote", created_by=organiser, status="done"
    )
    recipient = Recipient.objects.create(
        mailing=mailing,
        contact=contact_a,
        email=contact_a.email,
        email_hash=contact_a.email_hash,
        status="sent",
        sent_at=timezone.now(),
    )
    DeliveryEvent.objects.create(
        esp="test",
        event_key="k1",
        event_type="delivered",
        occurred_at=timezone.now(),
        mailing=mailing,
        recipient=recipient,
    )
    DeliveryEvent.objects.create(
        esp="test",
        event_key="k2",
        event_type="opened",
        occurred_at=timezone.now() + timedelta(minutes=5),
        mailing=mailing,
        recipient=recipient,
    )
    response = client_for(lead_a).get(reverse("contact-detail", args=[contact_a.pk]))
    page = " ".join(response.content.decode().split())
    assert "Unknown → Pledged" in page and "organiser" in page
    assert "Ballot week" in page
    assert response.context["drives"][0].last_event == "opened"


# --- A lead's edits ----------------------------------------------------------------------


def test_lead_edits_phone_role_notes_and_gotv_and_each_change_is_audited(
    client_for, lead_a, contact_a, open_campaign
):
    response = client_for(lead_a).post(
        reverse("contact-detail", args=[contact_a.pk]),
        {
            "mobile": "07700 900456",
            "role": "rep",
            "notes": "Rep since May.",
            "gotv_status": "voted",
        },
    )
    assert response.status_code == 302
    contact_a.refresh_from_db()
    assert (contact_a.mobile, contact_a.role, contact_a.notes, contact_a.gotv_status) == (
        "+447700900456",
        "rep",
        "Rep since May.",
        "voted",
    )
    gotv = GotvEvent.objects.get(contact=contact_a)
    assert (gotv.status, gotv.actor, gotv.method) == ("voted", lead_a, "web")
    audit = AuditEvent.objects.get(action="contact_change")
    assert audit.actor == lead_a and audit.target_id == str(contact_a.pk)
    assert audit.detail["fields"] == ["gotv_status", "mobile", "notes", "role"]
    assert audit.detail["values"]["role"] == {"before": "member", "after": "rep"}
    # Personal data is named as changed, not copied into the trail.
    assert "900456" not in str(audit.detail) and "Rep since May" not in str(audit.detail)


def test_saving_without_changes_records_nothing(client_for, lead_a, contact_a, open_campaign):
    client_for(lead_a).post(
        reverse("contact-detail", args=[contact_a.pk]),
        {"mobile": "", "role": "member", "notes": "", "gotv_status": "unknown"},
    )
    assert not AuditEvent.objects.filter(action="contact_change").exists()
    assert not GotvEvent.objects.exists()


def test_a_bad_mobile_is_explained_beside_the_field_and_nothing_is_saved(
    client_for, lead_a, contact_a, open_campaign
):
    response = client_for(lead_a).post(
        reverse("contact-detail", args=[contact_a.pk]),
        {"mobile": "01632 960000", "role": "rep", "notes": "", "gotv_status": "voted"},
    )
    assert response.status_code == 400
    assert "is not a UK mobile number" in response.content.decode()
    contact_a.refresh_from_db()
    assert (contact_a.role, contact_a.gotv_status) == ("member", "unknown")
    assert not AuditEvent.objects.filter(action="contact_change").exists()


def test_before_the_ballot_opens_voted_is_not_offered_and_the_reason_is_shown(
    client_for, lead_a, contact_a, campaign
):
    client = client_for(lead_a)
    response = client.get(reverse("contact-detail", args=[contact_a.pk]))
    choices = [value for value, _ in response.context["form"].fields["gotv_status"].choices]
    assert "voted" not in choices and "pledged" in choices
    assert "The ballot opens on" in response.content.decode()
    posted = client.post(
        reverse("contact-detail", args=[contact_a.pk]),
        {"mobile": "", "role": "member", "notes": "", "gotv_status": "voted"},
    )
    assert posted.status_code == 400
    contact_a.refresh_from_db()
    assert contact_a.gotv_status == "unknown"


def test_volunteers_see_no_edit_form_and_cannot_post_one(client_for, volunteer, contact_a):
    client = client_for(volunteer)
    assert client.get(reverse("contact-detail", args=[contact_a.pk])).context["form"] is None
    response = client.post(
        reverse("contact-detail", args=[contact_a.pk]),
        {"mobile": "", "role": "rep", "notes": "", "gotv_status": "pledged"},
    )
    assert response.status_code == 403
    contact_a.refresh_from_db()
    assert contact_a.role == "member"


def test_lead_a_cannot_edit_district_bs_supporter(client_for, lead_a, contact_b, open_campaign):
    response = client_for(lead_a).post(
        reverse("contact-detail", args=[contact_b.pk]),
        {"mobile": "", "role": "rep", "notes": "", "gotv_status": "voted"},
    )
    assert response.status_code == 404
    contact_b.refresh_from_db()
    assert (contact_b.role, contact_b.gotv_status) == ("member", "unknown")
