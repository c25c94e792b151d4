"""The supporter import pipeline, driven by the messy fixture files in tests/fixtures/import."""

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.importing import ImportOptions, supporters_import
from contacts.models import ConsentRecord, Contact, District, ImportBatch, School, Suppression
from contacts.services import consent_withdraw, suppression_add
from contacts.suppression import address_hash

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
SAME_ROWS = ["supporters.csv", "supporters_tab.csv", "supporters.xlsx", "supporters.ods"]

EXPECTED_COUNTS = {
    "rows": 19,
    "blank_rows": 2,
    "created": 9,
    "updated": 2,
    "unchanged": 0,
    "duplicate_in_file": 1,
    "rejected": {"invalid_email": 2, "no_consent": 3, "suppressed": 2},
    "warnings": {
        "invalid_consent_date": 1,
        "invalid_mobile": 1,
        "missing_district": 1,
        "unknown_column": 1,
    },
    "schools_created": 1,
    "districts_created": 1,
}
EXPECTED_PROBLEMS = [
    (1, "Favourite colour", "unknown_column"),
    (5, "E-mail", "invalid_email"),
    (6, "E-mail", "invalid_email"),
    (7, "Consent to email", "no_consent"),
    (8, "Consent to email", "no_consent"),
    (9, "E-mail", "suppressed"),
    (10, "E-mail", "duplicate_in_file"),
    (15, "Mobile", "invalid_mobile"),
    (15, "District", "missing_district"),
    (16, "Consent date", "invalid_consent_date"),
    (17, "Consent to email", "no_consent"),
    (18, "E-mail", "suppressed"),
]


@pytest.fixture
def world(organiser, contact_a, contact_b, unconsented_contact_a):
    """The database the fixture files are written against."""
    suppression_add(email="gone@example.org", reason=Suppression.Reason.UNSUBSCRIBED)
    consent_withdraw(contacts=[contact_b], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK)
    return organiser


def run(name, actor, **options):
    return supporters_import(
        path=FIXTURES / name, file_name=name, actor=actor, options=ImportOptions(**options)
    )


def counts(report):
    data = report.as_json()
    data.pop("problems")
    data.pop("dry_run")
    return data


def problems(report):
    return [(p.row, p.column, p.code) for p in report.problems]


def snapshot():
    """Everything an import may touch, as comparable values."""
    return {
        "contacts": sorted(
            Contact.objects.values_list(
                "email",
                "email_hash",
                "first_name",
                "last_name",
                "mobile",
                "school_id",
                "district_id",
                "role",
                "notes",
            )
        ),
        "consents": sorted(
            ConsentRecord.objects.values_list("contact__email", "source", "withdrawn_at")
        ),
        "schools": sorted(School.objects.values_list("name", "urn", "district_id")),
        "districts": sorted(District.objects.values_list("name", flat=True)),
        "suppressions": Suppression.objects.count(),
    }


@pytest.mark.parametrize("name", SAME_ROWS)
def test_each_format_gives_the_exact_counts_and_problem_rows(world, name):
    report = run(name, world)

    assert counts(report) == EXPECTED_COUNTS
    assert problems(report) == EXPECTED_PROBLEMS


def test_csv_xlsx_and_ods_of_the_same_rows_store_identical_contacts(world, django_db_blocker):
    results = []
    for name in SAME_ROWS:
        before = snapshot()
        report = run(name, world, dry_run=True)
        assert snapshot() == before
        results.append(report.as_json())
    assert all(result == results[0] for result in results[1:])


@pytest.mark.parametrize("name", ["supporters.csv", "supporters.xlsx", "supporters.ods"])
def test_imported_values_are_normalised_but_names_and_text_kept_as_written(world, name):
    run(name, world)

    ada = Contact.objects.get(email="ada@example.org")
    assert (ada.first_name, ada.mobile, ada.role) == ("Ada", "+447700900001", "rep")
    assert ada.email_hash == address_hash("ada@example.org")
    assert ada.school.urn == "100001"
    assert ada.consents.get().given_at.date() == date(2025, 1, 15)
    assert ada.source_import is not None

    wang = Contact.objects.get(email="wang.wei@example.org")
    assert (wang.first_name, wang.last_name) == ("伟", "王")
    assert wang.school.name == "Birch Academy"
    assert wang.mobile == "+447700900003"
    assert wang.consents.get().given_at.date() == date(2025, 2, 15)

    aoife = Contact.objects.get(email="aoife.nb@example.org")
    pat = Contact.objects.get(email="pat@example.org")
    assert aoife.last_name == "Ní Bhriain"
    assert aoife.school == pat.school
    assert (aoife.school.name, aoife.school.urn) == ("Cedar Community College", "100777")
    assert aoife.district.name == "District C" == aoife.school.district.name
    assert aoife.consents.get().given_at.date() == date(2025, 2, 12)  # serial 45700
    assert pat.notes == "Line one\nLine two"
    assert pat.last_name == "O'Neill"
    assert pat.mobile == "+447700900005"
    assert pat.consents.get().given_at.date() == date(2024, 12, 1)

    formula = Contact.objects.get(email="formula@example.org")
    assert formula.first_name == '=HYPERLINK("http://evil.example","x")'
    assert formula.last_name == "-Minus"
    assert formula.notes == "@mention +1"
    assert formula.mobile == "+447700900006"

    badphone = Contact.objects.get(email="badphone@example.org")
    assert badphone.mobile == ""
    assert badphone.school.name == "Alder Primary School"
    assert badphone.district.name == "District A"

    baddate = Contact.objects.get(email="baddate@example.org")
    assert baddate.consents.get().given_at >= timezone.now() - timezone.timedelta(minutes=5)

    num = Contact.objects.get(email="num@example.org")
    assert num.mobile == "+447700900007"
    assert num.consents.get().given_at.date() == date(2024, 11, 30)
    serial = Contact.objects.get(email="serial@example.org")
    assert serial.consents.get().given_at.date() == date(2025, 1, 1)

    sian = Contact.objects.get(email="sian.oneill@example.org")
    assert sian.mobile == "+447700900002"
    assert sian.consents.count() == 1  # already consented: no second record


