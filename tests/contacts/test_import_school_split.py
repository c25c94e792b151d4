"""manage.py schools_split: taking apart schools the old same-name rule merged."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.importing import supporters_import
from contacts.models import Contact, ImportBatch, School
from tests.factories import ConsentedContactFactory, DistrictFactory, SchoolFactory

HEADERS = ["Email", "First name", "School", "URN", "District", "Consent"]


def old_batch(file_name, rejected_rows=()):
    """A batch as the importer before the URN rule stored it (no urns_added)."""
    return ImportBatch.objects.create(
        file_name=file_name,
        sha256="0" * 64,
        status=ImportBatch.Status.DONE,
        finished_at=timezone.now(),
        report={
            "rows": 3,
            "headers": HEADERS,
            "rejected_rows": [list(row) for row in rejected_rows],
        },
    )


@pytest.fixture
def merged(organiser):
    """Oakfield URN 140001 and Oakfield URN 140002 (Leeds) stored as one school: three
    supporters from first.csv, and a later file whose rejected row says bob is at 140002."""
    leeds = DistrictFactory(name="Leeds")
    school = SchoolFactory(name="Oakfield Primary School", urn="140001", district=leeds)
    first = old_batch("first.csv")
    people = {
        name: ConsentedContactFactory(
            email=f"{name}@example.org", school=school, district=leeds, source_import=first
        )
        for name in ("ann", "bob", "cat")
    }
    old_batch(
        "second.csv",
        rejected_rows=[
            (
                4,
                ["bob@example.org", "Bob", "Oakfield Primary School", "140002", "Leeds", "maybe"],
                "Consent not understood",
            ),
            (
                5,
                ["zed@example.org", "Zed", "Oakfield Primary School", "140003", "Leeds", "no"],
                "No consent",
            ),
        ],
    )
    return school, people


def test_the_dry_run_says_what_it_would_do_and_writes_nothing(merged, capsys):
    school, people = merged
    schools, audits = School.objects.count(), AuditEvent.objects.count()

    call_command("schools_split", "--as", "organiser")

    out = capsys.readouterr().out
    assert out.startswith("Dry run (nothing written)")
    assert "Would move 1 supporter(s)" in out and "(URN 140002)" in out
    # ann and cat: no stored row says which Oakfield they are at.
    assert "cannot tell which school 2 of its supporters belong to" in out
    assert "import_supporters FILE" in out and "first.csv" in out
    assert School.objects.count() == schools and AuditEvent.objects.count() == audits
    people["bob"].refresh_from_db()
    assert people["bob"].school == school


def test_apply_moves_the_supporters_stored_rows_place_and_is_audited(merged, capsys):
    school, people = merged

    call_command("schools_split", "--apply", "--as", "organiser")

    out = capsys.readouterr().out
    assert "Split: 1 school(s) created, 1 supporter(s) moved." in out
    new = School.objects.get(urn="140002")
    assert (new.name, new.district, new.name_key) == (
        "Oakfield Primary School",
        school.district,
        school.name_key,
    )
    assert list(new.contacts.values_list("email", flat=True)) == ["bob@example.org"]
    assert sorted(school.contacts.values_list("email", flat=True)) == [
        "ann@example.org",
        "cat@example.org",
    ]
    assert not School.objects.filter(urn="140003").exists()  # nobody to put there
    event = AuditEvent.objects.get(action=AuditEvent.Action.SCHOOLS_SPLIT)
    assert event.counts == {"schools_created": 1, "contacts_moved": 1}
    assert event.detail["moves"] == [[people["bob"].pk, school.pk, new.pk]]
    assert event.actor.username == "organiser"


def test_a_second_run_finds_nothing_more_to_move(merged, capsys):
    call_command("schools_split", "--apply", "--as", "organiser")
    capsys.readouterr()

    call_command("schools_split", "--apply", "--as", "organiser")

    out = capsys.readouterr().out
    assert "Split: 0 school(s) created, 0 supporter(s) moved." in out
    assert School.objects.filter(urn="140002").count() == 1


def test_without_stored_rows_it_says_the_data_cannot_tell_and_how_to_reimport(organiser, capsys):
    leeds = DistrictFactory(name="Leeds")
    school = SchoolFactory(name="Oakfield Primary School", urn="140001", district=leeds)
    batch = old_batch("national.csv")
    ConsentedContactFactory(school=school, district=leeds, source_import=batch)

    call_command("schools_split", "--as", "organiser")

    out = capsys.readouterr().out
    assert "cannot be found or undone from stored data" in out
    assert f"#{batch.pk} national.csv" in out
    assert "Would move" not in out


def test_imports_under_the_urn_rule_are_not_listed_as_unchecked(organiser, tmp_path, capsys):
    path = tmp_path / "new.csv"
    path.write_text("Email,Consent,School,URN,District\nann@example.org,yes,Oak,140001,Leeds\n")
    supporters_import(path=path, file_name="new.csv", actor=organiser)

    call_command("schools_split", "--as", "organiser")

    assert "No merged schools found in the stored import data." in capsys.readouterr().out


def test_importing_the_original_file_again_puts_each_supporter_at_their_school(
    merged, organiser, tmp_path
):
    school, people = merged
    path = tmp_path / "first.csv"
    path.write_text(
        "Email,Consent,School,URN,District\n"
        "ann@example.org,yes,Oakfield Primary School,140001,Leeds\n"
        "bob@example.org,yes,Oakfield Primary School,140002,Leeds\n"
        "cat@example.org,yes,Oakfield Primary School,140003,Leeds\n"
    )

    report = supporters_import(path=path, file_name="first.csv", actor=organiser)

    assert report.schools_created == 2 and report.updated == 2
    urns = dict(Contact.objects.values_list("email", "school__urn"))
    assert urns == {
        "ann@example.org": "140001",
        "bob@example.org": "140002",
        "cat@example.org": "140003",
    }
