"""Drive reports: what happened to a drive after it left (reads only).

Used by the admin's report page, ``manage.py mailing_report`` and the drives app.
Callers pass a drive they got through ``visible_to`` and the ``viewer``: every figure
and row is of the recipients that viewer may see *now* (``Contact.objects.visible_to``
at the moment of reading), so a volunteer whose districts were taken away no longer
reads, or downloads, those supporters. ``viewer=None`` (management commands run by
whoever holds the server) means every recipient.
Counts are of distinct recipients (an ESP may report one open many times).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from campaign.roles import scope_for
from contacts.models import Contact, GotvEvent
from mailings.models import DeliveryEvent, Mailing, Recipient
from mailings.selectors import mailing_progress

Type = DeliveryEvent.Type
Bounce = DeliveryEvent.Bounce

# Chart series: event types an organiser watches, with their colours.
SERIES = {
    Type.DELIVERED: "#2e7d32",
    Type.OPENED: "#1565c0",
    Type.CLICKED: "#6a1b9a",
    Type.DEFERRED: "#f9a825",
    Type.BOUNCED: "#c62828",
    Type.COMPLAINED: "#000000",
    Type.UNSUBSCRIBED: "#757575",
}


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 2) if whole else None


def report_recipients(*, mailing: Mailing, viewer) -> QuerySet[Recipient]:
    """The drive's rows ``viewer`` may see now (every row for ``viewer=None``)."""
    rows = Recipient.objects.filter(mailing=mailing)
    if viewer is None or scope_for(viewer).sees_everything:
        return rows
    return rows.filter(contact__in=Contact.objects.visible_to(viewer).values("pk"))


def _recipient_events(*, mailing: Mailing, viewer) -> QuerySet[DeliveryEvent]:
    """The drive's events about a recipient ``viewer`` may see now."""
    events = DeliveryEvent.objects.filter(mailing=mailing, recipient__isnull=False)
    if viewer is None or scope_for(viewer).sees_everything:
        return events
    return events.filter(
        recipient__in=report_recipients(mailing=mailing, viewer=viewer).values("pk")
    )


def _progress(rows: QuerySet[Recipient]) -> dict[str, int]:
    counts = dict.fromkeys(Recipient.Status.values, 0)
    counts.update(dict(rows.order_by().values_list("status").annotate(n=Count("pk"))))
    return counts


def voted_clicks(*, mailing: Mailing, rows: QuerySet[Recipient]) -> int:
    """Recipients who recorded "I have voted" from an email link since the drive began."""
    if mailing.started_at is None:
        return 0
    # From the few "voted" clicks since the drive began to the drive's rows (one index
    # probe each), not from a union-wide drive's 400,000 rows to the clicks.
    return (
        GotvEvent.objects.filter(
            method=GotvEvent.Method.EMAIL_LINK,
            status=Contact.Gotv.VOTED,
            created_at__gte=mailing.started_at,
        )
        .filter(Exists(rows.filter(contact_id=OuterRef("contact_id"))))
        .values("contact_id")
        .distinct()
        .count()
    )