def test_new_consent_records_cite_the_import_and_the_configured_wording(world, settings):
    settings.CONSENT_DEFAULT_WORDING = "Yes, email me about the election."
    report = run("supporters.csv", world, consent_version="form-2025")

    consent = Contact.objects.get(email="ada@example.org").consents.get()
    assert consent.method == ConsentRecord.Method.IMPORT
    assert consent.source == f"Import #{report.batch_id}: supporters.csv"
    assert consent.wording == "Yes, email me about the election."
    assert consent.version == "form-2025"


def test_an_existing_contact_without_consent_gains_a_consent_record(world):
    run("supporters.csv", world)

    aoife = Contact.objects.get(email="aoife@example.org")
    assert aoife.is_mailable()
    assert Contact.objects.mailable().filter(email="aoife@example.org").exists()


def test_a_second_import_of_the_same_file_changes_nothing(world):
    run("supporters.xlsx", world)
    before = snapshot()

    report = run("supporters.xlsx", world)

    assert snapshot() == before
    assert (report.created, report.updated, report.unchanged) == (0, 0, 11)
    assert (report.schools_created, report.districts_created) == (0, 0)


def test_an_unsubscribed_contact_stays_unsubscribed_after_reimport(world, contact_b):
    run("supporters.csv", world)
    run("supporters.ods", world)

    contact_b.refresh_from_db()
    assert not contact_b.is_mailable()
    assert not Contact.objects.mailable().filter(pk=contact_b.pk).exists()
    assert not contact_b.consents.filter(withdrawn_at__isnull=True).exists()
    assert not Contact.objects.filter(email="gone@example.org").exists()


def test_a_contact_who_withdrew_consent_without_suppression_is_not_resubscribed(
    organiser, contact_a, tmp_path
):
    contact_a.consents.update(
        withdrawn_at=timezone.now(), withdrawn_how=ConsentRecord.WithdrawnHow.REQUEST
    )
    path = tmp_path / "one.csv"
    path.write_text("Email,Consent\nsian.oneill@example.org,yes\n")

    report = supporters_import(path=path, file_name="one.csv", actor=organiser)

    assert report.rejected["suppressed"] == 1
    assert not contact_a.consents.filter(withdrawn_at__isnull=True).exists()


def test_a_dry_run_writes_nothing_and_reports_the_same(world):
    before = snapshot()
    batches = ImportBatch.objects.count()
    audits = AuditEvent.objects.count()

    dry = run("supporters.csv", world, dry_run=True)

    assert snapshot() == before
    assert ImportBatch.objects.count() == batches
    assert AuditEvent.objects.count() == audits
    assert dry.dry_run is True and dry.batch_id is None
    real = run("supporters.csv", world)
    assert {**dry.as_json(), "dry_run": False} == real.as_json()


def test_a_blank_cell_never_erases_a_stored_value(organiser, contact_a, tmp_path):
    Contact.objects.filter(pk=contact_a.pk).update(mobile="+447700900099", notes="Keep me")
    path = tmp_path / "blank.csv"
    path.write_text("Email,Consent,Mobile,Notes,First name\nsian.oneill@example.org,yes,,,\n")

    report = supporters_import(path=path, file_name="blank.csv", actor=organiser)

    contact_a.refresh_from_db()
    assert (contact_a.mobile, contact_a.notes, contact_a.first_name) == (
        "+447700900099",
        "Keep me",
        "Siân",
    )
    assert report.unchanged == 1


def test_an_import_is_recorded_as_a_batch_and_audited(world):
    report = run("supporters.csv", world)

    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.status == ImportBatch.Status.DONE
    assert batch.created_by == world
    assert batch.file_name == "supporters.csv"
    assert len(batch.sha256) == 64
    assert batch.counts["created"] == 9 and batch.counts["rejected_no_consent"] == 3
    assert batch.contacts.count() == 9
    assert batch.changes.count() == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT)
    assert event.target_id == str(batch.pk) and event.actor == world
    assert event.counts["created"] == 9


