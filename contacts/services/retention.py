"""Retention: personal data of a finished campaign is not kept for ever.

Once ``RETENTION_DAYS_AFTER_CLOSE`` days have passed since a campaign's ballot closed,
``manage.py retention`` (a dry run unless ``--apply``) erases

* every supporter not active since that close: added, changed, consenting or having
  their voting status recorded only before it (supporters re-imported or re-consented
  for a later campaign stay), exactly as an erasure on request does (the address stays
  only as a keyed-hash suppression, so nobody is re-added or mailed by mistake);
* the addresses on every drive row of the finished campaign (statistics stay);
* the rejected rows and problems kept in reports of imports run before the close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaign.models import AuditEvent, Campaign
from campaign.services import audit_record
from contacts.models import ConsentRecord, Contact, GotvEvent, ImportBatch
from contacts.services.erasure import contacts_erase_bulk, recipients_anonymise


@dataclass
class RetentionPlan:
    now: datetime
    finished: list[Campaign] = field(default_factory=list)
    # The latest close among finished campaigns: activity after it means a later use.
    cutoff: datetime | None = None
    next_due: tuple[Campaign, datetime] | None = None
    contact_ids: list[int] = field(default_factory=list)
    recipients: int = 0
    import_reports: int = 0

    @property
    def due(self) -> bool:
        return self.cutoff is not None


def _recipients(plan: RetentionPlan):
    from mailings.models import Recipient

    drives = Q(mailing__campaign__in=plan.finished) | Q(
        mailing__campaign__isnull=True, mailing__created_at__lt=plan.cutoff
    )
    return Recipient.objects.filter(drives).exclude(email_hash="", contact__isnull=True)


def _reports(plan: RetentionPlan):
    return ImportBatch.objects.filter(created_at__lt=plan.cutoff).exclude(report={})


def retention_plan(*, now: datetime | None = None) -> RetentionPlan:
    now = now or timezone.now()
    keep = timedelta(days=settings.RETENTION_DAYS_AFTER_CLOSE)
    plan = RetentionPlan(now=now)
    for campaign in Campaign.objects.order_by("ballot_closes"):
        if campaign.ballot_closes + keep <= now:
            plan.finished.append(campaign)
        elif plan.next_due is None:
            plan.next_due = (campaign, campaign.ballot_closes + keep)
    if not plan.finished:
        return plan
    plan.cutoff = cutoff = max(c.ballot_closes for c in plan.finished)
    later_consent = ConsentRecord.objects.filter(contact=OuterRef("pk"), given_at__gte=cutoff)
    later_gotv = GotvEvent.objects.filter(contact=OuterRef("pk"), created_at__gte=cutoff)
    idle = (
        Contact.objects.filter(created_at__lt=cutoff, updated_at__lt=cutoff)
        .exclude(Exists(later_consent))
        .exclude(Exists(later_gotv))
    )
    plan.contact_ids = list(idle.order_by("pk").values_list("pk", flat=True))
    plan.recipients = _recipients(plan).count()
    plan.import_reports = _reports(plan).count()
    return plan


@transaction.atomic
def retention_apply(*, plan: RetentionPlan, actor=None) -> dict[str, int]:
    """Carry out a plan from retention_plan (re-reads nothing it decided)."""
    if not plan.due:
        return {}
    totals = contacts_erase_bulk(contact_ids=plan.contact_ids, actor=actor, why="retention")
    rows, events = recipients_anonymise(recipients=_recipients(plan))
    totals["recipients"] += rows
    totals["delivery_events"] += events
    totals["import_reports"] = 0
    for batch in _reports(plan).only("pk", "report"):
        kept = {k: v for k, v in batch.report.items() if k not in ("rejected_rows", "problems")}
        ImportBatch.objects.filter(pk=batch.pk).update(report=kept)
        totals["import_reports"] += 1
    audit_record(
        actor=actor,
        action=AuditEvent.Action.RETENTION,
        counts=totals,
        detail={
            "campaigns": [c.pk for c in plan.finished],
            "closed_before": plan.cutoff.isoformat(),
            "days_after_close": settings.RETENTION_DAYS_AFTER_CLOSE,
        },
    )
    return totals
