"""Audiences: filters, the sender's scope, a live count and why people are left out."""

import pytest
from django.core.exceptions import ValidationError

from contacts.models import ConsentRecord, Contact, Suppression, Tag
from contacts.services import consent_withdraw, suppression_add
from mailings.selectors import audience_breakdown, audience_contacts
from tests.factories import ConsentedContactFactory, ContactFactory, SchoolFactory


def test_audience_stays_inside_what_the_sender_may_see(make_drive, contact_a, contact_b):
    drive = make_drive()  # the volunteer is assigned District A only
    assert list(audience_contacts(mailing=drive)) == [contact_a]


def test_a_volunteer_cannot_name_a_district_outside_their_scope(make_drive, district_b):
    with pytest.raises(ValidationError) as caught:
        make_drive(districts=[district_b])
    assert "District B" in str(caught.value)


def test_filters_combine_districts_schools_roles_tags_and_gotv(
    make_drive, organiser, district_a, school_a, contact_a, contact_b
):
    other_school = SchoolFactory(district=district_a)
    rep = ConsentedContactFactory(school=other_school, role=Contact.Role.REP)
    voted_rep = ConsentedContactFactory(
        school=other_school, role=Contact.Role.REP, gotv_status=Contact.Gotv.VOTED
    )
    tagged = ConsentedContactFactory(school=school_a)
    tagged.tags.add(Tag.objects.create(name="phonebank"))

    by_district = make_drive(actor=organiser, districts=[district_a])
    assert set(audience_contacts(mailing=by_district)) == {contact_a, rep, voted_rep, tagged}

    reps_not_voted = make_drive(
        actor=organiser, roles=["rep"], gotv_statuses=["unknown", "pledged"]
    )
    assert list(audience_contacts(mailing=reps_not_voted)) == [rep]

    by_school_and_tag = make_drive(
        actor=organiser, schools=[school_a], tags=[Tag.objects.get(name="phonebank")]
    )
    assert list(audience_contacts(mailing=by_school_and_tag)) == [tagged]


def test_bad_role_and_gotv_values_are_named(make_drive):
    with pytest.raises(ValidationError) as caught:
        make_drive(roles=["boss"], gotv_statuses=["maybe"])
    assert "boss" in str(caught.value) and "maybe" in str(caught.value)


def test_live_count_and_each_exclusion_reason(
    make_drive, school_a, contact_a, unconsented_contact_a
):
    unsubscribed = ConsentedContactFactory(school=school_a)
    consent_withdraw(
        contacts=[unsubscribed], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK, source="test"
    )
    bounced = ConsentedContactFactory(school=school_a)
    suppression_add(email=bounced.email, reason=Suppression.Reason.HARD_BOUNCE)
    complained = ConsentedContactFactory(school=school_a)
    suppression_add(email=complained.email, reason=Suppression.Reason.COMPLAINT)
    # Addresses are unique per contact; a duplicate can still arise from one shared
    # hash (e.g. a mailbox alias normalised by an import), which the count reports.
    twin = ConsentedContactFactory(school=school_a)
    twin.email_hash = contact_a.email_hash
    twin.save(update_fields=["email_hash"])
    ConsentedContactFactory(school=school_a)

    drive = make_drive()
    assert audience_breakdown(mailing=drive) == {
        "matched": 7,
        "mailable": 2,
        "no_consent": 1,
        "unsubscribed": 1,
        "suppressed": 2,
        "duplicate": 1,
    }


def test_withdrawn_consent_without_suppression_counts_as_no_consent(make_drive, school_a):
    contact = ConsentedContactFactory(school=school_a)
    record = ConsentRecord.objects.get(contact=contact)
    record.withdrawn_at, record.withdrawn_how = "2026-01-01T00:00Z", "request"
    record.save()
    ContactFactory(school=school_a)
    counts = audience_breakdown(mailing=make_drive())
    assert counts["no_consent"] == 2 and counts["mailable"] == 0
