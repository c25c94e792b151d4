"""The lead's chase list and taps: who is on it and in what order, one change per tap
key, the ballot window's buttons, the organiser flag, and district scope."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.canvass.selectors import chase_list, my_schools
from campaign.gotv import (
    GotvRuleError,
    TapKeyError,
    chase_flag_set,
    gotv_tap_apply,
    result_buttons,
)
from campaign.models import ChaseState, GotvTap
from campaign.selectors import chase_flags_for_organisers
from contacts.models import Contact, GotvEvent
from tests.factories import CampaignFactory, ConsentedContactFactory, ContactFactory, SchoolFactory


@pytest.fixture
def open_ballot(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=3), ballot_closes=now + timedelta(days=21)
    )


def supporter(school, last, status=Contact.Gotv.UNKNOWN, **extra):
    return ConsentedContactFactory(
        school=school, first_name="Sam", last_name=last, gotv_status=status, **extra
    )


# --- who is on the chase list --------------------------------------------------------


def test_the_chase_list_puts_pledged_supporters_first_then_unknown(lead_a, school_a, open_ballot):
    other = SchoolFactory(name="Aspen Academy", urn="199999", district=school_a.district)
    supporter(school_a, "Unknown1")
    supporter(other, "Pledged2", Contact.Gotv.PLEDGED)
    supporter(school_a, "Pledged1", Contact.Gotv.PLEDGED)
    supporter(other, "Unknown2")
    supporter(school_a, "Ballot", Contact.Gotv.BALLOT_RECEIVED)

    names = [c.last_name for c in chase_list(user=lead_a)]

    # Within each, by school (Alder before Aspen), then surname.
    assert names == ["Pledged1", "Pledged2", "Ballot", "Unknown1", "Unknown2"]


def test_voted_and_wont_vote_supporters_are_not_on_the_chase_list(lead_a, school_a):
    supporter(school_a, "Voted", Contact.Gotv.VOTED)
    supporter(school_a, "Wont", Contact.Gotv.WONT_VOTE)
    supporter(school_a, "Still")

    assert [c.last_name for c in chase_list(user=lead_a)] == ["Still"]


def test_a_supporter_tapped_voted_or_wont_vote_leaves_the_chase_list(lead_a, school_a, open_ballot):
    voter, refuser, pledger = (supporter(school_a, n) for n in ("Voter", "Refuser", "Pledger"))

    gotv_tap_apply(actor=lead_a, contact=voter, key="k-voter-0001", result="voted")
    gotv_tap_apply(actor=lead_a, contact=refuser, key="k-refuser-01", result="wont_vote")
    gotv_tap_apply(actor=lead_a, contact=pledger, key="k-pledger-01", result="pledged")

    assert [c.last_name for c in chase_list(user=lead_a)] == ["Pledger"]


def test_not_reached_keeps_the_supporter_on_the_list_and_counts_on_my_schools(
    lead_a, school_a, open_ballot
):
    contact = supporter(school_a, "Away")

    outcome = gotv_tap_apply(
        actor=lead_a,
        contact=contact,
        key="k-away-00001",
        result="not_reached",
        note="  on   a trip ",
    )

    assert outcome.tap.changed is False
    assert [c.last_name for c in chase_list(user=lead_a)] == ["Away"]
    contact.refresh_from_db()
    assert contact.gotv_status == Contact.Gotv.UNKNOWN and not GotvEvent.objects.exists()
    state = ChaseState.objects.get(contact=contact)
    assert (state.last_result, state.note, state.updated_by) == ("not_reached", "on a trip", lead_a)
    (line,) = [line for line in my_schools(user=lead_a) if line.school == school_a]
    assert (line.supporters, line.not_reached, line.not_voted) == (1, 1, 1)


def test_the_chase_list_leaves_out_supporters_without_consent_and_other_districts(
    lead_a, school_a, contact_a, contact_b, unconsented_contact_a
):
    assert [c.pk for c in chase_list(user=lead_a)] == [contact_a.pk]


def test_supporters_with_no_school_are_chased_too(lead_a, district_a, school_a):
    ConsentedContactFactory(school=None, district=district_a, last_name="Schoolless")

    assert [c.last_name for c in chase_list(user=lead_a, no_school=True)] == ["Schoolless"]
    lines = my_schools(user=lead_a)
    assert [(line.school, line.supporters) for line in lines if line.school is None] == [(None, 1)]


def test_my_schools_counts_supporters_voted_pledged_and_not_yet_voted(lead_a, school_a):
    for status in ["voted", "voted", "pledged", "unknown", "wont_vote"]:
        supporter(school_a, status.title(), status)
    ContactFactory(school=school_a)  # no consent: not counted, as not printed

    (line,) = my_schools(user=lead_a)

    assert (line.supporters, line.voted, line.pledged, line.not_voted) == (5, 2, 1, 2)
    assert line.percent_voted == 40


def test_a_lead_of_many_schools_pages_through_them_most_to_vote_first_with_totals_for_all(
    client_for, lead_a, district_a, school_a
):
    for n in range(54):
        school = SchoolFactory(district=district_a, name=f"St Mary's Primary {n:02d}")
        for _ in range(n % 4):
            supporter(school, f"Pupil{n}", "unknown")
    supporter(school_a, "Voted", "voted")

    client = client_for(lead_a)
    first = client.get("/canvass/my-schools/").content.decode()
    second = client.get("/canvass/my-schools/?page=2").content.decode()

    total = sum(n % 4 for n in range(54))
    assert f'<strong id="not-voted">{total}</strong>' in first  # every school counted
    assert first.count('class="school-card"') == 50
    assert second.count('class="school-card"') == 55 - 50
    assert "Page 1 of 2 (55 schools)" in first
    # Schools with three supporters still to vote come first; the one with none, last.
    assert first.index("St Mary&#x27;s Primary 03") < first.index("St Mary&#x27;s Primary 01")
    assert school_a.name in first  # one voted supporter: before the empty schools
    assert "St Mary&#x27;s Primary 52" in second and "Primary 52" not in first


# --- one change per tap key ----------------------------------------------------------


def test_the_same_tap_key_twice_makes_one_change(lead_a, school_a, open_ballot):
    contact = supporter(school_a, "Twice")

    first = gotv_tap_apply(actor=lead_a, contact=contact, key="tap-abcdef12", result="voted")
    again = gotv_tap_apply(actor=lead_a, contact=contact, key="tap-abcdef12", result="voted")

    assert (first.replayed, again.replayed) == (False, True)
    assert GotvTap.objects.count() == 1
    assert GotvEvent.objects.filter(contact=contact).count() == 1


def test_a_replayed_key_after_a_later_change_does_not_undo_it(lead_a, school_a, open_ballot):
    contact = supporter(school_a, "Later")
    gotv_tap_apply(actor=lead_a, contact=contact, key="tap-first-001", result="pledged")
    gotv_tap_apply(actor=lead_a, contact=contact, key="tap-second-01", result="voted")

    gotv_tap_apply(actor=lead_a, contact=contact, key="tap-first-001", result="pledged")

    contact.refresh_from_db()
    assert contact.gotv_status == Contact.Gotv.VOTED
    assert GotvEvent.objects.filter(contact=contact).count() == 2


def test_two_requests_racing_with_one_key_apply_it_once(lead_a, school_a, open_ballot, monkeypatch):
    """The second of two simultaneous requests misses the first's row when it looks,
    then meets the unique key when it inserts: it reports a replay, changes nothing."""
    from campaign import gotv

    contact = supporter(school_a, "Racing")
    gotv_tap_apply(actor=lead_a, contact=contact, key="race-key-0001", result="voted")
    monkeypatch.setattr(gotv, "_tap_with_key", lambda key: None)  # not committed yet

    outcome = gotv_tap_apply(actor=lead_a, contact=contact, key="race-key-0001", result="voted")

    assert outcome.replayed is True
    assert GotvTap.objects.count() == 1 and GotvEvent.objects.count() == 1


def test_a_key_reused_for_a_different_change_is_refused(lead_a, school_a, open_ballot):
    one, two = supporter(school_a, "One"), supporter(school_a, "Two")
    gotv_tap_apply(actor=lead_a, contact=one, key="tap-shared-01", result="voted")

    with pytest.raises(TapKeyError, match="already used for a different change"):
        gotv_tap_apply(actor=lead_a, contact=two, key="tap-shared-01", result="voted")
    two.refresh_from_db()
    assert two.gotv_status == Contact.Gotv.UNKNOWN


@pytest.mark.parametrize("key", ["", "short", "has spaces in it", "x" * 65, "semi;colon1"])
def test_a_tap_needs_a_well_formed_key(lead_a, school_a, key):
    with pytest.raises(TapKeyError):
        gotv_tap_apply(actor=lead_a, contact=supporter(school_a, "K"), key=key, result="pledged")


def test_the_tap_endpoint_answers_a_replay_without_applying_it_again(
    client_for, lead_a, school_a, open_ballot
):
    contact = supporter(school_a, "Http")
    client = client_for(lead_a)
    post = {"key": "0f1e2d3c-4b5a", "result": "voted", "note": "at the gate"}

    answers = [
        client.post(f"/canvass/supporters/{contact.pk}/tap/", post, HTTP_ACCEPT="application/json")
        for _ in range(3)
    ]

    assert [a.json()["replayed"] for a in answers] == [False, True, True]
    assert answers[0].json()["leaves_chase"] is True
    assert GotvTap.objects.count() == 1 and GotvEvent.objects.count() == 1
    assert ChaseState.objects.get(contact=contact).note == "at the gate"


def test_a_plain_form_tap_without_javascript_redirects_back_with_a_message(
    client_for, lead_a, school_a, open_ballot
):
    contact = supporter(school_a, "Nojs")
    response = client_for(lead_a).post(
        f"/canvass/supporters/{contact.pk}/tap/",
        {"key": "pagekey1-7", "result": "pledged", "next": "/canvass/chase/"},
        follow=True,
    )
    assert response.redirect_chain == [("/canvass/chase/", 302)]
    assert "Sam Nojs: Pledged." in response.content.decode()


# --- the ballot window -----------------------------------------------------------------


def test_before_the_ballot_opens_only_pledges_and_not_reached_are_offered(campaign):
    buttons = {
        b.value: b
        for b in result_buttons(
            values=[
                ("voted", "Voted"),
                ("pledged", "P"),
                ("not_reached", "N"),
                ("wont_vote", "W"),
                ("ballot_received", "B"),
            ]
        )
    }

    assert not buttons["voted"].allowed and not buttons["ballot_received"].allowed
    assert "once voting opens on" in buttons["voted"].reason
    assert all(buttons[v].allowed for v in ("pledged", "not_reached", "wont_vote"))


def test_once_the_ballot_is_open_every_result_is_offered(open_ballot):
    assert all(b.allowed for b in result_buttons(values=[("voted", "V"), ("ballot_received", "B")]))


def test_the_pages_disable_voted_before_the_ballot_opens_and_say_why(
    client_for, lead_a, school_a, campaign
):
    contact = supporter(school_a, "Early")
    client = client_for(lead_a)

    for path in ("/canvass/chase/", f"/canvass/schools/{school_a.pk}/tick/"):
        html = client.get(path).content.decode()
        assert 'value="voted" data-label="Voted" aria-pressed="false" disabled' in html, path
        assert 'id="why-voted"' in html and "once voting opens on" in html
        assert "alert(" not in html

    response = client.post(
        f"/canvass/supporters/{contact.pk}/tap/",
        {"key": "early-tap-01", "result": "voted"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "The ballot opens on" in response.json()["error"]
    assert not GotvTap.objects.exists()  # a refused tap is not kept: it may be sent later


def test_a_tap_the_window_forbids_raises_and_stores_nothing(lead_a, school_a, campaign):
    contact = supporter(school_a, "Refused")
    with pytest.raises(GotvRuleError):
        gotv_tap_apply(actor=lead_a, contact=contact, key="refused-tap1", result="voted")
    assert not GotvTap.objects.exists() and not ChaseState.objects.exists()


# --- needs an organiser ------------------------------------------------------------------


def test_a_lead_flags_a_supporter_and_organisers_see_it(
    client_for, lead_a, lead_b, organiser, school_a, contact_a, contact_b
):
    response = client_for(lead_a).post(
        f"/canvass/supporters/{contact_a.pk}/flag/",
        {"needs_organiser": "1", "note": "asks about the ballot paper", "next": "/canvass/chase/"},
    )
    assert response.status_code == 302
    chase_flag_set(actor=lead_b, contact=contact_b, needs_organiser=True)

    flags = chase_flags_for_organisers()
    assert {f.contact for f in flags} == {contact_a, contact_b}
    assert [f.contact for f in chase_flags_for_organisers(user=lead_a)] == [contact_a]
    flagged = next(f for f in flags if f.contact == contact_a)
    assert (flagged.note, flagged.updated_by) == ("asks about the ballot paper", lead_a)

    dashboard = client_for(organiser).get("/").content.decode()
    assert "Leads asking for an organiser" in dashboard
    assert "asks about the ballot paper" in dashboard and "asked by lead_a" in dashboard

    chase_flag_set(actor=organiser, contact=contact_a, needs_organiser=False)
    assert [f.contact for f in chase_flags_for_organisers()] == [contact_b]


# --- scope -----------------------------------------------------------------------------


def test_another_districts_chase_list_school_and_supporters_are_not_found(
    client_for, lead_a, district_b, school_b, contact_b, open_ballot
):
    client = client_for(lead_a)

    assert client.get(f"/canvass/chase/?district={district_b.pk}").status_code == 404
    assert client.get(f"/canvass/chase/?school={school_b.pk}").status_code == 404
    assert client.get(f"/canvass/my-schools/?district={district_b.pk}").status_code == 404
    tap = client.post(
        f"/canvass/supporters/{contact_b.pk}/tap/", {"key": "cross-tap-01", "result": "voted"}
    )
    flag = client.post(f"/canvass/supporters/{contact_b.pk}/flag/", {"needs_organiser": "1"})
    assert (tap.status_code, flag.status_code) == (404, 404)
    assert not GotvTap.objects.exists() and not ChaseState.objects.exists()
    html = client.get("/canvass/chase/").content.decode()
    assert "Nowak" not in html
    assert "Birch Academy" not in client.get("/canvass/my-schools/").content.decode()


def test_volunteers_cannot_chase_or_tap(client_for, volunteer, contact_a, open_ballot):
    client = client_for(volunteer)
    assert client.get("/canvass/chase/").status_code == 403
    assert client.get("/canvass/my-schools/").status_code == 403
    tap = client.post(
        f"/canvass/supporters/{contact_a.pk}/tap/", {"key": "vol-tap-0001", "result": "voted"}
    )
    assert tap.status_code == 403


def test_an_organiser_picks_a_district_before_my_schools_or_the_chase_list(
    client_for, organiser, district_a, district_b, contact_a, contact_b
):
    client = client_for(organiser)
    for path in ("/canvass/my-schools/", "/canvass/chase/"):
        html = client.get(path).content.decode()
        assert "choose a district" in html
        assert f"?district={district_a.pk}" in html and f"?district={district_b.pk}" in html
        assert "Nowak" not in html and "O&#x27;Neill" not in html
    chase = client.get(f"/canvass/chase/?district={district_b.pk}").content.decode()
    assert "Nowak, Tomasz" in chase and "O&#x27;Neill" not in chase
