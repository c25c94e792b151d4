"""Undoing an import: remove what it created, put back what it changed.

Only what nobody has touched since the import is taken back; a contact edited, given a
GOTV status or a new consent (or an unsubscribe) afterwards is kept as it is now and
counted, so undo never destroys later work.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaign.models import AuditEvent, TeamMember
from campaign.roles import can
from campaign.services import audit_record
from contacts.aggregates import tally_scope
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    GotvEvent,
    ImportBatch,
    ImportChange,
    School,
)
from contacts.tally_import import import_district_ids

CHUNK = 2000


def _untouched(contacts, batch: ImportBatch):
    """Contacts nobody edited, canvassed, or gave or withdrew consent for since the import."""
    since = batch.finished_at
    later_gotv = GotvEvent.objects.filter(contact=OuterRef("pk"), created_at__gt=since)
    later_consent = ConsentRecord.objects.filter(contact=OuterRef("pk")).filter(
        Q(created_at__gt=since) | Q(withdrawn_at__gt=since)
    )
    return contacts.filter(updated_at__lte=since).exclude(
        Exists(later_gotv) | Exists(later_consent)
    )


def import_batch_undo_plan(*, batch: ImportBatch) -> dict[str, int]:
    """What undoing ``batch`` now would do, for the confirmation page (nothing changes):
    the same rules as ``import_batch_undo``."""
    created = Contact.objects.filter(source_import=batch)
    removable = _untouched(created, batch).count() if batch.finished_at else 0
    changes = ImportChange.objects.filter(batch=batch)
    restorable = (
        _untouched(Contact.objects.filter(pk__in=changes.values("contact_id")), batch).count()
        if batch.finished_at
        else 0
    )
    changed = changes.values("contact_id").distinct().count()
    created_total = created.count()
    return {
        "contacts_removed": removable,
        "contacts_kept": created_total - removable,
        "contacts_restored": restorable,
        "changes_kept": changed - restorable,
        "schools_created": len(batch.created_objects.get("schools", [])),
        "districts_created": len(batch.created_objects.get("districts", [])),
    }


@transaction.atomic
def import_batch_undo(*, batch: ImportBatch, actor) -> dict[str, int]:
    """Take an import back out; returns what was removed, restored and kept."""
    if not can(actor, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can undo imports.")
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportBatch.Status.DONE or batch.finished_at is None:
        raise ValidationError(f"Only a finished import can be undone (this one is {batch.status}).")
    # Undo deletes and restores in bulk: recount the import's districts once at the end.
    with tally_scope(district_ids=import_district_ids(batch=batch)):
        return _undo(batch=batch, actor=actor)


def _undo(*, batch: ImportBatch, actor) -> dict[str, int]:
    created = Contact.objects.filter(source_import=batch)
    removable = _untouched(created, batch).values_list("pk", flat=True)
    removed = 0
    ids = list(removable)
    for start in range(0, len(ids), CHUNK):
        removed += (
            Contact.objects.filter(pk__in=ids[start : start + CHUNK])
            .delete()[1]
            .get("contacts.Contact", 0)
        )
    kept_created = created.count()

    restored = kept_changed = 0
    changes = ImportChange.objects.filter(batch=batch)
    restorable = set(
        _untouched(Contact.objects.filter(pk__in=changes.values("contact_id")), batch).values_list(
            "pk", flat=True
        )
    )
    now = timezone.now()
    groups: dict[tuple[str, ...], list[Contact]] = {}
    consent_ids: list[int] = []
    for change in changes.iterator(chunk_size=CHUNK):
        if change.contact_id not in restorable:
            kept_changed += 1
            continue
        if change.previous:
            contact = Contact(pk=change.contact_id, updated_at=now, **change.previous)
            groups.setdefault(tuple(sorted(change.previous)), []).append(contact)
        if change.consent_record_id:
            consent_ids.append(change.consent_record_id)
        restored += 1
    for fields, contacts in groups.items():
        Contact.objects.bulk_update(contacts, [*fields, "updated_at"], batch_size=1000)
    for start in range(0, len(consent_ids), CHUNK):
        ConsentRecord.objects.filter(pk__in=consent_ids[start : start + CHUNK]).delete()
    changes.delete()

    schools_removed = _remove_unused_schools(batch)
    districts_removed = _remove_unused_districts(batch)
    batch.status = ImportBatch.Status.UNDONE
    batch.undone_at = timezone.now()
    batch.save(update_fields=["status", "undone_at"])
    counts = {
        "contacts_removed": removed,
        "contacts_kept": kept_created,
        "contacts_restored": restored,
        "changes_kept": kept_changed,
        "schools_removed": schools_removed,
        "districts_removed": districts_removed,
    }
    audit_record(actor=actor, action=AuditEvent.Action.IMPORT_UNDO, target=batch, counts=counts)
    return counts


def _remove_unused_schools(batch: ImportBatch) -> int:
    ids = batch.created_objects.get("schools", [])
    unused = School.objects.filter(pk__in=ids).exclude(
        Exists(Contact.objects.filter(school=OuterRef("pk")))
    )
    return unused.delete()[1].get("contacts.School", 0)


def _remove_unused_districts(batch: ImportBatch) -> int:
    ids = batch.created_objects.get("districts", [])
    unused = (
        District.objects.filter(pk__in=ids)
        .exclude(Exists(Contact.objects.filter(district=OuterRef("pk"))))
        .exclude(Exists(School.objects.filter(district=OuterRef("pk"))))
        .exclude(Exists(TeamMember.districts.through.objects.filter(district=OuterRef("pk"))))
    )
    return unused.delete()[1].get("contacts.District", 0)