def test_a_windows_semicolon_csv_is_read_with_its_accents(organiser, school_a, school_b):
    report = supporters_import(path=FIXTURES / "latin.csv", file_name="latin.csv", actor=organiser)

    assert (report.rows, report.created, report.rejected["no_consent"]) == (3, 2, 1)
    zoe = Contact.objects.get(email="zoe@example.org")
    assert (zoe.first_name, zoe.last_name, zoe.role) == ("Zoë", "Brontë", "activist")
    assert zoe.notes == "Paid £5 and €3"
    assert zoe.school == school_a
    francois = Contact.objects.get(email="francois@example.org")
    assert (francois.first_name, francois.last_name) == ("François", "D'Arcy")
    assert francois.role == "rep" and francois.school == school_b
    assert francois.notes == "Notes with “smart quotes”"


def test_a_crash_mid_import_leaves_the_database_as_before(world, monkeypatch, tmp_path):
    from contacts.importing import pipeline

    path = tmp_path / "crash.csv"
    path.write_text(
        "Email,Consent,School,District\n"
        + "".join(f"p{n}@example.org,yes,New School {n},New District\n" for n in range(10))
    )
    before = snapshot()
    calls = []
    original = pipeline._Importer._write

    def failing_write(self, rows, existing):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(self, rows, existing)

    monkeypatch.setattr(pipeline._Importer, "_write", failing_write)

    with pytest.raises(RuntimeError):
        supporters_import(
            path=path, file_name="crash.csv", actor=world, options=ImportOptions(chunk_size=4)
        )

    assert calls == [4, 4]
    assert snapshot() == before
    assert not ImportBatch.objects.exists()


def test_only_organisers_may_import(volunteer, lead_a):
    for user in (volunteer, lead_a):
        with pytest.raises(PermissionDenied):
            supporters_import(
                path=FIXTURES / "supporters.csv", file_name="supporters.csv", actor=user
            )
    assert not Contact.objects.exists()


def test_rows_spanning_several_chunks_keep_duplicates_and_schools_consistent(organiser, tmp_path):
    lines = ["Email,Consent,School,District,URN"]
    for n in range(25):
        lines.append(f"p{n % 10}@example.org,yes,School {n % 3},District {n % 2},")
    path = tmp_path / "chunks.csv"
    path.write_text("\n".join(lines) + "\n")

    report = supporters_import(
        path=path, file_name="chunks.csv", actor=organiser, options=ImportOptions(chunk_size=3)
    )

    assert (report.created, report.duplicate_in_file) == (10, 15)
    assert report.districts_created == 2
    # School n%3 in District n%2 for n < 10: (0,0) (1,1) (2,0) (0,1) (1,0) (2,1).
    assert report.schools_created == 6 == School.objects.count()
    duplicates = [p for p in report.problems if p.code == "duplicate_in_file"]
    assert duplicates[0].row == 12 and "row 2" in duplicates[0].message


def test_a_school_is_matched_by_urn_before_its_name(organiser, school_a, school_b, tmp_path):
    path = tmp_path / "urn.csv"
    path.write_text(
        "Email,Consent,School,URN,District\na@example.org,yes,Some Other Name,100002,District A\n"
    )

    report = supporters_import(path=path, file_name="urn.csv", actor=organiser)

    contact = Contact.objects.get(email="a@example.org")
    assert contact.school == school_b and contact.district == school_b.district
    assert report.warnings["district_mismatch"] == 1
    assert report.schools_created == 0


def test_a_failure_while_inserting_rolls_back_every_chunk_already_written(
    world, monkeypatch, tmp_path
):
    from contacts.importing import upsert

    path = tmp_path / "late-failure.csv"
    path.write_text(
        "Email,Consent,School,District\n"
        + "".join(f"p{n}@example.org,yes,Late School {n},Late District\n" for n in range(9))
    )
    before = snapshot()
    calls = []
    original = upsert.insert_rows_on

    def failing_insert(raw, model, *args, **kwargs):
        calls.append(model.__name__)
        if len(calls) == 5:  # the third chunk's contacts
            raise RuntimeError("connection reset")
        return original(raw, model, *args, **kwargs)

    monkeypatch.setattr(upsert, "insert_rows_on", failing_insert)

    with pytest.raises(RuntimeError, match="connection reset"):
        supporters_import(
            path=path, file_name="late.csv", actor=world, options=ImportOptions(chunk_size=3)
        )

    assert calls[:4] == ["Contact", "ConsentRecord", "Contact", "ConsentRecord"]
    assert snapshot() == before
    assert not ImportBatch.objects.exists()


def test_a_csv_whose_first_column_starts_with_pk_is_still_text(organiser, tmp_path):
    path = tmp_path / "pk.csv"
    path.write_text("PK,Email,Consent\n1,pk@example.org,yes\n")

    report = supporters_import(path=path, file_name="pk.csv", actor=organiser)

    assert report.created == 1 and report.warnings["unknown_column"] == 1
