"""Email consent (PECR): who may be mailed, withdrawal, and the evidence's integrity."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.models import ConsentRecord, Contact
from contacts.services import consent_give, consent_withdraw
from tests.factories import ConsentFactory

pytestmark = pytest.mark.django_db


def _mailable_pks(at=None):
    return set(Contact.objects.mailable(at).values_list("pk", flat=True))


def test_contact_without_any_consent_is_not_mailable(unconsented_contact_a):
    assert unconsented_contact_a.pk not in _mailable_pks()
    assert unconsented_contact_a.is_mailable() is False


def test_contact_with_a_current_consent_is_mailable(contact_a):
    assert contact_a.pk in _mailable_pks()
    assert contact_a.is_mailable() is True


def test_mailable_lists_only_consented_contacts(contact_a, unconsented_contact_a, contact_b):
    assert _mailable_pks() == {contact_a.pk, contact_b.pk}


def test_contact_whose_only_consent_was_withdrawn_is_not_mailable(unconsented_contact_a):
    ConsentFactory(
        contact=unconsented_contact_a,
        withdrawn_at=timezone.now() - timedelta(days=1),
        withdrawn_how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK,
    )
    assert unconsented_contact_a.pk not in _mailable_pks()
    assert unconsented_contact_a.is_mailable() is False


def test_a_fresh_consent_after_a_withdrawal_makes_the_contact_mailable_again(
    unconsented_contact_a,
):
    ConsentFactory(
        contact=unconsented_contact_a,
        given_at=timezone.now() - timedelta(days=60),
        withdrawn_at=timezone.now() - timedelta(days=30),
        withdrawn_how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK,
    )
    consent_give(
        contact=unconsented_contact_a,
        given_at=timezone.now() - timedelta(days=1),
        source="Stall at conference",
        wording="I agree to receive campaign emails.",
        method=ConsentRecord.Method.PAPER_FORM,
    )
    assert unconsented_contact_a.pk in _mailable_pks()
    assert unconsented_contact_a.is_mailable() is True


def test_consent_dated_in_the_future_does_not_count_yet(unconsented_contact_a):
    starts = timezone.now() + timedelta(days=2)
    ConsentFactory(contact=unconsented_contact_a, given_at=starts)
    assert unconsented_contact_a.pk not in _mailable_pks()
    assert unconsented_contact_a.is_mailable() is False
    # ...but it does from the moment it was given.
    later = starts + timedelta(minutes=1)
    assert unconsented_contact_a.pk in _mailable_pks(at=later)
    assert unconsented_contact_a.is_mailable(at=later) is True


def test_consent_withdraw_withdraws_every_current_record_and_audits_it(
    organiser, unconsented_contact_a, contact_b
):
    contact = unconsented_contact_a
    first = ConsentFactory(contact=contact, given_at=timezone.now() - timedelta(days=90))
    second = ConsentFactory(contact=contact, given_at=timezone.now() - timedelta(days=3))
    earlier = timezone.now() - timedelta(days=200)
    old = ConsentFactory(
        contact=contact,
        given_at=earlier - timedelta(days=10),
        withdrawn_at=earlier,
        withdrawn_how=ConsentRecord.WithdrawnHow.HARD_BOUNCE,
    )

    count = consent_withdraw(
        contacts=[contact], how=ConsentRecord.WithdrawnHow.REQUEST, actor=organiser
    )

    assert count == 2
    for record in (first, second):
        record.refresh_from_db()
        assert record.withdrawn_at is not None
        assert record.withdrawn_how == ConsentRecord.WithdrawnHow.REQUEST
    old.refresh_from_db()
    assert old.withdrawn_at == earlier
    assert old.withdrawn_how == ConsentRecord.WithdrawnHow.HARD_BOUNCE
    assert contact.is_mailable() is False
    assert contact.pk not in _mailable_pks()
    # Other supporters are untouched.
    assert contact_b.is_mailable() is True

    event = AuditEvent.objects.get(action=AuditEvent.Action.CONSENT_WITHDRAW)
    assert event.actor == organiser
    assert event.actor_label == "organiser"
    assert event.counts == {"consent_records": 2}
    assert event.detail == {"how": "request"}


def test_consent_withdraw_accepts_a_queryset(organiser, contact_a, contact_b):
    count = consent_withdraw(
        contacts=Contact.objects.filter(pk=contact_a.pk),
        how=ConsentRecord.WithdrawnHow.COMPLAINT,
        actor=organiser,
    )
    assert count == 1
    assert _mailable_pks() == {contact_b.pk}


def test_consent_withdraw_uses_the_given_time(contact_a):
    at = timezone.now() - timedelta(hours=1)
    consent_withdraw(contacts=[contact_a], how=ConsentRecord.WithdrawnHow.ONE_CLICK, at=at)
    assert contact_a.consents.get().withdrawn_at == at


def test_consent_withdraw_with_nothing_current_writes_no_audit_event(unconsented_contact_a):
    count = consent_withdraw(
        contacts=[unconsented_contact_a], how=ConsentRecord.WithdrawnHow.REQUEST
    )
    assert count == 0
    assert not AuditEvent.objects.exists()


def test_database_rejects_a_withdrawal_without_a_reason(unconsented_contact_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(contact=unconsented_contact_a, withdrawn_at=timezone.now(), withdrawn_how="")
    assert not ConsentRecord.objects.exists()


def test_database_rejects_a_reason_without_a_withdrawal_time(unconsented_contact_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(
            contact=unconsented_contact_a,
            withdrawn_at=None,
            withdrawn_how=ConsentRecord.WithdrawnHow.REQUEST,
        )
    assert not ConsentRecord.objects.exists()
