from __future__ import annotations

from django.conf import settings
from django.db import models
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


class Mailing(models.Model):
    """An email drive written by a volunteer."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown; merge fields such as {{ first_name }}.")
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
    scheduled_for = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
