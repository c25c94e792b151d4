"""``visible_to(user)``: the one access rule for supporter data, per role and scope."""

import pytest
from django.contrib.auth.models import AnonymousUser

from campaign.models import TeamMember
from campaign.roles import Role
from contacts.models import ConsentRecord, Contact, District, School
from mailings.models import Mailing
from tests.factories import ConsentedContactFactory, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_districts(contact_a, contact_b):
    """Contacts (with consent) and schools in District A and District B."""
    return contact_a, contact_b


def _member(username, role, districts=(), all_districts=False, **extra):
    user = UserFactory(username=username, is_staff=True, **extra)
    member = TeamMember.objects.create(user=user, role=role, all_districts=all_districts)
    member.districts.set(districts)
    return user


def _visible(user):
    """The pks each scoped model shows ``user``, as sets."""
    return {
        "contacts": set(Contact.objects.visible_to(user).values_list("pk", flat=True)),
        "schools": set(School.objects.visible_to(user).values_list("pk", flat=True)),
        "districts": set(District.objects.visible_to(user).values_list("pk", flat=True)),
        "consents": set(ConsentRecord.objects.visible_to(user).values_list("pk", flat=True)),
    }


def _everything():
    return {
        "contacts": set(Contact.objects.values_list("pk", flat=True)),
        "schools": set(School.objects.values_list("pk", flat=True)),
        "districts": set(District.objects.values_list("pk", flat=True)),
        "consents": set(ConsentRecord.objects.values_list("pk", flat=True)),
    }


def _only(contact):
    return {
        "contacts": {contact.pk},
        "schools": {contact.school_id},
        "districts": {contact.district_id},
        "consents": set(contact.consents.values_list("pk", flat=True)),
    }


NOTHING = {"contacts": set(), "schools": set(), "districts": set(), "consents": set()}


def test_organiser_sees_every_district(organiser, both_districts):
    everything = _everything()
    assert len(everything["contacts"]) == 2
    assert _visible(organiser) == everything


def test_volunteer_assigned_district_a_sees_only_district_a(volunteer, both_districts):
    contact_a, _ = both_districts
    assert _visible(volunteer) == _only(contact_a)


def test_volunteer_with_all_districts_sees_every_district(district_a, both_districts):
    roaming = _member("roaming", Role.VOLUNTEER, all_districts=True)
    assert _visible(roaming) == _everything()


def test_lead_a_sees_only_district_a(lead_a, both_districts):
    contact_a, _ = both_districts
    assert _visible(lead_a) == _only(contact_a)


def test_lead_b_does_not_see_district_a(lead_b, both_districts):
    _, contact_b = both_districts
    assert _visible(lead_b) == _only(contact_b)


def test_lead_of_two_districts_sees_both(district_a, district_b, both_districts):
    lead = _member("lead_ab", Role.LEAD, districts=[district_a, district_b])
    assert _visible(lead) == _everything()


def test_lead_of_two_districts_does_not_see_a_third(district_a, district_b, both_districts):
    third = ConsentedContactFactory(school=SchoolFactory(district__name="District C"))
    lead = _member("lead_ab", Role.LEAD, districts=[district_a, district_b])
    visible = _visible(lead)
    assert third.pk not in visible["contacts"]
    assert third.district_id not in visible["districts"]
    assert visible["contacts"] == {c.pk for c in both_districts}


def test_user_without_team_member_sees_nothing(both_districts):
    stranger = UserFactory(username="stranger", is_staff=True)
    assert _visible(stranger) == NOTHING


def test_anonymous_user_sees_nothing(both_districts):
    assert _visible(AnonymousUser()) == NOTHING


def test_none_user_sees_nothing(both_districts):
    assert _visible(None) == NOTHING


def test_inactive_organiser_sees_nothing(both_districts):
    former = _member("former", Role.ORGANISER, is_active=False)
    assert _visible(former) == NOTHING


def test_superuser_without_team_member_sees_everything(both_districts):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert _visible(admin) == _everything()


def test_lead_with_no_districts_sees_nothing(both_districts):
    lead = _member("lead_none", Role.LEAD)
    assert _visible(lead) == NOTHING


def test_contact_without_district_is_seen_only_by_users_who_see_every_district(
    organiser, lead_a, volunteer, both_districts
):
    homeless = Contact.objects.create(first_name="No", last_name="School", email="n@example.org")
    assert Contact.objects.visible_to(organiser).filter(pk=homeless.pk).exists()
    assert not Contact.objects.visible_to(lead_a).filter(pk=homeless.pk).exists()
    assert not Contact.objects.visible_to(volunteer).filter(pk=homeless.pk).exists()


# Mailings -----------------------------------------------------------------------------


@pytest.fixture
def mailings(organiser, volunteer):
    other = _member("other_volunteer", Role.VOLUNTEER)
    return {
        "organiser": Mailing.objects.create(
            name="Ballot week", subject="Vote", body="Hi", created_by=organiser
        ),
        "volunteer": Mailing.objects.create(
            name="Alder push", subject="Vote", body="Hi", created_by=volunteer
        ),
        "other": Mailing.objects.create(
            name="Other push", subject="Vote", body="Hi", created_by=other
        ),
    }


def _mailing_pks(user):
    return set(Mailing.objects.visible_to(user).values_list("pk", flat=True))


def test_organiser_sees_every_mailing(organiser, mailings):
    assert _mailing_pks(organiser) == {m.pk for m in mailings.values()}


def test_volunteer_sees_only_their_own_mailings(volunteer, mailings):
    assert _mailing_pks(volunteer) == {mailings["volunteer"].pk}


def test_volunteer_with_all_districts_sees_every_mailing(mailings):
    roaming = _member("roaming", Role.VOLUNTEER, all_districts=True)
    assert _mailing_pks(roaming) == {m.pk for m in mailings.values()}


def test_lead_sees_no_mailings(lead_a, mailings):
    assert _mailing_pks(lead_a) == set()


def test_user_without_role_sees_no_mailings(mailings):
    assert _mailing_pks(UserFactory(username="stranger")) == set()
    assert _mailing_pks(AnonymousUser()) == set()