def drive_report(*, mailing: Mailing, viewer) -> dict:
    """Counts, rates and an hourly timeline of a drive's delivery events, of the
    recipients ``viewer`` may see now."""
    rows = report_recipients(mailing=mailing, viewer=viewer)
    # Every row: the drive's ledger (a few lines); a scoped viewer's rows: counted.
    everyone = viewer is None or scope_for(viewer).sees_everything
    progress = mailing_progress(mailing=mailing) if everyone else _progress(rows)
    per_recipient = {
        "delivered": Q(event_type=Type.DELIVERED),
        "hard_bounced": Q(bounce=Bounce.HARD),
        "soft_bounced": Q(bounce=Bounce.SOFT),
        "rejected": Q(event_type=Type.REJECTED),
        "complained": Q(event_type=Type.COMPLAINED),
        "unsubscribed": Q(event_type=Type.UNSUBSCRIBED),
        "opened": Q(event_type=Type.OPENED),
        "clicked": Q(event_type=Type.CLICKED),
    }
    events = _recipient_events(mailing=mailing, viewer=viewer)
    counts = events.aggregate(
        events=Count("pk"),
        reached=Count(
            "recipient", distinct=True, filter=Q(event_type__in=[Type.DELIVERED, Type.BOUNCED])
        ),
        **{
            name: Count("recipient", distinct=True, filter=condition)
            for name, condition in per_recipient.items()
        },
    )
    sent = progress[Recipient.Status.SENT]
    delivered = counts["delivered"]
    rates = {
        "delivered": _rate(delivered, sent),
        "hard_bounced": _rate(counts["hard_bounced"], sent),
        "soft_bounced": _rate(counts["soft_bounced"], sent),
        # As the automatic pause measures them:
        "complained": _rate(counts["complained"], counts["reached"]),
        "hard_bounce_guard": _rate(counts["hard_bounced"], counts["reached"]),
        "unsubscribed": _rate(counts["unsubscribed"], delivered),
        "opened": _rate(counts["opened"], delivered),
        "clicked": _rate(counts["clicked"], delivered),
    }
    return {
        "id": mailing.pk,
        "name": mailing.name,
        "status": mailing.status,
        "status_reason": mailing.status_reason,
        "recipients": sum(progress.values()),
        "progress": progress,
        "sent": sent,
        "counts": counts,
        "rates": rates,
        "voted_clicks": voted_clicks(mailing=mailing, rows=rows),
        "timeline": drive_timeline(mailing=mailing, viewer=viewer),
    }


# A drive with more rows than this shows its stored report to those who see every
# recipient (DriveReport); figures older than REPORT_FRESH_SECONDS are counted again by
# a queued task while the page shows them with their time.
REPORT_STORED_ROWS = 20_000
REPORT_FRESH_SECONDS = 60


def drive_report_shown(*, mailing: Mailing, viewer) -> dict:
    """``drive_report`` as the drive's report page shows it: counted now, or for a big
    drive and a viewer who sees every recipient, as last stored (``as_of`` says when;
    None means counted now). The drive's own state (status, name) is always current."""
    from mailings.models import DriveReport

    everyone = viewer is None or scope_for(viewer).sees_everything
    if not everyone or mailing.recipient_count <= REPORT_STORED_ROWS:
        return {**drive_report(mailing=mailing, viewer=viewer), "as_of": None}
    stored = DriveReport.objects.filter(mailing=mailing).first()
    if stored is None:
        from mailings.services.report import drive_report_store

        stored = drive_report_store(mailing_id=mailing.pk)
    elif (timezone.now() - stored.counted_at).total_seconds() > REPORT_FRESH_SECONDS:
        from mailings.services.report import drive_report_recount_queue

        drive_report_recount_queue(mailing_id=mailing.pk)
    live = {
        "id": mailing.pk,
        "name": mailing.name,
        "status": mailing.status,
        "status_reason": mailing.status_reason,
    }
    return {**stored.figures, **live, "as_of": stored.counted_at}


def drive_timeline(*, mailing: Mailing, viewer) -> list[dict]:
    """Events per hour (UTC), each hour with a count per event type."""
    if viewer is None or scope_for(viewer).sees_everything:
        events = DeliveryEvent.objects.filter(mailing=mailing)
    else:
        events = _recipient_events(mailing=mailing, viewer=viewer)
    rows = (
        events.annotate(hour=TruncHour("occurred_at", tzinfo=UTC))
        .order_by()
        .values_list("hour", "event_type")
        .annotate(n=Count("pk"))
    )
    hours: dict[datetime, dict[str, int]] = {}
    for hour, event_type, n in rows:
        hours.setdefault(hour, {})[event_type] = n
    return [{"hour": hour.isoformat(), "counts": counts} for hour, counts in sorted(hours.items())]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


