from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.querysets import (
    ConsentRecordQuerySet,
    ContactQuerySet,
    DistrictQuerySet,
    ImportBatchQuerySet,
    SchoolQuerySet,
)


def name_key(name: str) -> str:
    """A comparison key for school and district names typed in many ways.

    "St. Mary's C of E Primary " and "st marys c of e primary" share a key.
    """
    folded = unicodedata.normalize("NFKD", name).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"[’'`.]", "", folded)
    folded = re.sub(r"&", " and ", folded)
    return re.sub(r"[^\w]+", " ", folded).strip()


class District(models.Model):
    name = models.CharField(max_length=120, unique=True)
    region = models.CharField(max_length=120, blank=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="district_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    # The DfE Unique Reference Number, when known.
    urn = models.CharField("URN", max_length=16, null=True, blank=True, unique=True)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools")

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["district", "name_key"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.urn})" if self.urn else self.name


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One spreadsheet import: who ran it, on what file, and what it did."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        # A queued dry run finished: the report is ready, nothing was written.
        PREVIEWED = "previewed", "Previewed (nothing written yet)"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    options = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The full report (problems, and the rejected rows' cells for the download).
    report = models.JSONField(default=dict, blank=True, editable=False)
    # Progress of a queued import, in the reader's units (bytes of a CSV, rows otherwise).
    progress_done = models.BigIntegerField(default=0, editable=False)
    progress_total = models.BigIntegerField(default=0, editable=False)
    # Ids of schools and districts this import created, so undo can remove them again.
    created_objects = models.JSONField(default=dict, blank=True, editable=False)
    # Where a queued upload waits for the worker; emptied once it has run.
    upload_path = models.CharField(max_length=500, blank=True, editable=False)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


class Contact(models.Model):
    """A consented supporter, by school and district."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        REP = "rep", "Workplace rep"
        ACTIVIST = "activist", "Activist"

    class Gotv(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        PLEDGED = "pledged", "Pledged"
        BALLOT_RECEIVED = "ballot_received", "Ballot received"
        VOTED = "voted", "Voted"
        WONT_VOTE = "wont_vote", "Won't vote"

    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150, blank=True)
    # Stored trimmed and lower-cased by the services; unique whatever the case.
    email = models.EmailField(max_length=254)
    # Keyed hash of the address, to match the suppression list inside SQL.
    email_hash = models.CharField(max_length=64, editable=False)
    mobile = models.CharField(max_length=16, blank=True, help_text="UK mobile, E.164 (+447…)")
    # No single-column indexes on school and district: the (school, last_name) and
    # (district, …) indexes below serve every lookup by either, and each index is paid
    # for on every imported row.
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    district = models.ForeignKey(
        District,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    notes = models.TextField(blank=True)
    gotv_status = models.CharField(
        "GOTV status", max_length=16, choices=Gotv.choices, default=Gotv.UNKNOWN
    )
    source_import = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        constraints = [models.UniqueConstraint(Lower("email"), name="contact_email_ci_unique")]
        indexes = [
            models.Index(fields=["district", "gotv_status"]),
            models.Index(fields=["school", "last_name"]),
            # The supporter list's order, so any page is an index walk, not a sort.
            models.Index(fields=["last_name", "first_name", "id"], name="contact_list_order"),
            models.Index(
                fields=["district", "last_name", "first_name", "id"], name="contact_district_order"
            ),
            # Matched by equality only, so no pattern-ops twin (a CharField's db_index
            # would add one, costing as much again on every insert).
            models.Index(fields=["email_hash"], name="contact_email_hash"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def is_mailable(self, at=None) -> bool:
        at = at or timezone.now()
        return any(
            record.is_current(at) for record in self.consents.all() if record.channel == "email"
        )


class ConsentRecord(models.Model):
    """Evidence that a contact agreed to be emailed (PECR), and whether they withdrew."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class Method(models.TextChoices):
        WEB_FORM = "web_form", "Web sign-up form"
        PAPER_FORM = "paper_form", "Paper form"
        IMPORT = "import", "Spreadsheet import"
        IN_PERSON = "in_person", "In person"
        EMAIL_REPLY = "email_reply", "Email reply"
        OTHER = "other", "Other"

    class WithdrawnHow(models.TextChoices):
        UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
        ONE_CLICK = "one_click", "One-click unsubscribe"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        REQUEST = "request", "Asked an organiser"
        ERASURE = "erasure", "Erased"

    # Looked up through the (contact, channel, withdrawn_at) index below.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="consents", db_index=False
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    given_at = models.DateTimeField()
    source = models.CharField(max_length=200, help_text="Where the consent was collected.")
    wording = models.TextField(help_text="The words the supporter agreed to.")
    version = models.CharField(max_length=32, blank=True)
    method = models.CharField(max_length=16, choices=Method.choices)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_how = models.CharField(max_length=20, choices=WithdrawnHow.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-given_at"]
        indexes = [
            models.Index(fields=["contact", "channel", "withdrawn_at"]),
            # "Has a current email consent?" for a district's few thousand supporters, as
            # index-only probes: without it PostgreSQL hashes the whole consent table.
            models.Index(
                fields=["contact", "given_at"],
                condition=models.Q(channel="email", withdrawn_at__isnull=True),
                name="consent_current_email_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(withdrawn_at__isnull=True, withdrawn_how="")
                | models.Q(withdrawn_at__isnull=False) & ~models.Q(withdrawn_how=""),
                name="withdrawal_has_time_and_reason",
            )
        ]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "current"
        return f"{self.get_channel_display()} consent {self.given_at:%Y-%m-%d} ({state})"

    def is_current(self, at=None) -> bool:
        at = at or timezone.now()
        return self.withdrawn_at is None and self.given_at <= at


class Suppression(models.Model):
    """An address that must never be emailed again, kept as a keyed hash so it
    outlives the contact (see contacts/suppression.py)."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        ERASED = "erased", "Erased on request"
        MANUAL = "manual", "Added by an organiser"

    address_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.created_at:%Y-%m-%d}"


class GotvEvent(models.Model):
    """One change of a contact's get-out-the-vote status: who, when and how."""

    class Method(models.TextChoices):
        CANVASS = "canvass", "Canvass"
        EMAIL_LINK = "email_link", '"I have voted" link'
        IMPORT = "import", "Import"
        WEB = "web", "Web tick-off"
        ADMIN = "admin", "Admin"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="gotv_events")
    status = models.CharField(max_length=16, choices=Contact.Gotv.choices)
    previous_status = models.CharField(max_length=16, choices=Contact.Gotv.choices)
    method = models.CharField(max_length=16, choices=Method.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["contact", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.previous_status} → {self.status} ({self.get_method_display()})"


class ImportChange(models.Model):
    """An existing contact an import changed, with the values it replaced, so undo can
    put them back. (Contacts an import created point at it through ``source_import``.)"""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    # {field name: value before the import}; only the fields the import changed.
    previous = models.JSONField(default=dict, blank=True)
    # The consent record the import added to a contact who had none, if any.
    consent_record = models.ForeignKey(
        ConsentRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "contact"], name="import_change_once")
        ]

    def __str__(self) -> str:
        return f"Import {self.batch_id} changed contact {self.contact_id}"


