"""The supporter tally stays exact: after every kind of write, each dashboard figure and
audience count equals a direct count of the supporters themselves.

The direct counts here are deliberately naive (Python over every contact, or one ORM
count per figure), independent of the tally's SQL.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.models import TeamMember
from campaign.roles import Role, forget_scope
from campaign.selectors import district_turnout
from contacts.aggregates import tally_differences, tally_rebuild
from contacts.importing import supporters_import
from contacts.importing.undo import import_batch_undo
from contacts.models import ConsentRecord, Contact, District, School, Suppression, Tag
from contacts.selectors import (
    contact_counts,
    supporter_figures,
    supporter_search,
    supporter_search_counts,
    supporter_search_figures,
    turnout_by_district,
)
from contacts.services import (
    consent_give,
    consent_withdraw,
    contact_save,
    gotv_set,
    gotv_set_many,
    suppression_add,
    suppression_add_many,
)
from mailings.selectors import AudienceFilters, audience_breakdown_for, audience_contacts_for
from tests.factories import (
    ConsentedContactFactory,
    ContactFactory,
    DistrictFactory,
    SchoolFactory,
    UserFactory,
)

Gotv = Contact.Gotv


@pytest.fixture
def union(district_a, district_b, school_a, school_b, contact_a, contact_b):
    """Three districts, a school sharing a name with another, every email state, every
    GOTV status, reps and activists, a tag, and a supporter with no district."""
    district_c = DistrictFactory(name="District C")
    st_marys = [
        SchoolFactory(name="St Mary's C of E Primary", urn=urn, district=d)
        for urn, d in (("200001", district_a), ("200002", district_c))
    ]
    statuses = list(Gotv.values)
    roles = list(Contact.Role.values)
    tag = Tag.objects.create(name="phonebank")
    people = []
    for i in range(36):
        school = [school_a, school_b, *st_marys][i % 4]
        factory = ConsentedContactFactory if i % 3 else ContactFactory
        person = factory(
            school=school,
            first_name=["Siân", "Zoë", "李", "Jean-Luc"][i % 4],
            last_name=f"Smith-Ó Briain {i}",
            role=roles[i % len(roles)],
            gotv_status=statuses[i % len(statuses)],
        )
        if i % 5 == 0:
            person.tags.add(tag)
        people.append(person)
    consent_withdraw(contacts=people[1:3], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK)
    suppression_add(email=people[4].email, reason=Suppression.Reason.HARD_BOUNCE)
    ContactFactory(school=None, district=None, first_name="Nowhere")
    other_tag = Tag.objects.create(name="rep network")
    other_tag.contacts.add(*people[::7])
    return {
        "districts": (district_a, district_b, district_c),
        "people": people,
        "tag": tag,
        "other_tag": other_tag,
    }


@pytest.fixture
def viewers(union, organiser, lead_a):
    district_a, district_b, district_c = union["districts"]
    two = UserFactory(username="volunteer_two", is_staff=True)
    member = TeamMember.objects.create(user=two, role=Role.VOLUNTEER)
    member.districts.set([district_a, district_c])
    return [organiser, two, lead_a]


def direct_breakdown(user, filters):
    """The audience breakdown the slow way: every contact, in Python."""
    now = timezone.now()
    suppressed = dict(Suppression.objects.values_list("address_hash", "reason"))
    counts = Counter()
    addresses = set()
    contacts = audience_contacts_for(user=user, filters=filters).prefetch_related("consents")
    for contact in contacts:
        counts["matched"] += 1
        reason = suppressed.get(contact.email_hash)
        if reason == Suppression.Reason.UNSUBSCRIBED:
            counts["unsubscribed"] += 1
        elif reason:
            counts["suppressed"] += 1
        elif not any(r.is_current(now) for r in contact.consents.all()):
            counts["no_consent"] += 1
        elif contact.email_hash and contact.email_hash in addresses:
            counts["duplicate"] += 1
        else:
            addresses.add(contact.email_hash)
            counts["mailable"] += 1
    keys = ("matched", "mailable", "no_consent", "unsubscribed", "suppressed", "duplicate")
    return {key: counts[key] for key in keys}


def direct_figures(user):
    contacts = Contact.objects.visible_to(user)
    figures = {"contacts": contacts.count(), "mailable": contacts.mailable().count()}
    for status in Gotv.values:
        figures[status] = contacts.filter(gotv_status=status).count()
    return figures


def direct_turnout(user):
    rows = []
    for district in District.objects.visible_to(user).order_by("name"):
        contacts = Contact.objects.filter(district=district)
        if contacts.exists():
            rows.append(
                {
                    "district": district,
                    "contacts": contacts.count(),
                    "voted": contacts.filter(gotv_status=Gotv.VOTED).count(),
                    "mailable": contacts.mailable().count(),
                }
            )
    return rows


def audiences(union):
    district_a, district_b, district_c = union["districts"]
    school = School.objects.filter(name__startswith="St Mary").first()
    return [
        AudienceFilters(),
        AudienceFilters(district_ids=(district_a.pk,)),
        AudienceFilters(district_ids=(district_b.pk, district_c.pk)),
        AudienceFilters(gotv_statuses=(Gotv.UNKNOWN, Gotv.PLEDGED, Gotv.BALLOT_RECEIVED)),
        AudienceFilters(roles=(Contact.Role.REP,), gotv_statuses=(Gotv.PLEDGED,)),
        AudienceFilters(school_ids=(school.pk,)),
        AudienceFilters(tag_ids=(union["tag"].pk,), district_ids=(district_a.pk,)),
        AudienceFilters(tag_ids=(union["tag"].pk,)),
        AudienceFilters(tag_ids=(union["tag"].pk,), gotv_statuses=(Gotv.UNKNOWN,)),
        AudienceFilters(tag_ids=(union["tag"].pk, union["other_tag"].pk)),
    ]


def supporter_filters(union):
    district_a = union["districts"][0]
    return [
        {},
        {"district": district_a},
        {"gotv": "not_voted"},
        {"gotv": Gotv.VOTED, "role": Contact.Role.REP},
        {"consent": "yes"},
        {"consent": "no", "district": district_a},
        {"tag": union["tag"]},
        {"tag": union["other_tag"], "consent": "yes"},
    ]


def assert_every_figure_matches(union, viewers):
    assert tally_differences() == {}
    for user in viewers:
        forget_scope(user)
        figures = supporter_figures(user=user)
        assert figures == direct_figures(user), user.username
        counts = contact_counts(user=user)
        assert (counts["contacts"], counts["mailable"], counts["voted"]) == (
            figures["contacts"],
            figures["mailable"],
            figures[Gotv.VOTED],
        )
        turnout = turnout_by_district(user=user)
        assert [
            {k: row[k] for k in ("district", "contacts", "voted", "mailable")} for row in turnout
        ] == direct_turnout(user), user.username
        for filters in supporter_filters(union):
            assert supporter_search_figures(user=user, **filters) == supporter_search_counts(
                contacts=supporter_search(user=user, **filters)
            ), (user.username, filters)
        turnout = {line.district_id: line for line in district_turnout(user=user)}
        assert {k: (t.supporters, t.voted) for k, t in turnout.items()} == {
            d.pk: (d.contacts.count(), d.contacts.filter(gotv_status=Gotv.VOTED).count())
            for d in District.objects.all()
            if d.contacts.exists()
        }
        for filters in audiences(union):
            assert audience_breakdown_for(user=user, filters=filters) == direct_breakdown(
                user, filters
            ), (user.username, filters)


def test_the_fixture_covers_every_state_and_the_figures_match(union, viewers):
    figures = supporter_figures(user=viewers[0])
    assert figures["contacts"] == 39 and 0 < figures["mailable"] < figures["contacts"]
    breakdown = audience_breakdown_for(user=viewers[0], filters=AudienceFilters())
    assert all(breakdown[k] for k in ("no_consent", "unsubscribed", "suppressed"))
    assert_every_figure_matches(union, viewers)


def _csv(tmp_path, rows):
    path = tmp_path / "supporters.csv"
    lines = ["Email,First name,Surname,School / workplace,School URN,District,Consent to email"]
    lines += [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(tmp_path, organiser, union):
    existing = union["people"][3]  # no consent yet: the import gives one
    path = _csv(
        tmp_path,
        [
            (
                "new.one@example.org",
                "Ada",
                "Smith",
                "Alder Primary School",
                "100001",
                "District A",
                "yes",
            ),
            ("new.two@example.org", "Bo", "Jones", "New Field School", "", "District D", "yes"),
            (existing.email, existing.first_name, existing.last_name, "", "", "", "yes"),
            (union["people"][1].email, "Un", "Subscribed", "", "", "", "yes"),
        ],
    )
    return supporters_import(path=path, file_name="supporters.csv", actor=organiser)


def test_figures_match_after_an_import(union, viewers, organiser, tmp_path):
    report = _import(tmp_path, organiser, union)
    assert report.created == 2
    assert District.objects.filter(name="District D").exists()
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_an_import_is_undone(union, viewers, organiser, tmp_path):
    before = direct_figures(organiser)
    report = _import(tmp_path, organiser, union)
    assert direct_figures(organiser) != before
    from contacts.models import ImportBatch

    import_batch_undo(batch=ImportBatch.objects.get(pk=report.batch_id), actor=organiser)
    assert direct_figures(organiser) == before
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_erasure(union, viewers):
    people = union["people"]
    consent_withdraw(contacts=people[5:12], how=ConsentRecord.WithdrawnHow.ERASURE)
    consent_withdraw(
        contacts=Contact.objects.filter(pk=people[20].pk), how=ConsentRecord.WithdrawnHow.ERASURE
    )
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_gotv_changes(union, viewers, organiser):
    people = union["people"]
    for person, status in zip(people[:10], [Gotv.VOTED, Gotv.PLEDGED] * 5, strict=True):
        gotv_set(contact=person, status=status, method="web", actor=organiser)
    gotv_set(contact=people[0], status=Gotv.VOTED, method="web")  # no change: counted once
    changed = gotv_set_many(
        contact_ids=[p.pk for p in people[10:30]], status=Gotv.VOTED, method="canvass"
    )
    assert changed > 0
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_unsubscribes_bounces_and_complaints(union, viewers):
    people = union["people"]
    consent_withdraw(contacts=people[13:15], how=ConsentRecord.WithdrawnHow.ONE_CLICK)
    consent_withdraw(contacts=[people[16]], how=ConsentRecord.WithdrawnHow.COMPLAINT)
    suppression_add(email=people[17].email, reason=Suppression.Reason.UNSUBSCRIBED)
    suppression_add_many(
        emails=[people[18].email, people[19].email.upper(), "nobody@example.org"],
        reason=Suppression.Reason.HARD_BOUNCE,
    )
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_edits_moves_deletes_and_new_consent(union, viewers):
    people = union["people"]
    district_a, district_b, district_c = union["districts"]
    mover = people[6]
    mover.school, mover.district = None, district_c
    mover.role = Contact.Role.ACTIVIST
    contact_save(contact=mover)
    people[7].delete()
    Contact.objects.filter(pk__in=[people[8].pk, people[9].pk]).delete()
    consent_give(
        contact=people[12], given_at=timezone.now(), source="Stall", wording="Yes", method="other"
    )
    twin = people[23]  # consented, like people[22]
    twin.email_hash = people[22].email_hash  # one mailbox reached two ways
    twin.save()
    newcomer = Contact(first_name="New", email="new@example.org", school=people[0].school)
    contact_save(contact=newcomer)
    breakdown = audience_breakdown_for(user=viewers[0], filters=AudienceFilters())
    assert breakdown["duplicate"] == 1
    assert_every_figure_matches(union, viewers)


def test_a_consent_dated_in_the_future_counts_from_its_date(union, viewers, monkeypatch):
    person = union["people"][3]  # no consent
    soon = timezone.now() + timedelta(hours=2)
    consent_give(contact=person, given_at=soon, source="Stall", wording="Yes", method="other")
    organiser = viewers[0]
    before = supporter_figures(user=organiser)["mailable"]
    assert before == direct_figures(organiser)["mailable"]
    later = soon + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert supporter_figures(user=organiser)["mailable"] == before + 1
    assert_every_figure_matches(union, viewers)


def test_a_rebuild_repairs_a_tally_written_behind_the_services_back(union, viewers):
    # QuerySet.update sends no signals: the tally cannot know, until it is recounted.
    Contact.objects.filter(pk=union["people"][0].pk).update(gotv_status=Gotv.WONT_VOTE)
    union["people"][0].refresh_from_db()
    assert tally_differences() != {}
    tally_rebuild()
    assert_every_figure_matches(union, viewers)


def test_figures_match_after_tags_are_added_and_removed(union, viewers):
    people, tag = union["people"], union["tag"]
    people[1].tags.add(tag)
    tag.contacts.add(people[2], people[3])
    people[5].tags.remove(tag)
    tag.contacts.remove(people[10])
    union["other_tag"].contacts.clear()
    people[15].tags.set([tag, union["other_tag"]])
    assert_every_figure_matches(union, viewers)


def test_the_rebuild_command_reports_and_repairs_a_stale_tally(union):
    from io import StringIO

    from django.core.management import CommandError, call_command

    Contact.objects.filter(pk=union["people"][0].pk).update(role=Contact.Role.ACTIVIST)
    with pytest.raises(CommandError, match="disagrees"):
        call_command("tally_rebuild", "--check", stdout=StringIO())
    out = StringIO()
    call_command("tally_rebuild", stdout=out)
    assert "Recounted" in out.getvalue()
    call_command("tally_rebuild", "--check", stdout=StringIO())  # agrees now
    assert tally_differences() == {}