def timeline_chart(timeline: list[dict], *, height: int = 200, labels: int = 4) -> dict:
    """Geometry of a grouped bar chart (one group per hour) for an inline SVG with no
    viewBox: across in percent of its width, up in px, so on a phone the bars narrow
    while the text keeps its size. At most ``labels`` hours are named under the axis,
    none so near the right edge that its text would be cut off."""
    top, bottom = 8, 24
    plot_h = height - top - bottom
    peak = max((n for hour in timeline for n in hour["counts"].values()), default=0)
    group = 100 / max(1, len(timeline))
    bar_w = group * 0.8 / len(SERIES)
    bars, named = [], []
    step = max(1, -(-len(timeline) // labels))
    one_day = len({hour["hour"][:10] for hour in timeline}) == 1
    for i, hour in enumerate(timeline):
        x0 = i * group + group * 0.1
        for j, (event_type, colour) in enumerate(SERIES.items()):
            n = hour["counts"].get(event_type, 0)
            if not n:
                continue
            h = plot_h * n / peak
            bars.append(
                Bar(
                    x=round(x0 + j * bar_w, 3),
                    y=round(top + plot_h - h, 1),
                    width=round(bar_w, 3),
                    height=round(h, 1),
                    colour=colour,
                    title=f"{hour['hour'][:13]}:00 UTC: {n} {event_type}",
                )
            )
        if i % step == 0 and x0 <= 75:
            at = datetime.fromisoformat(hour["hour"])
            named.append(
                {"x": round(x0, 3), "text": f"{at:%H}:00" if one_day else f"{at.day} {at:%b %H}:00"}
            )
    return {
        "height": height,
        "bars": bars,
        "labels": named,
        "peak": peak,
        "axis_y": height - bottom,
        "legend": [{"type": Type(t).label, "colour": c} for t, c in SERIES.items()],
    }


STATUS_HEADERS = [
    "Email",
    "Send status",
    "Sent at",
    "Delivery",
    "Delivered",
    "Bounce",
    "Complained",
    "Unsubscribed",
    "Opened",
    "Clicked",
    "Last event at",
    "Send error",
]
# The worst news wins: what an organiser must know first about a recipient.
_PRECEDENCE = [
    Type.COMPLAINED,
    Type.UNSUBSCRIBED,
    Type.BOUNCED,
    Type.REJECTED,
    Type.FAILED,
    Type.CLICKED,
    Type.OPENED,
    Type.DELIVERED,
    Type.DEFERRED,
    Type.SENT,
    Type.QUEUED,
]


def drive_recipient_statuses(*, mailing: Mailing, viewer) -> Iterator[list]:
    """One row per recipient ``viewer`` may see now (STATUS_HEADERS): send status and
    delivery outcome."""
    recipients = report_recipients(mailing=mailing, viewer=viewer)
    seen: dict[int, set[str]] = {}
    bounce: dict[int, str] = {}
    last: dict[int, datetime] = {}
    events = (
        _recipient_events(mailing=mailing, viewer=viewer)
        .order_by()
        .values_list("recipient_id", "event_type", "bounce", "occurred_at")
    )
    for recipient_id, event_type, kind, occurred in events.iterator(chunk_size=5000):
        seen.setdefault(recipient_id, set()).add(event_type)
        if kind == Bounce.HARD or (kind and recipient_id not in bounce):
            bounce[recipient_id] = kind
        if recipient_id not in last or occurred > last[recipient_id]:
            last[recipient_id] = occurred
    rows = recipients.order_by("pk").values_list("pk", "email", "status", "sent_at", "error")
    for pk, email, status, sent_at, error in rows.iterator(chunk_size=5000):
        types = seen.get(pk, set())
        delivery = next((t for t in _PRECEDENCE if t in types), "")
        yield [
            email,
            status,
            sent_at.isoformat() if sent_at else "",
            delivery,
            "yes" if Type.DELIVERED in types else "",
            bounce.get(pk, ""),
            "yes" if Type.COMPLAINED in types else "",
            "yes" if Type.UNSUBSCRIBED in types else "",
            "yes" if Type.OPENED in types else "",
            "yes" if Type.CLICKED in types else "",
            last[pk].isoformat() if pk in last else "",
            error,
        ]


def recipient_timeline(*, recipient: Recipient) -> list[DeliveryEvent]:
    return list(recipient.events.order_by("occurred_at", "pk"))
