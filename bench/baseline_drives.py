"""The drive pages' reads before the ledger of rows by status (mailings 0009), for the
baseline of bench/reads.py: every drive's rows counted by status, on every view."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Max, Q, QuerySet

from mailings.models import Mailing, Recipient


def recipient_counts(*, mailing_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(dict.fromkeys(mailing_ids))
    counts = {pk: dict.fromkeys(Recipient.Status.values, 0) for pk in ids}
    rows = (
        Recipient.objects.filter(mailing_id__in=ids)
        .order_by()
        .values_list("mailing_id", "status")
        .annotate(n=Count("pk"))
    )
    for mailing_id, status, n in rows:
        counts[mailing_id][status] = n
    return counts


def drive_lines(*, user, status: str | None = None) -> QuerySet[Mailing]:
    drives = Mailing.objects.visible_to(user).select_related("created_by")
    if status:
        drives = drives.filter(status=status)
    counted = {
        name: Count("recipients", filter=Q(recipients__status=value))
        for name, value in (
            ("n_queued", Recipient.Status.QUEUED),
            ("n_sending", Recipient.Status.SENDING),
            ("n_sent", Recipient.Status.SENT),
            ("n_failed", Recipient.Status.FAILED),
            ("n_skipped", Recipient.Status.SKIPPED),
            ("n_cancelled", Recipient.Status.CANCELLED),
            ("n_unknown", Recipient.Status.UNKNOWN),
        )
    }
    return (
        drives.annotate(n_rows=Count("recipients"), last_sent=Max("recipients__sent_at"), **counted)
        .annotate(n_done=F("n_rows") - F("n_queued") - F("n_sending"))
        .order_by("-updated_at", "-pk")
    )


def voted_clicks(*, mailing: Mailing, rows: QuerySet[Recipient]) -> int:
    """'I have voted' clicks matched from every row of the drive to the clicks."""
    from contacts.models import Contact, GotvEvent

    if mailing.started_at is None:
        return 0
    return (
        GotvEvent.objects.filter(
            method=GotvEvent.Method.EMAIL_LINK,
            status=Contact.Gotv.VOTED,
            created_at__gte=mailing.started_at,
            contact_id__in=rows.exclude(contact=None).values("contact_id"),
        )
        .values("contact_id")
        .distinct()
        .count()
    )


def drive_report_shown(*, mailing: Mailing, viewer) -> dict:
    """The report page's figures counted on every view, as before stored reports."""
    from mailings.reports import drive_report

    return {**drive_report(mailing=mailing, viewer=viewer), "as_of": None}
