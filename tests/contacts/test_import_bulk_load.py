"""The first load into an empty union builds the supporters' indexes once, at the end
(contacts/importing/bulk_load.py): the indexes come back exactly as they were, a dry
run or a failed import leaves them untouched, and a table with rows keeps them."""

import csv

import pytest
from django.db import IntegrityError, connection, transaction

from contacts.importing import FileError, ImportOptions, supporters_import
from contacts.importing.bulk_load import indexes_built_after
from contacts.importing.writes import one_of
from contacts.models import ConsentRecord, Contact, School
from tests.factories import ContactFactory

TABLES = ("contacts_contact", "contacts_consentrecord")


def index_definitions() -> dict[str, dict[str, str]]:
    """Each table's indexes by name, with their definitions (columns on SQLite)."""
    found: dict[str, dict[str, str]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
                )
                found[table] = dict(cursor.fetchall())
            else:
                constraints = connection.introspection.get_constraints(cursor, table)
                found[table] = {
                    name: repr(info["columns"])
                    for name, info in constraints.items()
                    if info["index"]
                }
    return found


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "first-load.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["Email", "First name", "Surname", "School", "School URN", "District", "Consent"]
        )
        for n in range(300):
            writer.writerow(
                [
                    f"ni.bhriain{n}@example.org",
                    "Siân",
                    "Ní Bhriain-Ōkubo",
                    f"St Mary's Church of England Primary School {n % 7}",
                    400_000 + n % 7,
                    "Tyne & Wear",
                    "yes",
                ]
            )
    return path


def test_the_first_load_leaves_every_index_as_it_was(db, organiser, export):
    before = index_definitions()

    report = supporters_import(path=export, file_name="first-load.csv", actor=organiser)

    assert report.created == 300
    assert index_definitions() == before
    # The rebuilt indexes serve their queries: the case-insensitive unique email too.
    assert Contact.objects.filter(email__iexact="NI.BHRIAIN7@EXAMPLE.ORG").count() == 1
    assert ConsentRecord.objects.filter(contact__email="ni.bhriain7@example.org").count() == 1


def test_the_unique_email_still_holds_after_the_first_load(db, organiser, export):
    supporters_import(path=export, file_name="first-load.csv", actor=organiser)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="NI.Bhriain7@example.org", school=School.objects.first())


def test_a_dry_run_into_an_empty_union_leaves_the_indexes(db, organiser, export):
    before = index_definitions()

    report = supporters_import(
        path=export,
        file_name="first-load.csv",
        actor=organiser,
        options=ImportOptions(dry_run=True),
    )

    assert report.created == 300
    assert not Contact.objects.exists()
    assert index_definitions() == before


def test_a_failed_first_load_rolls_the_index_drop_back(db, organiser, export, monkeypatch):
    before = index_definitions()

    def fail(*args, **kwargs):
        raise FileError("stopped on purpose, after the rows were written")

    monkeypatch.setattr("contacts.importing.pipeline.tally_count_import", fail)
    with pytest.raises(FileError):
        supporters_import(path=export, file_name="first-load.csv", actor=organiser)

    assert not Contact.objects.exists()
    assert index_definitions() == before


@pytest.mark.django_db
def test_only_empty_tables_have_their_indexes_dropped(unconsented_contact_a):
    with transaction.atomic(), indexes_built_after([Contact, ConsentRecord]) as dropped:
        pass

    if connection.vendor == "postgresql":
        # The supporter has no consent record: only that table was empty.
        assert dropped and all(
            name in index_definitions()["contacts_consentrecord"] for name in dropped
        )
        assert not set(dropped) & set(index_definitions()["contacts_contact"])
    else:
        assert dropped == []  # SQLite keeps its indexes: its writes are quick already


@pytest.mark.django_db
def test_one_of_matches_text_ints_and_values_holding_the_separator(contact_a, contact_b):
    emails = [contact_a.email, "nobody,with@example.org"]
    assert list(Contact.objects.filter(one_of("email", emails))) == [contact_a]
    assert set(Contact.objects.filter(one_of("pk", [contact_a.pk, contact_b.pk]))) == {
        contact_a,
        contact_b,
    }
    odd = [contact_b.email, "unit\x1fseparator@example.org"]
    assert list(Contact.objects.filter(one_of("email", odd))) == [contact_b]
    assert not Contact.objects.filter(one_of("pk", [])).exists()


def test_a_role_that_may_not_drop_the_indexes_loads_with_them(db, organiser, export, monkeypatch):
    # An index that cannot be dropped (it backs the primary key) fails the DROP, as a
    # role that does not own the table would: the load goes on with the indexes.
    monkeypatch.setattr(
        "contacts.importing.bulk_load._DROPPABLE",
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s::regclass::text "
        "AND indexname LIKE '%%pkey'",
    )
    before = index_definitions()
    with transaction.atomic(), indexes_built_after([Contact, ConsentRecord]) as dropped:
        assert dropped == []

    report = supporters_import(path=export, file_name="first-load.csv", actor=organiser)

    assert report.created == 300
    assert index_definitions() == before
