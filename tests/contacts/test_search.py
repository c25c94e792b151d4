"""Supporter search and the list's pages: what matches, in what order, within scope."""

import pytest

from contacts import selectors
from contacts.models import Contact
from tests.factories import ConsentedContactFactory, ContactFactory, SchoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(school_a, school_b, contact_a, contact_b):
    st_marys = SchoolFactory(name="St Mary's RC Primary", urn="300001", district=school_a.district)
    return {
        "li": ConsentedContactFactory(
            first_name="Li", last_name="Wei", email="li.wei@example.org", school=school_a
        ),
        "collins": ContactFactory(
            first_name="Aisling", last_name="Collins", email="ac@example.net", school=school_a
        ),
        "smith": ContactFactory(
            first_name="Mary-Jane",
            last_name="Smith-Ó Briain",
            email="mj.smith@example.org",
            mobile="+447700900123",
            school=st_marys,
        ),
        "other_smith": ContactFactory(
            first_name="John", last_name="Smith", email="john@example.org", school=school_b
        ),
        "wildcard": ContactFactory(
            first_name="Per", last_name="Cent", email="p_c@example.org", school=school_a
        ),
        "a": contact_a,
        "b": contact_b,
    }


def found(user, query):
    return set(selectors.contact_list(user=user, query=query))


def test_a_word_matches_anywhere_in_names_email_and_mobile(organiser, people):
    assert found(organiser, "smith") == {people["smith"], people["other_smith"]}
    assert found(organiser, "ollin") == {people["collins"]}
    assert found(organiser, "example.net") == {people["collins"]}


def test_every_word_must_match_in_any_order(organiser, people):
    assert found(organiser, "smith mary") == {people["smith"]}
    assert found(organiser, "MARY smith") == {people["smith"]}
    assert found(organiser, "smith nobody") == set()


def test_accents_and_apostrophes_are_searched_as_written(organiser, people):
    assert found(organiser, "Siân") == {people["a"]}
    assert found(organiser, "SIÂN") == {people["a"]}
    assert found(organiser, "o'neill") == {people["a"]}


def test_a_one_or_two_letter_word_matches_the_start_of_a_name(organiser, people):
    assert found(organiser, "Li") == {people["li"]}  # not Collins, not Aisling
    assert found(organiser, "we") == {people["li"]}
    # With a longer word beside it, a short one matches anywhere: "mj" of mj.smith@…
    assert found(organiser, "smith mj") == {people["smith"]}


def test_a_complete_address_finds_that_supporter(organiser, people):
    assert found(organiser, "LI.WEI@example.org") == {people["li"]}
    assert found(organiser, "wei@example.org") == set()  # whole addresses match exactly
    assert found(organiser, "wei@") == {people["li"]}  # part of one is a substring


def test_a_phone_number_is_searched_as_a_mobile_however_it_is_typed(organiser, people):
    assert found(organiser, "07700 900123") == {people["smith"]}
    assert found(organiser, "+44 7700 900123") == {people["smith"]}


def test_a_school_name_or_urn_finds_its_supporters(organiser, people):
    assert found(organiser, "st mary's") == {people["smith"]}
    assert found(organiser, "300001") == {people["smith"]}


def test_like_wildcards_in_a_query_are_literal(organiser, people):
    assert found(organiser, "p_c@") == {people["wildcard"]}
    assert found(organiser, "%%%") == set()
    assert found(organiser, "___") == set()


def test_search_never_leaves_the_users_scope(lead_a, lead_b, people):
    assert found(lead_a, "smith") == {people["smith"]}
    assert found(lead_b, "smith") == {people["other_smith"]}


def test_pages_count_from_the_tally_and_keep_the_list_order(organiser, lead_a, people):
    page = selectors.contact_page(user=organiser, per_page=3, page=2)
    assert page.paginator.count == Contact.objects.count() == 7
    assert page.paginator.count_is_exact
    in_order = list(Contact.objects.order_by("last_name", "first_name", "pk"))
    assert list(page.object_list) == in_order[3:6]
    last = selectors.contact_page(user=organiser, per_page=3, page=99)
    assert list(last.object_list) == in_order[6:]
    lead_page = selectors.contact_page(user=lead_a, per_page=50)
    assert lead_page.paginator.count == Contact.objects.visible_to(lead_a).count()


def test_a_search_counts_only_so_far_and_pages_through_its_matches(organiser, people, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_LIMIT", 2)
    page = selectors.contact_page(user=organiser, query="example.org", per_page=1, page=2)
    assert page.paginator.count == 2 and not page.paginator.count_is_exact
    matches = sorted(
        (c for c in Contact.objects.all() if "example.org" in c.email),
        key=lambda c: (c.last_name, c.first_name, c.pk),
    )
    assert list(page.object_list) == [matches[1]]


def test_the_list_page_shows_a_search_in_the_list_order(client_for, organiser, people):
    response = client_for(organiser).post("/contacts/", {"q": "smith"})
    assert response.status_code == 200
    listed = list(response.context["page"].object_list)
    assert listed == sorted(
        [people["smith"], people["other_smith"]], key=lambda c: (c.last_name, c.first_name)
    )
