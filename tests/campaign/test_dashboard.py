"""Each role's dashboard shows the right figures for known data, and only its scope."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.models import AuditEvent
from campaign.selectors import (
    ballot_countdown,
    chase_next,
    district_turnout,
    lead_school_progress,
)
from contacts.models import Contact, ImportBatch
from mailings.models import Mailing, Recipient
from tests.factories import (
    CampaignFactory,
    ConsentedContactFactory,
    ContactFactory,
    SchoolFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_campaign(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=3), ballot_closes=now + timedelta(days=21)
    )


@pytest.fixture
def supporters(school_a, school_b, district_a):
    """District A: 5 supporters at two schools (1 voted); district B: 2 (both voted)."""
    second_a = SchoolFactory(name="Ash Grove Infants", urn="200001", district=district_a)
    people = {
        "pledged_a": ConsentedContactFactory(
            first_name="Pat", last_name="Pledger", school=school_a, gotv_status="pledged"
        ),
        "unknown_a": ContactFactory(
            first_name="Uma", last_name="Unknown", school=school_a, gotv_status="unknown"
        ),
        "voted_a": ConsentedContactFactory(
            first_name="Vic", last_name="Voter", school=school_a, gotv_status="voted"
        ),
        "wont_a": ContactFactory(
            first_name="Wyn", last_name="Wont", school=second_a, gotv_status="wont_vote"
        ),
        "ballot_a": ContactFactory(
            first_name="Bea", last_name="Ballot", school=second_a, gotv_status="ballot_received"
        ),
        "voted_b1": ConsentedContactFactory(school=school_b, gotv_status="voted"),
        "voted_b2": ContactFactory(school=school_b, gotv_status="voted"),
    }
    people["second_a"] = second_a
    return people


# --- Figures for everyone --------------------------------------------------------------


def test_countdown_counts_days_to_the_close_while_the_ballot_is_open(open_campaign):
    countdown = ballot_countdown(campaign=open_campaign)
    assert (countdown.phase, countdown.days) == ("open", 21)


def test_countdown_counts_days_to_the_opening_before_it(campaign):
    countdown = ballot_countdown(campaign=campaign, now=campaign.ballot_opens - timedelta(days=2))
    assert (countdown.phase, countdown.days, countdown.at) == ("before", 2, campaign.ballot_opens)


def test_countdown_says_closed_after_the_close(campaign):
    countdown = ballot_countdown(campaign=campaign, now=campaign.ballot_closes + timedelta(hours=1))
    assert countdown.phase == "closed"


def test_turnout_by_district_marks_a_leads_own_district(lead_a, district_a, district_b, supporters):
    lines = {line.name: line for line in district_turnout(user=lead_a)}
    assert (lines["District A"].supporters, lines["District A"].voted) == (5, 1)
    assert (lines["District B"].supporters, lines["District B"].voted) == (2, 2)
    assert lines["District A"].mine and not lines["District B"].mine
    # Highest turnout first.
    assert [line.name for line in district_turnout(user=lead_a)] == ["District B", "District A"]


def test_organisers_chart_marks_no_district_as_theirs(organiser, supporters):
    assert not any(line.mine for line in district_turnout(user=organiser))


def test_lead_dashboard_shows_counts_only_for_their_own_district(
    client_for, lead_a, open_campaign, supporters
):
    response = client_for(lead_a).get(reverse("home"))
    assert response.status_code == 200
    assert [line.name for line in response.context["my_districts"]] == ["District A"]
    page = response.content.decode()
    # District B's percentage is on the chart, but not its supporter numbers.
    assert "District B" in page and "100%" in page
    table = page[page.index("<caption>Your district") :]
    assert "District B" not in table
    assert response.context["counts"]["contacts"] == 5
    assert response.context["counts"]["voted"] == 1
    assert response.context["countdown"].days == 21
    assert "left to vote" in page


def test_dashboard_without_a_campaign_says_so(client_for, organiser):
    response = client_for(organiser).get(reverse("home"))
    assert "No active campaign yet." in response.content.decode()


# --- District leads ----------------------------------------------------------------------


def test_lead_school_progress_counts_each_status_and_sorts_by_not_yet_voted(
    lead_a, supporters, school_a
):
    schools = lead_school_progress(user=lead_a)
    assert [s.name for s in schools] == ["Alder Primary School", "Ash Grove Infants"]
    alder, ash = schools
    assert (alder.supporters, alder.voted, alder.pledged, alder.not_yet_voted) == (3, 1, 1, 2)
    assert (ash.supporters, ash.voted, ash.not_yet_voted, ash.by_status["wont_vote"]) == (
        2,
        0,
        1,
        1,
    )
    assert alder.percent_voted == 33


def test_lead_school_progress_never_includes_another_districts_school(lead_a, supporters):
    assert "Birch Academy" not in {s.name for s in lead_school_progress(user=lead_a)}


def test_chase_next_puts_pledges_first_and_leaves_out_voted_and_wont_vote(lead_a, supporters):
    chased = chase_next(user=lead_a, limit=10)
    assert [c.last_name for c in chased] == ["Pledger", "Ballot", "Unknown"]


def test_chase_next_is_limited(lead_a, supporters):
    assert len(chase_next(user=lead_a, limit=2)) == 2


def test_lead_dashboard_lists_schools_and_chase_next(client_for, lead_a, open_campaign, supporters):
    response = client_for(lead_a).get(reverse("home"))
    assert [s.name for s in response.context["schools"]] == [
        "Alder Primary School",
        "Ash Grove Infants",
    ]
    assert [c.last_name for c in response.context["chase"]] == ["Pledger", "Ballot", "Unknown"]
    page = response.content.decode()
    assert reverse("canvass-tick", args=[supporters["second_a"].pk]) in page
    assert reverse("contact-detail", args=[supporters["pledged_a"].pk]) in page


# --- Organisers ---------------------------------------------------------------------------


def _drive(user, status, name="Week one push", **extra):
    return Mailing.objects.create(
        name=name, subject="Your ballot", body="Vote!", created_by=user, status=status, **extra
    )


def _rows(mailing, **by_status):
    contacts = iter(ContactFactory.create_batch(sum(by_status.values()), school=None))
    for status, count in by_status.items():
        for _ in range(count):
            contact = next(contacts)
            Recipient.objects.create(
                mailing=mailing,
                contact=contact,
                email=contact.email,
                email_hash=contact.email_hash,
                status=status,
                lease_until=timezone.now() if status == "sending" else None,
            )


def test_organiser_sees_drives_waiting_for_approval_with_the_button(
    client_for, organiser, volunteer, open_campaign
):
    waiting = _drive(volunteer, Mailing.Status.AWAITING_APPROVAL, name="Big push")
    _drive(volunteer, Mailing.Status.DRAFT, name="Draft only")
    response = client_for(organiser).get(reverse("home"))
    assert response.context["awaiting"] == [waiting]
    page = response.content.decode()
    assert reverse("dashboard-drive-approve", args=[waiting.pk]) in page
    assert "Draft only" not in page


def test_approve_button_approves_through_the_drive_service(
    client_for, organiser, volunteer, open_campaign, contact_a
):
    waiting = _drive(volunteer, Mailing.Status.AWAITING_APPROVAL, name="Big push")
    response = client_for(organiser).post(reverse("dashboard-drive-approve", args=[waiting.pk]))
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.approved_by == organiser
    assert waiting.status in (Mailing.Status.SENDING, Mailing.Status.DONE)
    assert AuditEvent.objects.filter(action="drive_approve", target_id=str(waiting.pk)).exists()


def test_approving_a_drive_that_no_longer_waits_shows_why(client_for, organiser, volunteer):
    draft = _drive(volunteer, Mailing.Status.DRAFT)
    response = client_for(organiser).post(
        reverse("dashboard-drive-approve", args=[draft.pk]), follow=True
    )
    assert "is not awaiting approval" in response.content.decode()
    draft.refresh_from_db()
    assert draft.approved_by is None


def test_volunteers_cannot_use_the_approve_button(client_for, volunteer):
    waiting = _drive(volunteer, Mailing.Status.AWAITING_APPROVAL)
    response = client_for(volunteer).post(reverse("dashboard-drive-approve", args=[waiting.pk]))
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.approved_by is None


def test_sending_drives_show_progress_from_their_rows(client_for, organiser, volunteer):
    sending = _drive(volunteer, Mailing.Status.SENDING, started_at=timezone.now())
    _rows(sending, sent=6, failed=1, queued=3)
    _drive(volunteer, Mailing.Status.DONE, name="Finished")
    response = client_for(organiser).get(reverse("home"))
    (line,) = response.context["sending"]
    assert (line.mailing, line.total, line.finished, line.sent) == (sending, 10, 7, 6)
    assert '<progress max="10" value="7"' in response.content.decode()


def test_sending_panel_is_a_partial_for_htmx_polling(client_for, organiser, volunteer):
    sending = _drive(volunteer, Mailing.Status.SENDING, started_at=timezone.now())
    _rows(sending, sent=2, queued=2)
    response = client_for(organiser).get(
        reverse("home"), {"panel": "sending"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert "<html" not in page and 'id="drives-sending"' in page
    assert 'hx-trigger="every 5s"' in page


def test_unknown_rows_are_counted_per_drive(client_for, organiser, volunteer):
    drive = _drive(volunteer, Mailing.Status.DONE)
    _rows(drive, sent=4, unknown=3)
    response = client_for(organiser).get(reverse("home"))
    assert response.context["unknown"] == [(drive, 3)]


def test_recent_imports_are_listed_newest_first(client_for, organiser):
    old = ImportBatch.objects.create(
        file_name="old.csv",
        sha256="a",
        status="done",
        created_at=timezone.now() - timedelta(days=2),
    )
    new = ImportBatch.objects.create(
        file_name="new.xlsx", sha256="b", status="done", counts={"created": 12, "updated": 3}
    )
    response = client_for(organiser).get(reverse("home"))
    assert response.context["imports"] == [new, old]
    assert "12 new, 3 updated" in response.content.decode()


# --- Volunteers -------------------------------------------------------------------------


def test_volunteer_sees_their_own_drives_with_state_and_a_new_drive_button(
    client_for, volunteer, open_campaign
):
    mine = _drive(volunteer, Mailing.Status.AWAITING_APPROVAL, name="Mine")
    other = UserFactory(username="other_volunteer")
    _drive(other, Mailing.Status.DRAFT, name="Someone else's")
    response = client_for(volunteer).get(reverse("home"))
    assert [line.mailing for line in response.context["drives"]] == [mine]
    page = response.content.decode()
    assert "Someone else" not in page
    assert "Awaiting approval" in page
    # The drives app, not the admin: the new-drive button and each drive's own page.
    assert reverse("drive-new") in page
    assert reverse("drive-detail", args=[mine.pk]) in page
    assert "/admin/mailings/" not in page


def test_volunteer_dashboard_has_no_organiser_panels(client_for, volunteer):
    response = client_for(volunteer).get(reverse("home"))
    assert "awaiting" not in response.context
    assert "Waiting for your approval" not in response.content.decode()


def test_dashboard_figures_use_one_query_per_group_not_one_per_district(
    client_for, organiser, django_assert_max_num_queries, open_campaign
):
    for _ in range(12):
        ContactFactory.create_batch(2, school=SchoolFactory(), gotv_status=Contact.Gotv.VOTED)
    client = client_for(organiser)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("home"))
    assert len(response.context["chart"].bars) == 12


# --- The chart at union shape -----------------------------------------------------------


def _lines(n, mine=()):
    from campaign.selectors import DistrictTurnout

    return sorted(
        (
            DistrictTurnout(
                district_id=i,
                name=f"District {i:03d}",
                supporters=100,
                voted=i % 60,
                mine=i in mine,
            )
            for i in range(n)
        ),
        key=lambda line: (-line.percent, line.name),
    )


def test_up_to_thirty_districts_get_one_labelled_bar_each():
    from campaign.charts import turnout_chart

    chart = turnout_chart(_lines(30, mine={7}))
    assert chart.kind == "bars" and len(chart.bars) == 30
    assert [bar.label for bar in chart.bars if bar.mine] == ["District 007"]
    widest = max(chart.bars, key=lambda bar: bar.width)
    assert widest.value == "29%" and widest.width == pytest.approx(0.29 * chart.width)


def test_a_union_of_150_districts_gets_one_column_each_with_the_users_marked():
    from campaign.charts import turnout_chart

    chart = turnout_chart(_lines(150, mine={3, 140}))
    assert chart.kind == "columns" and len(chart.bars) == 150
    assert sum(bar.mine for bar in chart.bars) == 2
    # Columns side by side across the width, tallest first.
    assert chart.bars[-1].x + chart.bars[-1].width <= chart.width + 0.01
    assert chart.bars[0].height >= chart.bars[-1].height
    assert "District 003 3.0% (139th of 150)" in chart.summary


def test_no_supporters_means_no_chart():
    from campaign.charts import turnout_chart

    assert turnout_chart([]) is None
