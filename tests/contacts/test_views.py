"""The supporter web views only ever show the signed-in user's scope."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _listed(response):
    return {contact.pk for contact in response.context["page"].object_list}


def test_lead_a_sees_contact_a_in_the_list_and_not_contact_b(
    client_for, lead_a, contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("contact-list"))
    assert response.status_code == 200
    assert _listed(response) == {contact_a.pk}
    page = response.content.decode()
    assert "Siân O&#x27;Neill" in page
    assert "Nowak" not in page


def test_organiser_sees_both_districts_in_the_list(client_for, organiser, contact_a, contact_b):
    response = client_for(organiser).get(reverse("contact-list"))
    assert _listed(response) == {contact_a.pk, contact_b.pk}


def test_district_choices_on_the_list_are_only_lead_as(
    client_for, lead_a, district_a, district_b, contact_a
):
    response = client_for(lead_a).get(reverse("contact-list"))
    assert list(response.context["districts"]) == [district_a]
    assert district_b.name not in response.content.decode()


def test_lead_a_can_open_contact_a(client_for, lead_a, contact_a):
    response = client_for(lead_a).get(reverse("contact-detail", args=[contact_a.pk]))
    assert response.status_code == 200
    assert response.context["contact"] == contact_a


def test_lead_a_gets_404_for_contact_b(client_for, lead_a, contact_a, contact_b):
    response = client_for(lead_a).get(reverse("contact-detail", args=[contact_b.pk]))
    assert response.status_code == 404


def test_out_of_scope_contact_looks_like_a_missing_one(client_for, lead_a, contact_b):
    client = client_for(lead_a)
    hidden = client.get(reverse("contact-detail", args=[contact_b.pk]))
    missing = client.get(reverse("contact-detail", args=[contact_b.pk + 10_000]))
    assert hidden.status_code == missing.status_code == 404


def test_lead_a_can_open_school_a_with_its_supporters(
    client_for, lead_a, school_a, contact_a, unconsented_contact_a
):
    response = client_for(lead_a).get(reverse("school-detail", args=[school_a.pk]))
    assert response.status_code == 200
    assert {c.pk for c in response.context["contacts"]} == {contact_a.pk, unconsented_contact_a.pk}


def test_lead_a_gets_404_for_school_b(client_for, lead_a, school_a, school_b, contact_b):
    response = client_for(lead_a).get(reverse("school-detail", args=[school_b.pk]))
    assert response.status_code == 404


def test_school_page_does_not_list_contacts_from_another_district(
    client_for, lead_a, school_a, contact_a, district_b
):
    """A contact filed under school A but in district B stays hidden from lead A."""
    stray = Contact.objects.create(
        first_name="Stray",
        last_name="Record",
        email="stray@example.org",
        school=school_a,
        district=district_b,
    )
    response = client_for(lead_a).get(reverse("school-detail", args=[school_a.pk]))
    assert stray not in response.context["contacts"]
    assert contact_a in response.context["contacts"]


@pytest.mark.parametrize("name", ["contact-list", "contact-detail", "school-detail", "home"])
def test_anonymous_user_is_redirected_to_login(client, contact_a, name):
    args = [] if name in ("contact-list", "home") else [contact_a.pk]
    if name == "school-detail":
        args = [contact_a.school_id]
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("name", ["contact-list", "contact-detail", "school-detail", "home"])
def test_signed_in_user_without_a_role_gets_403(client_for, contact_a, name):
    args = [] if name in ("contact-list", "home") else [contact_a.pk]
    if name == "school-detail":
        args = [contact_a.school_id]
    stranger = UserFactory(username="stranger")
    response = client_for(stranger).get(reverse(name, args=args))
    assert response.status_code == 403


def test_inactive_team_member_cannot_use_the_list(client, lead_a, contact_a):
    lead_a.is_active = False
    lead_a.save()
    client.force_login(lead_a)
    response = client.get(reverse("contact-list"))
    # The session is dropped for an inactive user, so this is a trip to the login page.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_search_by_name_finds_a_contact_in_scope(
    client_for, lead_a, contact_a, unconsented_contact_a
):
    response = client_for(lead_a).post(reverse("contact-list"), {"q": "o'neill"})
    assert _listed(response) == {contact_a.pk}


def test_search_by_urn_finds_the_schools_contacts_in_scope(
    client_for, lead_a, contact_a, unconsented_contact_a, contact_b
):
    response = client_for(lead_a).post(reverse("contact-list"), {"q": "100001"})
    assert _listed(response) == {contact_a.pk, unconsented_contact_a.pk}


def test_search_does_not_reach_outside_scope(client_for, lead_a, contact_a, contact_b):
    client = client_for(lead_a)
    assert _listed(client.post(reverse("contact-list"), {"q": "Nowak"})) == set()
    assert _listed(client.post(reverse("contact-list"), {"q": "100002"})) == set()
    assert _listed(client.post(reverse("contact-list"), {"q": "tomasz.nowak@example.org"})) == set()


def test_organiser_search_finds_the_same_contact_lead_a_cannot(
    client_for, organiser, contact_a, contact_b
):
    response = client_for(organiser).post(reverse("contact-list"), {"q": "Nowak"})
    assert _listed(response) == {contact_b.pk}


def test_district_filter_for_another_district_yields_nothing_from_it(
    client_for, lead_a, district_b, contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("contact-list"), {"district": district_b.pk})
    assert response.status_code == 200
    assert _listed(response) == set()
    assert contact_b.last_name not in response.content.decode()


def test_district_filter_narrows_an_organisers_list(
    client_for, organiser, district_b, contact_a, contact_b
):
    response = client_for(organiser).get(reverse("contact-list"), {"district": district_b.pk})
    assert _listed(response) == {contact_b.pk}


def test_a_nonsense_district_filter_is_ignored(client_for, lead_a, contact_a):
    response = client_for(lead_a).get(reverse("contact-list"), {"district": "abc"})
    assert response.status_code == 200
    assert _listed(response) == {contact_a.pk}


def test_home_counts_only_lead_as_scope(
    client_for, lead_a, contact_a, unconsented_contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("home"))
    assert response.status_code == 200
    assert response.context["counts"] == {
        "contacts": 2,
        "mailable": 1,
        "voted": 0,
        "schools": 1,
        "districts": 1,
    }


def test_home_shows_one_supporter_to_lead_a_when_both_districts_have_one(
    client_for, lead_a, contact_a, contact_b
):
    response = client_for(lead_a).get(reverse("home"))
    assert response.context["counts"]["contacts"] == 1
    assert (
        '<span class="stat__value">1</span> <span class="stat__label">supporters</span>'
        in response.content.decode()
    )


def test_home_counts_everything_for_an_organiser(
    client_for, organiser, contact_a, unconsented_contact_a, contact_b
):
    contact_b.gotv_status = Contact.Gotv.VOTED
    contact_b.save()
    response = client_for(organiser).get(reverse("home"))
    assert response.context["counts"] == {
        "contacts": 3,
        "mailable": 2,
        "voted": 1,
        "schools": 2,
        "districts": 2,
    }
