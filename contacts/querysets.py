"""Scoped querysets: ``visible_to(user)`` is the one access rule for supporter data."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaign.roles import scope_for


def _scoped(queryset: models.QuerySet, user, district_field: str) -> models.QuerySet:
    scope = scope_for(user)
    if scope.sees_nothing:
        return queryset.none()
    if scope.sees_everything:
        return queryset
    return queryset.filter(**{f"{district_field}__in": scope.district_ids})


class DistrictQuerySet(models.QuerySet):
    def visible_to(self, user) -> DistrictQuerySet:
        return _scoped(self, user, "pk")


class SchoolQuerySet(models.QuerySet):
    def visible_to(self, user) -> SchoolQuerySet:
        return _scoped(self, user, "district_id")


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user) -> ContactQuerySet:
        return _scoped(self, user, "district_id")

    def with_current_email_consent(self, at=None) -> ContactQuerySet:
        from contacts.models import ConsentRecord

        at = at or timezone.now()
        current = ConsentRecord.objects.filter(
            contact=OuterRef("pk"),
            channel=ConsentRecord.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=at,
        )
        return self.filter(Exists(current))

    def not_suppressed(self) -> ContactQuerySet:
        from contacts.models import Suppression

        return self.exclude(Exists(Suppression.objects.filter(address_hash=OuterRef("email_hash"))))

    def mailable(self, at=None) -> ContactQuerySet:
        """Contacts we may lawfully email now: a current, unwithdrawn consent (PECR)
        and an address that never unsubscribed, bounced hard or complained."""
        return self.with_current_email_consent(at).not_suppressed()


class ConsentRecordQuerySet(models.QuerySet):
    def visible_to(self, user) -> ConsentRecordQuerySet:
        return _scoped(self, user, "contact__district_id")

    def current(self, at=None) -> ConsentRecordQuerySet:
        at = at or timezone.now()
        return self.filter(withdrawn_at__isnull=True, given_at__lte=at)


class ImportBatchQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImportBatchQuerySet:
        from campaign.roles import Role

        scope = scope_for(user)
        if scope.role == Role.ORGANISER:
            return self
        return self.none()
