from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaign.roles import Role, scope_for


class Campaign(models.Model):
    """The election being fought. One is active at a time; its values come from organisers."""

    name = models.CharField(max_length=200)
    candidate = models.CharField(max_length=200)
    ballot_opens = models.DateTimeField()
    ballot_closes = models.DateTimeField()
    sender_name = models.CharField(max_length=100)
    sender_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "-ballot_closes"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_campaign"
            ),
            models.CheckConstraint(
                condition=Q(ballot_closes__gt=models.F("ballot_opens")),
                name="ballot_closes_after_it_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def from_email(self) -> str:
        from email.utils import formataddr

        return formataddr((self.sender_name, self.sender_email))

    def ballot_is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.ballot_opens <= at < self.ballot_closes


class TeamMember(models.Model):
    """A user's role in the campaign team and the districts it covers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_member"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    districts = models.ManyToManyField(
        "contacts.District",
        blank=True,
        related_name="team_members",
        help_text="Districts a volunteer is assigned to or a lead leads.",
    )
    all_districts = models.BooleanField(
        default=False,
        help_text="Volunteers only: may read contacts of every district.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Invitation(models.Model):
    """An invitation to join the team: a link, sent by email, to set a password.

    Only a hash of the link's token is stored, so a copy of the database cannot be
    used to sign in as an invited teammate. The link works once, until it expires."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # A newer invitation to the same person replaces this one.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.used_at is None and self.revoked_at is None and at < self.expires_at


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit trail is append-only.")

    def delete(self):
        raise TypeError("The audit trail is append-only.")


class AuditEvent(models.Model):
    """Append-only record of sensitive actions: imports, drives, prints, exports, roles."""

    class Action(models.TextChoices):
        IMPORT = "import", "Import"
        IMPORT_UNDO = "import_undo", "Import undone"
        DRIVE_START = "drive_start", "Drive started"
        DRIVE_APPROVE = "drive_approve", "Drive approved"
        DRIVE_RECONCILE = "drive_reconcile", "Drive reconciled with the ESP"
        DRIVE_APPROVAL_REQUEST = "drive_approval_request", "Drive approval requested"
        DRIVE_SEND_BACK = "drive_send_back", "Drive sent back for changes"
        DRIVE_PAUSE = "drive_pause", "Drive paused"
        DRIVE_RESUME = "drive_resume", "Drive resumed"
        DRIVE_CANCEL = "drive_cancel", "Drive cancelled"
        CANVASS_PRINT = "canvass_print", "Canvass sheet printed"
        EXPORT = "export", "Export"
        ROLE_CHANGE = "role_change", "Role changed"
        CONSENT_WITHDRAW = "consent_withdraw", "Consent withdrawn"
        CONTACT_CHANGE = "contact_change", "Supporter details changed"
        SEED = "seed", "Demo data seeded"
        SCHOOLS_SPLIT = "schools_split", "Merged schools split"
        ACCOUNT_CHANGE = "account_change", "Account changed"
        SECOND_FACTOR = "second_factor", "Second factor changed"
        SIGN_IN_UNLOCK = "sign_in_unlock", "Sign-in lockout lifted"
        SUBJECT_ACCESS = "subject_access", "Subject access copy made"
        ERASURE = "erasure", "Supporter erased"
        RETENTION = "retention", "Retention erasure"
        EMAIL_CHANGE = "email_change", "Supporter address change"
        INVITATION_SEND = "invitation_send", "Teammate invited"
        INVITATION_ACCEPT = "invitation_accept", "Invitation accepted"
        CAMPAIGN_CHANGE = "campaign_change", "Campaign settings changed"

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Kept so the trail still names who acted after their account is removed.
    actor_label = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit trail is append-only.")


class CanvassPackQuerySet(models.QuerySet):
    def visible_to(self, user) -> CanvassPackQuerySet:
        """A pack holds what its requester could see: only they (and organisers) get it,
        and only while its district is still theirs."""
        from contacts.models import District

        scope = scope_for(user)
        if scope.sees_nothing:
            return self.none()
        districts = District.objects.visible_to(user).values("pk")
        packs = self.filter(district__in=districts)
        return packs if scope.role == Role.ORGANISER else packs.filter(requested_by=user)


class CanvassPack(models.Model):
    """A district's canvass sheets as one PDF, built in the background."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Deleted after use"

    district = models.ForeignKey(
        "contacts.District", on_delete=models.CASCADE, related_name="canvass_packs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="canvass_packs"
    )
    with_email = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    schools_total = models.PositiveIntegerField(default=0)
    schools_done = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    sheet_code = models.CharField(max_length=32, blank=True)
    # Relative to settings.CANVASS_DIR; never inside a served directory.
    file_name = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of the build; a running pack silent for CANVASS_PACK_STALE_MINUTES
    # lost its consumer and is failed (campaign/canvass/services.py).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The failed pack this one retries, if any.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )

    objects = CanvassPackQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Canvass pack {self.district} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.schools_total:
            return 0
        return min(99, round(100 * self.schools_done / self.schools_total))

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file_name)


class ChaseResult(models.TextChoices):
    """What a district lead found when chasing a supporter. All but "not reached"
    set the supporter's GOTV status; "not reached" only records the attempt."""

    VOTED = "voted", "Voted"
    PLEDGED = "pledged", "Pledged"
    NOT_REACHED = "not_reached", "Not reached"
    WONT_VOTE = "wont_vote", "Won't vote"


class GotvTap(models.Model):
    """One tap on the tick-off page or the chase list, kept under the key the phone
    made for it, so a tap sent twice (a retry after a lost connection, a replay of the
    offline queue) is applied once."""

    key = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A GOTV status, or "not_reached".
    result = models.CharField(max_length=16)
    note = models.CharField(max_length=200, blank=True)
    # Whether the tap changed the supporter's status (False: it already had it).
    changed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.result} for contact {self.contact_id} ({self.key})"


class ChaseState(models.Model):
    """Where chasing one supporter stands: the last result and note, and whether the
    lead asked for an organiser's help."""

    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, primary_key=True, related_name="chase"
    )
    last_result = models.CharField(max_length=16, choices=ChaseResult.choices, blank=True)
    note = models.CharField(max_length=200, blank=True)
    needs_organiser = models.BooleanField(default=False, db_index=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Chase {self.contact_id}: {self.last_result or 'not chased'}"
