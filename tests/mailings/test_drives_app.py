"""The drives web app: the composer's checks, presets, live count and exclusions, the
approval round trip with its notices, and reports scoped to who the viewer may see now."""

import csv
import io

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape

from campaign.models import AuditEvent, TeamMember
from campaign.roles import forget_scope
from contacts.models import Contact, Suppression
from contacts.suppression import address_hash
from mailings.app import live as live_views
from mailings.app.forms import filters_from
from mailings.app.selectors import PRESETS, LiveFigures, audience_exclusions, merge_hints
from mailings.models import Mailing, Recipient
from mailings.selectors import audience_contacts_for
from mailings.services import mailing_create, mailing_start
from tests.factories import ConsentedContactFactory, ContactFactory

pytestmark = pytest.mark.usefixtures("fast_sending")


@pytest.fixture
def voters(school_a, school_b):
    """District A and B supporters in every GOTV status, all with consent."""
    made = {}
    for school in (school_a, school_b):
        for status in Contact.Gotv.values:
            made[(school.district.name, status)] = ConsentedContactFactory(
                school=school, gotv_status=status, first_name=f"{status.title()}"
            )
    return made


def test_composer_names_an_unknown_field_and_suggests_the_nearest(client_for, volunteer):
    page = client_for(volunteer).post(
        reverse("drive-composer-check"),
        {"subject": "Hello {{ frist_name }}", "body": "Vote by {{ballot_close}}, {{ school }}."},
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "unknown merge field frist_name" in html
    assert "unknown merge field ballot_close" in html
    assert 'data-unknown="frist_name" data-suggestion="first_name"' in html
    assert 'data-unknown="ballot_close" data-suggestion="ballot_closes"' in html
    assert "Use {{ first_name }}" in html


def test_composer_says_when_the_text_is_fine_and_refuses_expressions(client_for, volunteer):
    client = client_for(volunteer)
    fine = client.post(
        reverse("drive-composer-check"), {"subject": "Hi {{ first_name }}", "body": "x"}
    )
    assert "are fine" in fine.content.decode()
    bad = client.post(
        reverse("drive-composer-check"), {"subject": "Hi", "body": "{{ user.password }}"}
    )
    assert "is not a merge field" in bad.content.decode()
    assert "only plain names" in bad.content.decode()


def test_the_field_picker_shows_this_campaigns_candidate_and_ballot_close(
    client_for, volunteer, campaign
):
    closes = date_format(timezone.localtime(campaign.ballot_closes), "l j F Y, H:i")
    html = client_for(volunteer).get(reverse("drive-new")).content.decode()
    assert closes in html
    assert escape(campaign.candidate) in html


def test_a_field_with_no_near_name_gets_no_suggestion():
    hints = merge_hints(subject="", body="{{ zzzzzz }} and {{ FIRST_NAME }}")
    assert [(h.unknown, h.suggestion) for h in hints] == [
        ("zzzzzz", None),
        ("FIRST_NAME", "first_name"),
    ]


def test_the_not_yet_voted_preset_selects_unknown_pledged_and_ballot_received(
    volunteer, voters, district_a
):
    label, statuses = PRESETS["not_yet_voted"]
    assert label == "Not yet voted"
    filters = filters_from(
        _query(gotv_statuses=list(statuses), districts=[district_a.pk]), user=volunteer
    )
    got = sorted(
        audience_contacts_for(user=volunteer, filters=filters).values_list("gotv_status", flat=True)
    )
    assert got == ["ballot_received", "pledged", "unknown"]


def test_the_pledged_but_not_voted_preset_selects_only_pledged(organiser, voters):
    _, statuses = PRESETS["pledged_not_voted"]
    filters = filters_from(_query(gotv_statuses=list(statuses)), user=organiser)
    got = set(
        audience_contacts_for(user=organiser, filters=filters).values_list("gotv_status", flat=True)
    )
    assert got == {"pledged"}
    assert audience_contacts_for(user=organiser, filters=filters).count() == 2


def _query(**lists):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, values in lists.items():
        query.setlist(key, [str(v) for v in values])
    return query


def test_the_live_count_changes_with_the_districts_and_stays_in_scope(
    client_for, organiser, volunteer, voters, district_a, district_b
):
    url = reverse("drive-composer-audience")
    statuses = "&".join(f"gotv_statuses={s}" for s in PRESETS["not_yet_voted"][1])
    one = client_for(organiser).get(f"{url}?{statuses}&districts={district_a.pk}")
    two = client_for(organiser).get(
        f"{url}?{statuses}&districts={district_a.pk}&districts={district_b.pk}"
    )
    assert '<strong id="audience-mailable">3</strong>' in one.content.decode()
    assert '<strong id="audience-mailable">6</strong>' in two.content.decode()
    # The volunteer ticking District B (not theirs) reaches only District A.
    mine = client_for(volunteer).get(
        f"{url}?{statuses}&districts={district_a.pk}&districts={district_b.pk}"
    )
    assert '<strong id="audience-mailable">3</strong>' in mine.content.decode()


def test_exclusions_list_who_is_left_out_and_why(volunteer, school_a, district_a):
    ConsentedContactFactory(school=school_a, first_name="Ffion", last_name="Mailable")
    ContactFactory(school=school_a, first_name="Nia", last_name="Noconsent")
    gone = ConsentedContactFactory(school=school_a, first_name="Uma", last_name="Unsubscribed")
    Suppression.objects.create(address_hash=address_hash(gone.email), reason="unsubscribed")
    bounced = ConsentedContactFactory(school=school_a, first_name="Bea", last_name="Bounced")
    Suppression.objects.create(address_hash=address_hash(bounced.email), reason="hard_bounce")
    filters = filters_from(_query(districts=[district_a.pk]), user=volunteer)
    page = audience_exclusions(user=volunteer, filters=filters, per_page=2)
    assert page.total == 3 and page.pages == 2
    assert page.counts == {"no_consent": 1, "unsubscribed": 1, "suppressed": 1, "duplicate": 0}
    second = audience_exclusions(user=volunteer, filters=filters, page=2, per_page=2)
    reasons = {r.contact.last_name: r.reason for r in page.rows + second.rows}
    assert reasons == {
        "Noconsent": "No current consent",
        "Unsubscribed": "Unsubscribed",
        "Bounced": "Suppressed (bounce or complaint)",
    }


def test_a_volunteer_asking_approval_tells_every_organiser(
    client_for, volunteer, organiser, campaign, voters, settings, django_capture_on_commit_callbacks
):
    settings.MAILING_APPROVAL_THRESHOLD = 2
    second = TeamMember.objects.get(user=organiser)
    other = type(organiser).objects.create(username="organiser2", email="org2@example.org")
    TeamMember.objects.create(user=other, role=second.role)
    drive = mailing_create(actor=volunteer, name="Big", subject="Hi {{ first_name }}", body="Vote")
    mail.outbox = []
    client = client_for(volunteer)
    confirm = client.get(reverse("drive-confirm", args=[drive.pk]))
    assert "Request approval" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(reverse("drive-confirm", args=[drive.pk]), {"when": "now"})
    assert asked.status_code == 302
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.AWAITING_APPROVAL
    notices = [m for m in mail.outbox if m.subject.startswith("Approval needed")]
    assert sorted(a for m in notices for a in m.to) == sorted([organiser.email, other.email])
    assert f"/drives/{drive.pk}/" in notices[0].body
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.DRIVE_APPROVAL_REQUEST, target_id=str(drive.pk)
    ).exists()
    dashboard = client_for(organiser).get(reverse("home")).content.decode()
    assert "Big" in dashboard


