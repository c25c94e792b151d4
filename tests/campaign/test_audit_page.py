"""The audit trail page: a readable sentence for every action, filters, CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.audit_sentences import PHRASES, audit_sentence
from campaign.models import AuditEvent
from campaign.services import audit_record
from contacts.models import ImportBatch
from tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db
A = AuditEvent.Action

# One realistic event per action (counts and detail as the services write them) and
# what its sentence must say.
EXAMPLES = {
    A.IMPORT: (
        {"created": 212, "updated": 31, "rejected_no_consent": 4, "rejected_invalid_email": 1},
        {"file_name": "conference.xlsx", "districts_mapped": 1, "schools_mapped": 0},
        "lead_a imported conference.xlsx (212 supporters added, 31 updated, 5 rejected; "
        "1 new place mapped onto existing ones)",
    ),
    A.IMPORT_UNDO: (
        {"contacts_removed": 9, "contacts_restored": 2, "contacts_kept": 1, "changes_kept": 0},
        {},
        "lead_a undid the import TARGET (9 supporters removed, 2 restored, 1 kept)",
    ),
    A.DRIVE_START: (
        {"recipients": 1200},
        {"approved_by": "organiser"},
        "lead_a started the drive TARGET (1,200 recipients, approved by organiser)",
    ),
    A.DRIVE_APPROVE: (
        {"audience": 1200},
        {},
        "lead_a approved the drive TARGET (1,200 supporters to email)",
    ),
    A.DRIVE_APPROVAL_REQUEST: (
        {"audience": 120000},
        {},
        "lead_a asked organisers to approve the drive TARGET (120,000 supporters to email)",
    ),
    A.DRIVE_SEND_BACK: (
        {},
        {"comment": "Say which district"},
        "lead_a sent the drive TARGET back for changes: “Say which district”",
    ),
    A.DRIVE_PAUSE: (
        {},
        {"reason": "Paused by lead_a"},
        "lead_a paused the drive TARGET (Paused by lead_a)",
    ),
    A.DRIVE_RESUME: ({}, {}, "lead_a resumed the drive TARGET"),
    A.DRIVE_CANCEL: ({}, {}, "lead_a cancelled the drive TARGET"),
    A.DRIVE_RECONCILE: (
        {"checked": 40, "proven_sent": 37, "proven_not_sent": 2, "still_unknown": 1},
        {"esp": "Mailgun"},
        "lead_a asked the ESP about the unknown rows of TARGET: 37 proven sent, "
        "2 proven not sent, 1 still unknown",
    ),
    A.CANVASS_PRINT: (
        {"rows": 6, "pages": 1},
        {"sheet_code": "X", "with_email": False, "via": "web", "format": "pdf"},
        "lead_a printed the sheet of TARGET (6 supporters)",
    ),
    A.EXPORT: (
        {"rows": 40},
        {"what": "rejected import rows", "format": "csv"},
        "lead_a exported rejected import rows of TARGET (40 rows, CSV)",
    ),
    A.ROLE_CHANGE: (
        {},
        {
            "before": {"role": "lead", "districts": ["Cardiff"], "all_districts": False},
            "after": {"role": "organiser", "districts": [], "all_districts": False},
        },
        "lead_a changed TARGET from district lead (Cardiff) to organiser",
    ),
    A.CONSENT_WITHDRAW: (
        {"consent_records": 1},
        {"how": "unsubscribe_link"},
        "lead_a recorded 1 withdrawal of consent (unsubscribe link)",
    ),
    A.CONTACT_CHANGE: (
        {},
        {"fields": ["mobile", "school"], "via": "app"},
        "lead_a changed the mobile, school of TARGET",
    ),
    A.SEED: (
        {"contacts": 5000, "schools": 300},
        {},
        "lead_a seeded demo data (5,000 supporters, 300 schools)",
    ),
    A.SCHOOLS_SPLIT: (
        {"schools_created": 2, "contacts_moved": 14},
        {},
        "lead_a split merged schools (2 schools created, 14 supporters moved)",
    ),
    A.ACCOUNT_CHANGE: (
        {},
        {"changed": ["is_active"], "is_active": {"before": True, "after": False}},
        "lead_a deactivated the account TARGET",
    ),
    A.SECOND_FACTOR: (
        {},
        {"enrolled": "Authenticator app"},
        "lead_a set up a second factor for TARGET",
    ),
    A.SIGN_IN_UNLOCK: (
        {},
        {"username": "lead_b", "failures": 5},
        "lead_a lifted the sign-in lockout of lead_b (5 failed attempts)",
    ),
    A.SUBJECT_ACCESS: (
        {},
        {"format": "pdf", "via": "web"},
        "lead_a made a subject access copy of TARGET (PDF)",
    ),
    A.ERASURE: ({"recipients": 2}, {"why": "request"}, "lead_a erased TARGET (request)"),
    A.RETENTION: (
        {"supporters": 30},
        {},
        "lead_a erased supporters kept past the retention period (30 supporters)",
    ),
    A.EMAIL_CHANGE: (
        {},
        {"change": 1, "state": "applied"},
        "lead_a applied a change of address for TARGET",
    ),
    A.INVITATION_SEND: (
        {},
        {"email": "new@example.org", "role": "lead", "districts": ["Cardiff"]},
        "lead_a invited new@example.org as district lead (Cardiff)",
    ),
    A.INVITATION_ACCEPT: (
        {},
        {"invited_by": "organiser"},
        "TARGET accepted their invitation and set a password",
    ),
    A.CAMPAIGN_CHANGE: (
        {},
        {
            "fields": ["ballot_closes"],
            "before": {"ballot_closes": "2026-12-20T17:00:00+00:00"},
            "after": {"ballot_closes": "2026-12-22T17:00:00+00:00"},
        },
        "lead_a changed the campaign settings of TARGET: ballot closes from "
        "20 Dec 2026 17:00 to 22 Dec 2026 17:00",
    ),
}


def test_every_action_type_has_a_sentence():
    assert set(PHRASES) == set(A.values)
    assert set(EXAMPLES) == set(A.values)


@pytest.mark.parametrize("action", list(EXAMPLES))
def test_each_action_reads_as_a_sentence(action, lead_a, school_a):
    counts, detail, expected = EXAMPLES[action]
    event = audit_record(actor=lead_a, action=action, target=school_a, counts=counts, detail=detail)
    assert audit_sentence(event) == expected.replace("TARGET", str(school_a))


def test_the_example_in_the_issue_reads_as_written(lead_a):
    school = SchoolFactory(name="St Mary's RC Primary", urn=None)
    event = audit_record(
        actor=lead_a,
        action=A.CANVASS_PRINT,
        target=school,
        counts={"rows": 6, "pages": 1},
        detail={"with_email": False, "format": "pdf"},
    )
    assert (
        audit_sentence(event) == "lead_a printed the sheet of St Mary's RC Primary (6 supporters)"
    )


def test_an_event_by_nobody_is_the_systems():
    event = audit_record(actor=None, action=A.RETENTION, counts={"supporters": 2})
    assert audit_sentence(event).startswith("The system erased")


@pytest.fixture
def trail(organiser, lead_a, school_a, school_b):
    old = audit_record(actor=lead_a, action=A.CANVASS_PRINT, target=school_a, counts={"rows": 6})
    # The trail refuses updates, so an older event is created with its date.
    events = {
        "old_print": AuditEvent.objects.create(
            actor=lead_a,
            actor_label="lead_a",
            action=A.CANVASS_PRINT,
            target_type="contacts.school",
            target_id=str(school_b.pk),
            target_label=str(school_b),
            counts={"rows": 3},
            created_at=timezone.now() - timedelta(days=10),
        ),
        "print": old,
        "export": audit_record(
            actor=organiser,
            action=A.EXPORT,
            target=school_a,
            counts={"rows": 2},
            detail={"what": '=HYPERLINK("http://evil")', "format": "csv"},
        ),
        "system": audit_record(actor=None, action=A.RETENTION, counts={"supporters": 1}),
    }
    return events


def test_the_audit_page_filters_by_actor_action_date_and_target(
    client_for, organiser, trail, school_a
):
    client = client_for(organiser)
    page = client.get(reverse("audit"))
    body = page.content.decode()
    assert "lead_a printed the sheet of Alder Primary School (100001) (6 supporters)" in body
    assert "{&quot;" not in body and "{'" not in body

    def shown(**query):
        response = client.get(reverse("audit"), query)
        assert response.status_code == 200
        return {event.pk for event, _ in response.context["lines"]}

    assert shown(actor="lead_a") == {trail["old_print"].pk, trail["print"].pk}
    assert shown(actor="-") == {trail["system"].pk}
    assert shown(action="export") == {trail["export"].pk}
    today = timezone.localdate()
    assert trail["old_print"].pk not in shown(date_from=(today - timedelta(days=1)).isoformat())
    assert shown(date_to=(today - timedelta(days=5)).isoformat()) == {trail["old_print"].pk}
    assert shown(target="birch") == {trail["old_print"].pk}
    bad = client.get(
        reverse("audit"),
        {"date_from": today.isoformat(), "date_to": (today - timedelta(days=2)).isoformat()},
    )
    assert bad.status_code == 400 and "before the start date" in bad.content.decode()


def test_the_audit_export_is_formula_safe_filtered_and_itself_audited(client_for, organiser, trail):
    response = client_for(organiser).get(reverse("audit-export"), {"action": "export"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["When", "Who", "Action", "What happened", "About"]
    assert len(rows) == 2  # the filter applied: only the one export before this one
    assert rows[1][3].startswith("organiser exported")
    # The export's sentence starts with the actor, so no formula; the raw label is
    # neutralised too.
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    exported = AuditEvent.objects.filter(action=A.EXPORT, detail__what="audit trail").get()
    assert exported.counts == {"rows": 1} and exported.actor == organiser


def test_only_organisers_read_the_trail(client_for, lead_a, volunteer):
    assert client_for(lead_a).get(reverse("audit")).status_code == 403
    assert client_for(volunteer).get(reverse("audit-export")).status_code == 403


def test_an_import_is_described_by_file_not_json(organiser):
    batch = ImportBatch.objects.create(created_by=organiser, file_name="x.csv", sha256="f" * 64)
    event = audit_record(
        actor=organiser,
        action=A.IMPORT,
        target=batch,
        counts={"created": 1},
        detail={"file_name": "x.csv", "sha256": "f" * 64},
    )
    assert "f" * 64 not in audit_sentence(event)
