"""A drive's report in the app: the delivery funnel, events per hour, and the CSV of
each recipient, all of the recipients the viewer may see now."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from campaign.exports import export_response
from mailings.app.compose import drive_roles
from mailings.reports import (
    STATUS_HEADERS,
    drive_recipient_statuses,
    drive_report_shown,
    timeline_chart,
)
from mailings.selectors import mailing_get


def funnel_chart(steps: list[dict]) -> dict:
    """Horizontal bars, one per funnel step, as wide as its share of the first step, in
    percent of the chart's width: the SVG has no viewBox, so on a phone its bars narrow
    and its labels keep their size."""
    top = max([step["count"] for step in steps] + [1])
    row = 38
    bars = [
        {
            **step,
            "y": i * row + 22,
            "label_y": i * row + 16,
            "percent": round(100 * step["count"] / top, 2),
        }
        for i, step in enumerate(steps)
    ]
    return {"height": len(steps) * row + 4, "bars": bars}


@drive_roles
@require_GET
def drive_report_page(request, pk: int):
    mailing = mailing_get(user=request.user, pk=pk)
    report = drive_report_shown(mailing=mailing, viewer=request.user)
    counts, rates = report["counts"], report["rates"]
    funnel = [
        {"label": "Sent", "count": report["sent"], "rate": None, "key": "sent"},
        {
            "label": "Delivered",
            "count": counts["delivered"],
            "rate": rates["delivered"],
            "key": "delivered",
        },
        {"label": "Opened", "count": counts["opened"], "rate": rates["opened"], "key": "opened"},
        {
            "label": "Clicked",
            "count": counts["clicked"],
            "rate": rates["clicked"],
            "key": "clicked",
        },
    ]
    problems = [
        ("Hard bounces", counts["hard_bounced"], rates["hard_bounced"], "of sent"),
        ("Soft bounces", counts["soft_bounced"], rates["soft_bounced"], "of sent"),
        ("Rejected by the ESP", counts["rejected"], None, ""),
        ("Spam complaints", counts["complained"], rates["complained"], "of delivered or bounced"),
        ("Unsubscribed", counts["unsubscribed"], rates["unsubscribed"], "of delivered"),
        ("“I have voted” clicks", report["voted_clicks"], None, ""),
    ]
    return render(
        request,
        "mailings/drive_report.html",
        {
            "mailing": mailing,
            "report": report,
            "funnel": funnel_chart(funnel),
            "problems": problems,
            "chart": timeline_chart(report["timeline"]),
        },
    )


@drive_roles
@require_GET
def drive_report_csv(request, pk: int):
    """Checked when downloaded: only the recipients the viewer may see at this moment."""
    mailing = mailing_get(user=request.user, pk=pk)
    return export_response(
        actor=request.user,
        what="drive recipient statuses",
        headers=STATUS_HEADERS,
        rows=list(drive_recipient_statuses(mailing=mailing, viewer=request.user)),
        file_name=f"drive-{mailing.pk}-recipients",
        target=mailing,
    )
