"""Suppressed addresses are never mailable again, and the list holds no addresses."""

from django.urls import reverse

from contacts.models import ConsentRecord, Contact, Suppression
from contacts.services import consent_withdraw, suppression_add
from contacts.suppression import address_hash


def test_withdrawing_consent_suppresses_the_address_for_good(contact_a, organiser):
    consent_withdraw(
        contacts=[contact_a], how=ConsentRecord.WithdrawnHow.ONE_CLICK, actor=organiser
    )
    suppression = Suppression.objects.get()
    assert suppression.reason == Suppression.Reason.UNSUBSCRIBED
    assert suppression.address_hash == address_hash("sian.oneill@example.org")
    assert "sian" not in suppression.address_hash

    contact_a.delete()  # erased later: the address must still be refused
    assert Suppression.objects.filter(
        address_hash=address_hash(" Sian.ONeill@example.org ")
    ).exists()


def test_a_suppressed_address_is_not_mailable_even_with_current_consent(contact_a, contact_b):
    suppression_add(email="SIAN.ONEILL@example.org", reason=Suppression.Reason.COMPLAINT)
    assert list(Contact.objects.mailable()) == [contact_b]


def test_suppressing_twice_keeps_the_first_reason(contact_a):
    suppression_add(email=contact_a.email, reason=Suppression.Reason.HARD_BOUNCE)
    suppression_add(email=contact_a.email, reason=Suppression.Reason.UNSUBSCRIBED)
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE


def test_organiser_suppresses_an_address_by_hand_and_only_its_hash_is_stored(
    client_for, organiser, contact_a
):
    response = client_for(organiser).post(
        reverse("admin:contacts_suppression_add"),
        {"email": " Sian.ONeill@Example.org", "reason": Suppression.Reason.MANUAL, "source": ""},
    )
    assert response.status_code == 302
    suppression = Suppression.objects.get()
    assert suppression.address_hash == contact_a.email_hash
    assert suppression.source == "added by organiser"
    assert not Contact.objects.mailable().exists()
    change = client_for(organiser).post(
        reverse("admin:contacts_suppression_change", args=[suppression.pk]),
        {"reason": Suppression.Reason.UNSUBSCRIBED},
    )
    assert change.status_code == 403
    assert (
        client_for(organiser)
        .post(reverse("admin:contacts_suppression_delete", args=[suppression.pk]), {"post": "yes"})
        .status_code
        == 403
    )


def test_leads_and_volunteers_cannot_see_the_suppression_list(client_for, lead_a, volunteer):
    for user in (lead_a, volunteer):
        assert (
            client_for(user).get(reverse("admin:contacts_suppression_changelist")).status_code
            == 403
        )