def test_an_organiser_sends_a_drive_back_with_a_comment_and_the_author_is_told(
    client_for, volunteer, organiser, campaign, voters, settings, django_capture_on_commit_callbacks
):
    settings.MAILING_APPROVAL_THRESHOLD = 2
    drive = mailing_start(
        actor=volunteer,
        mailing=mailing_create(actor=volunteer, name="Big", subject="Hi", body="Vote"),
    )
    assert drive.status == Mailing.Status.AWAITING_APPROVAL
    mail.outbox = []
    client = client_for(organiser)
    empty = client.post(reverse("drive-send-back", args=[drive.pk]), {"comment": " "})
    assert empty.status_code == 302
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.AWAITING_APPROVAL
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("drive-send-back", args=[drive.pk]), {"comment": "Name the candidate."})
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.DRAFT
    assert "Name the candidate." in drive.status_reason
    told = [m for m in mail.outbox if m.to == [volunteer.email]]
    assert told and "Name the candidate." in told[0].body
    event = AuditEvent.objects.get(action=AuditEvent.Action.DRIVE_SEND_BACK)
    assert event.detail == {"comment": "Name the candidate."} and event.actor == organiser
    page = client_for(volunteer).get(reverse("drive-detail", args=[drive.pk])).content.decode()
    assert "Name the candidate." in page


