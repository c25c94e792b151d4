from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaign.roles import Role, scope_for


class MailingQuerySet(models.QuerySet):
    def visible_to(self, user) -> MailingQuerySet:
        scope = scope_for(user)
        if scope.role == Role.ORGANISER:
            return self
        if scope.role == Role.VOLUNTEER:
            # Volunteers see their own drives; one granted every district sees all.
            return self if scope.sees_everything else self.filter(created_by=user)
        return self.none()


def _active_campaign_id() -> int | None:
    from campaign.models import Campaign

    return Campaign.objects.filter(is_active=True).values_list("pk", flat=True).first()


class Mailing(models.Model):
    """An email drive written by a volunteer, and the audience it goes to."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    name = models.CharField(max_length=200)
    subject = models.CharField(
        max_length=200, help_text="Merge fields allowed, e.g. {{ first_name }}."
    )
    body = models.TextField(
        help_text="Markdown (a little safe HTML is kept); merge fields such as {{ first_name }}."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mailings"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_mailings",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)

    # Audience: every filter given must match; an empty filter matches everyone the
    # sender may see.
    districts = models.ManyToManyField("contacts.District", blank=True, related_name="+")
    schools = models.ManyToManyField("contacts.School", blank=True, related_name="+")
    tags = models.ManyToManyField("contacts.Tag", blank=True, related_name="+")
    roles = models.JSONField(default=list, blank=True, help_text="Contact roles, e.g. rep.")
    gotv_statuses = models.JSONField(
        "GOTV statuses", default=list, blank=True, help_text='e.g. ["unknown", "pledged"]'
    )

    # The campaign the drive was written in: its links expire with it (campaign/links.py).
    campaign = models.ForeignKey(
        "campaign.Campaign",
        null=True,
        blank=True,
        default=_active_campaign_id,
        on_delete=models.SET_NULL,
        related_name="mailings",
        editable=False,
    )
    # Set when the drive starts, so later edits to the campaign change nothing in flight.
    from_email = models.CharField(max_length=320, blank=True, editable=False)
    reply_to = models.CharField(max_length=320, blank=True, editable=False)
    recipient_count = models.PositiveIntegerField(default=0, editable=False)
    exclusions = models.JSONField(default=dict, blank=True, editable=False)
    batch_count = models.PositiveIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Last time a batch task made progress; the sweeper re-enqueues drives that stall.
    progress_at = models.DateTimeField(null=True, blank=True, editable=False)
    # While a big drive's audience is still being listed (mailings/services/drive.py):
    # the last supporter id listed so far; the rest are listed by a queued task while
    # the first batch sends. None once everyone is listed.
    snapshot_after = models.BigIntegerField(null=True, blank=True, editable=False)
    # Why the drive is paused or cancelled (a person, or an automatic guard).
    status_reason = models.CharField(max_length=300, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "scheduled_for"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_listing(self) -> bool:
        """Its audience is still being listed (the first batch may be sending)."""
        return self.snapshot_after is not None

    @property
    def audience_size(self) -> int:
        """Recipients listed, or while listing, the audience counted at the start."""
        if self.is_listing:
            return max(self.recipient_count, int((self.exclusions or {}).get("mailable", 0)))
        return self.recipient_count

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.AWAITING_APPROVAL)


class RecipientQuerySet(models.QuerySet):
    def visible_to(self, user) -> RecipientQuerySet:
        return self.filter(mailing__in=Mailing.objects.visible_to(user))


class EspCheck(models.TextChoices):
    NONE = "", "Not checked"
    SENT = "sent", "Proven sent (the ESP accepted it)"
    NOT_SENT = "not_sent", "Proven not sent (safe to send again)"


class Recipient(models.Model):
    """One supporter in one drive: snapshotted at start, claimed by exactly one send."""

    EspCheck = EspCheck

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (consent withdrawn or suppressed)"
        CANCELLED = "cancelled", "Cancelled"
        # A send may or may not have reached the ESP (crash or timeout mid-call).
        # Never re-sent automatically; listed for review, settled by tracking events.
        UNKNOWN = "unknown", "Unknown (review)"

    # No index of its own: every index below that starts with the drive serves it.
    mailing = models.ForeignKey(
        Mailing, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(max_length=254)
    email_hash = models.CharField(max_length=64)
    batch = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_default=Status.QUEUED
    )
    # The claim token of the task that took the row; only that task may settle it.
    claim = models.CharField(max_length=32, blank=True, default="", db_default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    esp_status = models.CharField(max_length=32, blank=True, default="", db_default="")
    error = models.CharField(max_length=500, blank=True, default="", db_default="")
    # When a task last claimed the row: the ESP call happened shortly after, so
    # reconciliation asks the ESP's log about this time window.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # What the ESP's own record (its event log, or an event it reported) proved about
    # a row whose send was unsure: accepted (sent) or never accepted (safe to send again).
    esp_check = models.CharField(
        max_length=8, choices=EspCheck.choices, blank=True, default="", db_default=""
    )
    esp_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=models.functions.Now())

    objects = RecipientQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "contact"], name="recipient_once_per_contact"
            ),
            models.UniqueConstraint(fields=["mailing", "email"], name="recipient_once_per_address"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="sending_recipient_has_lease",
            ),
        ]
        # The snapshot of a union-wide drive inserts every row at once: the lookups by
        # claim token, ESP message id and lease are partial indexes, which rows just
        # snapshotted (no claim, no message id, queued) never enter.
        indexes = [
            models.Index(fields=["mailing", "batch", "status"]),
            models.Index(fields=["mailing", "status"]),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="recipient_lease_held"
            ),
            models.Index(fields=["claim"], condition=~Q(claim=""), name="recipient_claimed"),
            models.Index(
                fields=["esp_message_id"],
                condition=~Q(esp_message_id=""),
                name="recipient_esp_message",
            ),
            # The last send and the sends of the last minute, per drive (drive list, live
            # page) without walking every sent row of a union-wide drive.
            models.Index(
                fields=["mailing", "sent_at"],
                condition=Q(status="sent"),
                name="recipient_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class RecipientTally(models.Model):
    """A ledger of a drive's rows by status, kept on PostgreSQL by statement triggers
    on mailings_recipient (migration 0009): every statement that inserts, re-statuses
    or deletes rows adds one line per (drive, status) it changed, with the change in
    number. The sum of a drive's lines is its rows by status, whichever code path
    changed them; pages read those few lines instead of counting a union-wide drive's
    rows. Lines are only ever added by the triggers (never updated, so writers never
    wait on each other); ``recipient_tally_compact`` folds them up now and then.
    SQLite (the embedded default, drives of thousands) keeps no ledger and counts.
    """

    # No foreign key: the ledger must accept the lines of a drive being deleted.
    mailing_id = models.BigIntegerField()
    status = models.CharField(max_length=12)
    n = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["mailing_id", "status"], name="recipient_tally_drive")]

    def __str__(self) -> str:
        return f"drive {self.mailing_id}: {self.n:+} {self.status}"


class SendRateState(models.Model):
    """Shared state of the database-backed global send-rate limiter (no Redis)."""

    key = models.CharField(max_length=100, unique=True)
    # Theoretical arrival time (GCRA): when the next message may leave, epoch seconds.
    next_free = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return self.key


class DeliveryEvent(models.Model):
    """One thing an ESP reported about a message (from its tracking webhook).

    Stored once: ``event_key`` is unique per ESP, so a webhook the ESP retries, or a
    burst replayed, changes nothing. Holds no address: the keyed ``address_hash`` is
    enough to count soft bounces per address and survives the contact's erasure.
    """

    class Type(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        DEFERRED = "deferred", "Deferred"
        BOUNCED = "bounced", "Bounced"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        COMPLAINED = "complained", "Complained"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        OTHER = "other", "Other"

    class Bounce(models.TextChoices):
        NONE = "", "—"
        HARD = "hard", "Hard"
        SOFT = "soft", "Soft"

    esp = models.CharField(max_length=32)
    # The ESP's event id, or a digest of the event's identity when it gives none.
    event_key = models.CharField(max_length=64)
    event_type = models.CharField(max_length=16, choices=Type.choices)
    bounce = models.CharField(max_length=4, choices=Bounce.choices, blank=True, default="")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    mailing = models.ForeignKey(
        Mailing, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    address_hash = models.CharField(max_length=64, blank=True, default="")
    message_id = models.CharField(max_length=255, blank=True, default="")
    reject_reason = models.CharField(max_length=24, blank=True, default="")
    # ESP's wording (addresses scrubbed), e.g. "550 5.1.1 mailbox unknown".
    description = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["esp", "event_key"], name="delivery_event_once"),
        ]
        indexes = [
            models.Index(fields=["mailing", "event_type"]),
            models.Index(fields=["recipient", "occurred_at"]),
            models.Index(fields=["address_hash", "bounce", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"


class MailingGuard(models.Model):
    """When the deliverability guard last paused a drive. After an organiser resumes
    it, the guard judges only events received since then, so a resume is not undone
    by the same old complaints a minute later."""

    mailing = models.OneToOneField(Mailing, on_delete=models.CASCADE, related_name="guard")
    paused_at = models.DateTimeField()
    reason = models.CharField(max_length=300)

    def __str__(self) -> str:
        return f"Guard paused {self.mailing_id} at {self.paused_at:%Y-%m-%d %H:%M}"


class WebhookToken(models.Model):
    """A signed webhook's one-time token, kept while its timestamp is still accepted,
    so a captured signature cannot be replayed (mailings/webhooks.py)."""

    esp = models.CharField(max_length=32)
    token = models.CharField(max_length=128)
    # SHA-256 of the request body: the ESP's retry of the same delivery is answered
    # (and ignored), the same signature on any other body is refused.
    body_digest = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["esp", "token"], name="webhook_token_once"),
        ]

    def __str__(self) -> str:
        return f"{self.esp} webhook token seen {self.seen_at:%Y-%m-%d %H:%M}"


class DriveReport(models.Model):
    """A big drive's report, as last counted for those who see every recipient
    (mailings/reports.py ``drive_report_shown``): counting a union-wide drive's half a
    million delivery events takes seconds, so its page shows these figures, with their
    time, and a queued task counts them again when they are a minute old."""

    mailing = models.OneToOneField(
        Mailing, primary_key=True, on_delete=models.CASCADE, related_name="stored_report"
    )
    figures = models.JSONField()
    counted_at = models.DateTimeField()
    # Set when a recount is queued (a conditional UPDATE claims it, so many viewers
    # queue one recount); cleared when it is stored.
    recount_queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Report of drive {self.mailing_id} counted {self.counted_at:%Y-%m-%d %H:%M}"
