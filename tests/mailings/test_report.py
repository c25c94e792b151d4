"""Drive reports: counts and rates, the hourly timeline, the scoped and audited CSV of
each recipient's status, and ``manage.py mailing_report``."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from campaign.models import AuditEvent
from mailings.app.report import funnel_chart
from mailings.models import DeliveryEvent, Mailing, Recipient
from mailings.reports import drive_report, timeline_chart
from mailings.services.tracking import tracking_event_record
from tests.factories import ConsentedContactFactory

pytestmark = pytest.mark.usefixtures("fast_sending")

HOUR = timezone.now().replace(minute=5, second=0, microsecond=0) - timedelta(hours=3)


@pytest.fixture
def reported_drive(make_drive, volunteer, contact_a, school_a):
    """Ten sent rows of District A's supporters (the volunteer's district) with a known
    mix of delivery events over two hours."""
    drive = make_drive()
    Mailing.objects.filter(pk=drive.pk).update(
        status=Mailing.Status.DONE, started_at=HOUR, recipient_count=11
    )
    drive.refresh_from_db()
    addresses = [
        f"=cmd|' /C calc'!A{n}@example.org" if n == 0 else f"r{n}@example.org" for n in range(10)
    ]
    rows = Recipient.objects.bulk_create(
        Recipient(
            mailing=drive,
            contact=ConsentedContactFactory(school=school_a, email=addresses[n]),
            email=addresses[n],
            email_hash="",
            status=Recipient.Status.SENT,
            sent_at=HOUR,
            esp_message_id=f"<{n}@mg.example.org>",
        )
        for n in range(10)
    )
    Recipient.objects.create(
        mailing=drive,
        contact=ConsentedContactFactory(school=school_a, email="f@example.org"),
        email="f@example.org",
        email_hash="",
        status="failed",
        error="Refused",
    )

    def event(row, kind, minutes, n=0, **extra):
        tracking_event_record(
            event=AnymailTrackingEvent(
                event_type=kind,
                event_id=f"{row.pk}-{kind}-{n}",
                recipient=row.email,
                message_id=row.esp_message_id,
                metadata={"recipient_id": str(row.pk)},
                timestamp=HOUR + timedelta(minutes=minutes),
                esp_event=extra,
                **({"reject_reason": "bounced"} if kind == "bounced" else {}),
            ),
            esp_name="Mailgun",
        )

    for row in rows[:8]:
        event(row, "delivered", 1)
    for row in rows[:4]:
        event(row, "opened", 20)
        event(row, "opened", 70, n=1)  # a second open is not a second opener
    event(rows[0], "clicked", 75)
    event(rows[1], "complained", 80)
    event(rows[2], "unsubscribed", 81)
    event(rows[8], "bounced", 2)
    event(rows[9], "deferred", 2)
    return drive


def test_the_report_counts_distinct_recipients_with_rates(reported_drive):
    report = drive_report(mailing=reported_drive, viewer=None)
    assert report["sent"] == 10
    assert report["counts"] == {
        "events": 21,
        "reached": 9,
        "delivered": 8,
        "hard_bounced": 1,
        "soft_bounced": 1,
        "rejected": 0,
        "complained": 1,
        "unsubscribed": 1,
        "opened": 4,
        "clicked": 1,
    }
    rates = report["rates"]
    assert rates["delivered"] == 80.0
    assert rates["hard_bounced"] == 10.0
    assert rates["opened"] == 50.0
    assert rates["clicked"] == 12.5
    assert rates["complained"] == 11.11  # of 9 delivered or bounced, as the guard counts


def test_the_timeline_counts_events_per_hour_by_type(reported_drive):
    timeline = drive_report(mailing=reported_drive, viewer=None)["timeline"]
    assert [hour["counts"] for hour in timeline] == [
        {"delivered": 8, "opened": 4, "bounced": 1, "deferred": 1},
        {"opened": 4, "clicked": 1, "complained": 1, "unsubscribed": 1},
    ]
    assert timeline[0]["hour"].startswith(HOUR.strftime("%Y-%m-%dT%H:00"))
    chart = timeline_chart(timeline)
    assert chart["peak"] == 8
    tallest = max(chart["bars"], key=lambda bar: bar.height)
    assert "8 delivered" in tallest.title


def test_the_admin_report_page_shows_counts_and_an_svg_chart(client_for, volunteer, reported_drive):
    page = client_for(volunteer).get(f"/admin/mailings/mailing/{reported_drive.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "<rect" in html
    assert "Unique opens" in html and "50.0%" in html
    change = client_for(volunteer).get(f"/admin/mailings/mailing/{reported_drive.pk}/change/")
    assert f"/admin/mailings/mailing/{reported_drive.pk}/report/" in change.content.decode()


def test_the_recipient_csv_is_formula_safe_and_audited(client_for, volunteer, reported_drive):
    response = client_for(volunteer).get(f"/admin/mailings/mailing/{reported_drive.pk}/report.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["Email", "Send status", "Sent at", "Delivery"]
    assert len(table) == 12
    by_email = {row[0]: row for row in table[1:]}
    assert "'=cmd|' /C calc'!A0@example.org" in by_email  # neutralised, not a formula
    assert by_email["r1@example.org"][3] == "complained"
    assert by_email["r3@example.org"][3] == "opened"
    assert by_email["r8@example.org"][3:6] == ["bounced", "", "hard"]
    assert by_email["f@example.org"][1] == "failed" and by_email["f@example.org"][-1] == "Refused"
    audit = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert audit.counts == {"rows": 11} and audit.target_id == str(reported_drive.pk)


def test_another_volunteer_gets_404_and_a_read_only_lead_403_for_the_report(
    client_for, lead_a, district_a, reported_drive
):
    from campaign.roles import Role
    from tests.conftest import _team_user

    other = _team_user("volunteer_two", Role.VOLUNTEER, districts=[district_a])
    base = f"/admin/mailings/mailing/{reported_drive.pk}"
    client = client_for(other)
    assert client.get(f"{base}/report/").status_code == 404
    assert client.get(f"{base}/report.csv").status_code == 404
    client = client_for(lead_a)
    assert client.get(f"{base}/report/").status_code == 403
    assert client.get(f"{base}/report.csv").status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_mailing_report_prints_json(reported_drive, capsys):
    call_command("mailing_report", str(reported_drive.pk), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["id"] == reported_drive.pk
    assert report["counts"]["delivered"] == 8
    assert report["rates"]["opened"] == 50.0
    assert len(report["timeline"]) == 2


def test_mailing_report_prints_a_readable_summary_and_respects_scope(
    reported_drive, lead_a, capsys
):
    call_command("mailing_report", str(reported_drive.pk))
    out = capsys.readouterr().out
    assert "Unique opens" in out and "50.00%" in out
    with pytest.raises(CommandError, match="No drive"):
        call_command("mailing_report", str(reported_drive.pk), "--as", lead_a.username)


def test_a_recipients_event_timeline_is_in_order(reported_drive):
    row = Recipient.objects.get(mailing=reported_drive, email="r1@example.org")
    kinds = list(
        DeliveryEvent.objects.filter(recipient=row)
        .order_by("occurred_at")
        .values_list("event_type", flat=True)
    )
    assert kinds == ["delivered", "opened", "opened", "complained"]


def test_the_recipient_admin_page_lists_its_delivery_events(client_for, organiser, reported_drive):
    row = Recipient.objects.get(mailing=reported_drive, email="r1@example.org")
    page = client_for(organiser).get(f"/admin/mailings/recipient/{row.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Delivered") < html.index("Opened") < html.index("Complained")


def _hours(n: int, start: str = "2026-12-06T00:00:00+00:00") -> list[dict]:
    first = datetime.fromisoformat(start)
    return [
        {"hour": (first + timedelta(hours=i)).isoformat(), "counts": {"delivered": i + 1}}
        for i in range(n)
    ]


def test_the_hourly_chart_is_drawn_in_percent_across_so_it_fits_any_width():
    chart = timeline_chart(_hours(48))

    assert all(bar.x >= 0 and bar.x + bar.width <= 100 for bar in chart["bars"])
    assert all(bar.y >= 0 and bar.y + bar.height <= chart["axis_y"] for bar in chart["bars"])
    # A phone has room for four names of hours, none cut off at the right edge.
    assert len(chart["labels"]) <= 4
    assert all(label["x"] <= 75 for label in chart["labels"])
    assert chart["labels"][0]["text"] == "6 Dec 00:00"


def test_the_hourly_chart_names_hours_only_when_they_are_all_on_one_day():
    chart = timeline_chart(_hours(3, start="2026-12-06T21:00:00+00:00"))

    assert [label["text"] for label in chart["labels"]] == ["21:00", "22:00", "23:00"]


def test_the_funnel_bars_are_shares_of_those_sent_in_percent():
    chart = funnel_chart(
        [
            {"label": "Sent", "count": 400, "rate": None, "key": "sent"},
            {"label": "Delivered", "count": 300, "rate": 75.0, "key": "delivered"},
            {"label": "Opened", "count": 0, "rate": 0.0, "key": "opened"},
        ]
    )

    assert [bar["percent"] for bar in chart["bars"]] == [100.0, 75.0, 0.0]