def test_an_organiser_approves_from_the_drive_page_and_it_sends(
    client_for, volunteer, organiser, campaign, voters, settings
):
    settings.MAILING_APPROVAL_THRESHOLD = 2
    drive = mailing_start(
        actor=volunteer,
        mailing=mailing_create(actor=volunteer, name="Big", subject="Hi", body="Vote"),
    )
    client_for(organiser).post(reverse("drive-approve", args=[drive.pk]))
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SENDING and drive.approved_by == organiser
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DRIVE_APPROVE).count() == 1


@pytest.fixture
def sent_drive(volunteer, campaign, contact_a, contact_b, district_a, district_b):
    """A volunteer's drive to District A and B supporters, already sent (the volunteer
    was given District B for it)."""
    member = TeamMember.objects.get(user=volunteer)
    member.districts.add(district_b)
    forget_scope(volunteer)
    drive = mailing_create(actor=volunteer, name="Both", subject="Hi", body="Vote")
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.DONE)
    for contact in (contact_a, contact_b):
        Recipient.objects.create(
            mailing=drive,
            contact=contact,
            email=contact.email,
            email_hash=contact.email_hash,
            status=Recipient.Status.SENT,
        )
    return drive


def test_the_csv_lists_only_supporters_the_viewer_may_see_at_download_time(
    client_for, volunteer, sent_drive, contact_a, contact_b, district_b
):
    client = client_for(volunteer)
    before = client.get(reverse("drive-report-csv", args=[sent_drive.pk])).content.decode()
    assert contact_a.email in before and contact_b.email in before
    TeamMember.objects.get(user=volunteer).districts.remove(district_b)
    forget_scope(volunteer)
    after = client.get(reverse("drive-report-csv", args=[sent_drive.pk]))
    rows = list(csv.reader(io.StringIO(after.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [contact_a.email]
    assert contact_b.email not in after.content.decode("utf-8-sig")
    admin_csv = client.get(f"/admin/mailings/mailing/{sent_drive.pk}/report.csv").content
    assert contact_b.email.encode() not in admin_csv and contact_a.email.encode() in admin_csv


def test_the_report_counts_only_supporters_the_viewer_may_see_now(
    client_for, volunteer, organiser, sent_drive, district_b
):
    TeamMember.objects.get(user=volunteer).districts.remove(district_b)
    forget_scope(volunteer)
    mine = client_for(volunteer).get(reverse("drive-report", args=[sent_drive.pk]))
    assert "1 recipient you can see" in mine.content.decode()
    everyone = client_for(organiser).get(reverse("drive-report", args=[sent_drive.pk]))
    assert "2 recipients you can see" in everyone.content.decode()


def test_the_drive_list_is_scoped_and_filters_by_state(client_for, volunteer, organiser, campaign):
    mine = mailing_create(actor=volunteer, name="Mine", subject="Hi", body="Vote")
    theirs = mailing_create(actor=organiser, name="Organiser's own", subject="Hi", body="Vote")
    Mailing.objects.filter(pk=theirs.pk).update(status=Mailing.Status.DONE)
    listed = client_for(volunteer).get(reverse("drive-list")).content.decode()
    assert "Mine" in listed and "Organiser&#x27;s own" not in listed and "New drive" in listed
    client = client_for(organiser)
    done = client.get(reverse("drive-list") + "?state=done").content.decode()
    assert "Organiser&#x27;s own" in done and f"/drives/{mine.pk}/" not in done


def test_the_live_panel_polls_while_sending_and_stops_when_done(client_for, volunteer, campaign):
    drive = mailing_create(actor=volunteer, name="Live", subject="Hi", body="Vote")
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.SENDING)
    client = client_for(volunteer)
    url = reverse("drive-detail", args=[drive.pk]) + "?panel=progress"
    sending = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in sending and 'hx-swap-oob="true"' in sending
    assert "<html" not in sending
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.DONE)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "every 1s" not in done and "Done" in done


def test_a_union_wide_drive_refreshes_its_live_panel_less_often(
    client_for, volunteer, campaign, monkeypatch
):
    drive = mailing_create(actor=volunteer, name="Everyone", subject="Hi", body="Vote")
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.SENDING)
    monkeypatch.setattr(
        live_views, "drive_live_figures", lambda *, mailing: _figures(total=450_000)
    )
    url = reverse("drive-detail", args=[drive.pk]) + "?panel=progress"

    panel = client_for(volunteer).get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 5s"' in panel and "every 1s" not in panel


def _figures(*, total: int):
    progress = dict.fromkeys(Recipient.Status.values, 0)
    progress["queued"] = total
    return LiveFigures(progress, total, 0, 0, "")


