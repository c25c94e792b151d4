"""The audit trail is append-only and outlives the people it names."""

import pytest
from django.contrib.auth.models import AnonymousUser

from campaign.models import AuditEvent
from campaign.services import audit_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_record_stores_actor_action_target_and_counts(organiser, contact_a):
    event = audit_record(
        actor=organiser,
        action=AuditEvent.Action.EXPORT,
        target=contact_a,
        counts={"rows": 12},
        detail={"format": "csv"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == organiser
    assert stored.actor_label == "organiser"
    assert stored.action == "export"
    assert stored.target_type == "contacts.contact"
    assert stored.target_id == str(contact_a.pk)
    assert stored.target_label == "Siân O'Neill"
    assert stored.counts == {"rows": 12}
    assert stored.detail == {"format": "csv"}
    assert stored.created_at is not None


def test_audit_record_without_target_or_actor_is_a_system_event():
    event = audit_record(actor=None, action=AuditEvent.Action.SEED)
    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_label == ""
    assert (event.target_type, event.target_id, event.target_label) == ("", "", "")
    assert event.counts == {}
    assert "system" in str(event)


def test_audit_record_treats_an_anonymous_actor_as_nobody():
    event = audit_record(actor=AnonymousUser(), action=AuditEvent.Action.CONSENT_WITHDRAW)
    assert event.actor is None
    assert event.actor_label == ""


def test_audit_record_truncates_a_long_target_label(organiser, school_a):
    school_a.name = "x" * 300
    event = audit_record(actor=organiser, action=AuditEvent.Action.EXPORT, target=school_a)
    event.refresh_from_db()
    assert len(event.target_label) == 200


def test_saved_audit_event_cannot_be_saved_again(organiser):
    event = audit_record(actor=organiser, action=AuditEvent.Action.EXPORT)
    event.action = AuditEvent.Action.IMPORT
    with pytest.raises(TypeError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "export"


def test_refetched_audit_event_cannot_be_saved(organiser):
    event = audit_record(actor=organiser, action=AuditEvent.Action.EXPORT)
    again = AuditEvent.objects.get(pk=event.pk)
    again.counts = {"rows": 1}
    with pytest.raises(TypeError):
        again.save()
    assert AuditEvent.objects.get(pk=event.pk).counts == {}


def test_audit_event_cannot_be_deleted(organiser):
    event = audit_record(actor=organiser, action=AuditEvent.Action.EXPORT)
    with pytest.raises(TypeError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_queryset_update_raises(organiser):
    audit_record(actor=organiser, action=AuditEvent.Action.EXPORT)
    with pytest.raises(TypeError):
        AuditEvent.objects.update(action=AuditEvent.Action.IMPORT)
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(action="export").update(actor_label="someone else")
    assert AuditEvent.objects.get().action == "export"


def test_audit_queryset_delete_raises(organiser):
    audit_record(actor=organiser, action=AuditEvent.Action.EXPORT)
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(action="export").delete()
    assert AuditEvent.objects.count() == 1


def test_actor_label_survives_deleting_the_user():
    leaver = UserFactory(username="leaver")
    event = audit_record(actor=leaver, action=AuditEvent.Action.EXPORT)

    leaver.delete()

    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor is None
    assert event.actor_id is None
    assert event.actor_label == "leaver"
    assert "leaver" in str(event)