class EmailChange(models.Model):
    """A new address a district lead gave for a supporter, waiting for an organiser.

    A lead may not learn whether an address belongs to a supporter outside their
    districts, so every change of address a lead makes waits here, and the lead is
    told the same thing whatever the answer (contacts/services/email_change.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an organiser"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Replaced by a later change"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField(max_length=254)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"New address for supporter {self.contact_id} ({self.get_status_display()})"


class SupporterTally(models.Model):
    """How many supporters sit in one district × role × GOTV status × email state.

    A maintained aggregate (kept current by contacts/aggregates.py), so union-wide
    figures are a sum over a few thousand rows instead of a pass over every supporter.
    """

    class State(models.TextChoices):
        MAILABLE = "mailable", "Current consent, not suppressed"
        NO_CONSENT = "no_consent", "No current consent"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SUPPRESSED = "suppressed", "Suppressed (bounce, complaint or erasure)"

    # The district's id, 0 for supporters without a district (not a foreign key: the
    # tally follows the contacts, and a row for a vanished district is simply rebuilt).
    district_key = models.IntegerField()
    role = models.CharField(max_length=16, choices=Contact.Role.choices)
    gotv_status = models.CharField(max_length=16, choices=Contact.Gotv.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    # A current email consent on record (true for every mailable supporter; an
    # unsubscribed or suppressed one may still have one).
    consented = models.BooleanField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district_key", "role", "gotv_status", "state", "consented"],
                name="supporter_tally_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.district_key}/{self.role}/{self.gotv_status}/{self.state}: {self.n}"


class SharedAddress(models.Model):
    """An address hash that more than one contact may hold: the only places an audience
    can have duplicate addresses. A superset is harmless (the audience count checks
    the contacts themselves); a hash missing from here would be a miscount."""

    address_hash = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.address_hash[:12]


class TallyRecheck(models.Model):
    """A district whose tally must be recounted at ``due_at``: a consent given with a
    future date becomes current then, without any write to say so."""

    district_key = models.IntegerField(unique=True)
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.district_key} at {self.due_at:%Y-%m-%d %H:%M}"


class TagTally(models.Model):
    """``SupporterTally`` for the supporters carrying one tag (a supporter with two tags
    counts under each), so a drive to one tag is a sum too."""

    tag_id = models.IntegerField()
    district_key = models.IntegerField()
    role = models.CharField(max_length=16, choices=Contact.Role.choices)
    gotv_status = models.CharField(max_length=16, choices=Contact.Gotv.choices)
    state = models.CharField(max_length=16, choices=SupporterTally.State.choices)
    consented = models.BooleanField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tag_id", "district_key", "role", "gotv_status", "state", "consented"],
                name="tag_tally_cell",
            )
        ]

    def __str__(self) -> str:
        return f"tag {self.tag_id} {self.district_key}/{self.role}/{self.gotv_status}: {self.n}"


class ImportColumnMapping(models.Model):
    """How an organiser mapped a file's columns, remembered for the next file with the
    same headings (compared as the alias matcher compares them)."""

    headers_key = models.CharField(max_length=64, unique=True)
    headers = models.JSONField(default=list)
    # One field name per column, "" for a column not imported.
    fields = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return ", ".join(self.headers)[:120]