def test_organisers_send_unknown_rows_again_from_the_drive_page_and_it_is_audited(
    client_for, volunteer, organiser, campaign, contact_a, django_capture_on_commit_callbacks
):
    drive = mailing_create(actor=volunteer, name="Cut off", subject="Hi", body="Vote")
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.DONE)
    row = Recipient.objects.create(
        mailing=drive,
        contact=contact_a,
        email=contact_a.email,
        email_hash=contact_a.email_hash,
        status=Recipient.Status.UNKNOWN,
        error="The sending task stopped mid-send",
    )
    page = client_for(volunteer).get(reverse("drive-detail", args=[drive.pk])).content.decode()
    assert "Unknown rows to review" in page and 'name="row"' not in page
    refused = client_for(volunteer).post(
        reverse("drive-send-again", args=[drive.pk]), {"row": row.pk}
    )
    assert refused.status_code == 403
    organiser_page = client_for(organiser).get(reverse("drive-detail", args=[drive.pk]))
    assert f'value="{row.pk}"' in organiser_page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        client_for(organiser).post(reverse("drive-send-again", args=[drive.pk]), {"row": row.pk})
    row.refresh_from_db()
    assert row.status == Recipient.Status.QUEUED and "after review" in row.error
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.DRIVE_START, target_id=str(drive.pk), actor=organiser
    ).exists()


def test_the_outbox_shows_others_only_their_own_test_messages(
    client_for, volunteer, organiser, campaign, contact_a, settings, tmp_path
):
    from mailings.services import mailing_test_send

    settings.EMAIL_BACKEND = "campaign.email.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    drive = mailing_create(actor=volunteer, name="T", subject="Hi {{ first_name }}", body="Vote")
    mailing_test_send(actor=volunteer, mailing=drive, contact=contact_a)
    mailing_test_send(actor=organiser, mailing=drive, contact=contact_a)
    mail.EmailMessage("Supporter mail", "x", None, [contact_a.email]).send()
    mine = client_for(volunteer).get(reverse("outbox")).content.decode()
    assert mine.count("[TEST] Hi Siân") == 1 and "Supporter mail" not in mine
    assert organiser.email not in mine and contact_a.email not in mine
    everything = client_for(organiser).get(reverse("outbox")).content.decode()
    assert everything.count("[TEST] Hi Siân") == 2 and "Supporter mail" in everything
    found = client_for(organiser).get(reverse("outbox") + f"?q={contact_a.email}").content.decode()
    assert "Supporter mail" in found and "[TEST]" not in found


def test_the_confirmation_step_schedules_for_later_or_says_what_is_wrong(
    client_for, volunteer, campaign, contact_a
):
    from datetime import timedelta

    from django.utils import timezone

    drive = mailing_create(actor=volunteer, name="Later", subject="Hi {{ first_name }}", body="x")
    client = client_for(volunteer)
    page = client.get(reverse("drive-confirm", args=[drive.pk])).content.decode()
    assert '<strong id="confirm-count">1</strong> supporter' in page
    assert f"{campaign.sender_name} &lt;{campaign.sender_email}&gt;" in page
    assert "Hi {{ first_name }}" in page
    url = reverse("drive-confirm", args=[drive.pk])
    past = timezone.localtime() - timedelta(hours=1)
    refused = client.post(url, {"when": "later", "scheduled_for": past.strftime("%Y-%m-%dT%H:%M")})
    assert refused.status_code == 200 and "Choose a time in the future." in refused.content.decode()
    missing = client.post(url, {"when": "later"})
    assert "Choose when to send it." in missing.content.decode()
    at = (timezone.localtime() + timedelta(days=1)).replace(second=0, microsecond=0)
    done = client.post(url, {"when": "later", "scheduled_for": at.strftime("%Y-%m-%dT%H:%M")})
    assert done.status_code == 302
    drive.refresh_from_db()
    assert drive.status == Mailing.Status.SCHEDULED and drive.scheduled_for == at
    assert not Recipient.objects.filter(mailing=drive).exists()


def test_the_live_page_says_why_the_guard_paused_a_drive(client_for, volunteer, campaign):
    from django.utils import timezone

    from mailings.models import MailingGuard

    drive = mailing_create(actor=volunteer, name="Guarded", subject="Hi", body="Vote")
    reason = "Spam complaints at 0.6% of 500 delivered or bounced (limit 0.3%)"
    Mailing.objects.filter(pk=drive.pk).update(status=Mailing.Status.PAUSED, status_reason=reason)
    MailingGuard.objects.create(mailing=drive, paused_at=timezone.now(), reason=reason)
    page = client_for(volunteer).get(reverse("drive-detail", args=[drive.pk])).content.decode()
    assert f"Paused automatically: {reason}" in page
    assert reverse("drive-resume", args=[drive.pk]) in page
