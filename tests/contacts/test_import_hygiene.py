"""Cells go only where their header says, and hostile text never reaches the database.

These run on SQLite and, in CI's second pass, on PostgreSQL (which refuses NUL outright).
"""

import csv
import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from contacts.importing import ImportOptions, supporters_import
from contacts.models import Contact, District, ImportBatch, School


def run(organiser, path, **options):
    return supporters_import(
        path=path, file_name=path.name, actor=organiser, options=ImportOptions(**options)
    )


def csv_file(tmp_path, text, name="hygiene.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def xlsx_file(tmp_path, rows, name="hygiene.xlsx"):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def found(report, code):
    return [(p.row, p.column) for p in report.problems if p.code == code]


# --- cells without a heading -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_trailing_cell_without_a_heading_fills_no_field(organiser, tmp_path, kind):
    rows = [["Email", "Consent to email"], ["ellie@example.com", "yes", "Glasgow"]]
    if kind == "csv":
        path = csv_file(tmp_path, "\n".join(",".join(row) for row in rows) + "\n")
    else:
        path = xlsx_file(tmp_path, rows)

    report = run(organiser, path)

    ellie = Contact.objects.get(email="ellie@example.com")
    assert (ellie.first_name, ellie.last_name, ellie.notes) == ("", "", "")
    assert ellie.school is None and ellie.district is None
    assert not District.objects.exists() and not School.objects.exists()
    assert report.unheaded_rows == 1
    assert report.warnings["unheaded_cells"] == 1
    (problem,) = [p for p in report.problems if p.code == "unheaded_cells"]
    assert problem.message.startswith("1 row had values in columns without a heading: ignored.")


def test_a_trailing_cell_leaves_a_known_supporter_in_her_leads_district(
    organiser, contact_a, tmp_path
):
    path = csv_file(tmp_path, "Email,Consent to email\nsian.oneill@example.org,yes,Glasgow\n")

    report = run(organiser, path)

    contact_a.refresh_from_db()
    assert contact_a.district.name == "District A"
    assert contact_a.school.name == "Alder Primary School"
    assert (contact_a.first_name, contact_a.notes) == ("Siân", "")
    assert not District.objects.filter(name="Glasgow").exists()
    assert report.unchanged == 1


def test_rows_with_values_under_no_heading_are_counted_once_for_the_file(organiser, tmp_path):
    path = csv_file(
        tmp_path,
        "Email,,Consent,First name\n"
        "a@example.org,stray,yes,Ann\n"
        "b@example.org,,yes,Bea,extra\n"
        "c@example.org,,yes,Cat\n"
        "d@example.org,x,no,Dee,y\n"
        "e@example.org,,yes,Eve,,,\n",
    )

    report = run(organiser, path)

    assert report.unheaded_rows == 3
    assert report.warnings["unheaded_cells"] == 3
    assert found(report, "unheaded_cells") == [(1, "(no heading)")]
    (problem,) = [p for p in report.problems if p.code == "unheaded_cells"]
    assert problem.message.startswith("3 rows had values in columns without a heading: ignored.")
    assert list(Contact.objects.order_by("email").values_list("first_name", flat=True)) == [
        "Ann",
        "Bea",
        "Cat",
        "Eve",
    ]
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.counts["unheaded_rows"] == 3


def test_a_row_never_has_more_fields_than_the_header(organiser, tmp_path):
    path = csv_file(tmp_path, "Email,Consent,Notes\nbad-address,yes,hello,spill,over\n")

    report = run(organiser, path)

    headers, rows = report.rejected_table()
    assert headers == ["Email", "Consent", "Notes", "Problem"]
    assert rows[0][:3] == ["bad-address", "yes", "hello"] and len(rows[0]) == 4
    stored = ImportBatch.objects.get(pk=report.batch_id).report["rejected_rows"]
    assert stored[0][1] == ["bad-address", "yes", "hello"]


# --- control characters ------------------------------------------------------------------


def test_a_nul_in_a_csv_is_a_row_problem_not_a_crash(organiser, tmp_path):
    path = csv_file(
        tmp_path,
        "Email,Consent,First name,Surname,Notes,Favourite colour\n"
        "ann@example.org,yes,An\x00n,Smith,ok,green\n"
        "bob\x00@example.org,yes,Bob,Jones,,\n"
        "cat@example.org,maybe,Cat,Lee,,bl\x00ue\n"
        "dee@example.org,yes,Dee,Ray,tab\there\x01,\n",
    )

    report = run(organiser, path)

    ann = Contact.objects.get(email="ann@example.org")
    assert (ann.first_name, ann.last_name) == ("Ann", "Smith")
    assert found(report, "hidden_characters") == [(2, "First name"), (5, "Notes")]
    assert report.rejected["invalid_email"] == 1
    assert found(report, "invalid_email") == [(3, "Email")]
    assert report.rejected["no_consent"] == 1
    dee = Contact.objects.get(email="dee@example.org")
    assert dee.notes == "tab\there"  # a TAB inside notes is kept
    stored = ImportBatch.objects.get(pk=report.batch_id).report
    assert "\x00" not in str(stored)
    # (SQLite's LIKE stops at a NUL, so look in Python.)
    stored_text = Contact.objects.values_list("email", "first_name", "last_name", "notes")
    assert not any("\x00" in value for values in stored_text for value in values)


def test_line_breaks_in_single_line_fields_are_refused_and_named(organiser, tmp_path):
    path = csv_file(
        tmp_path,
        "Email,Consent,First name,Surname,School,District,Notes\n"
        'ann@example.org,yes,"Ann\r\nBcc: victim@example.org",Smith,Alder,Leeds,"one\r\ntwo"\n'
        'bob@example.org,yes,Bob,Jones,"Oak\nfield",Leeds,\n'
        'cat@example.org,yes,Cat,Lee,Elm,"Lee\rds",\n',
    )

    report = run(organiser, path)

    assert found(report, "line_break") == [(2, "First name"), (3, "School"), (4, "District")]
    ann = Contact.objects.get(email="ann@example.org")
    assert (ann.first_name, ann.last_name, ann.school.name) == ("", "Smith", "Alder")
    assert ann.notes == "one\ntwo"
    bob = Contact.objects.get(email="bob@example.org")
    assert bob.school is None and bob.district.name == "Leeds"
    assert Contact.objects.get(email="cat@example.org").district is None
    assert not School.objects.filter(name__contains="\n").exists()
    assert not District.objects.filter(name__contains="\r").exists()
    assert not Contact.objects.filter(first_name__contains="\n").exists()


def test_bidi_override_characters_are_removed_from_names(organiser, tmp_path):
    path = csv_file(
        tmp_path,
        "Email,Consent,First name,Surname,School,District\n"
        "ann@example.org,yes,\u202egnp.exe,\u2067محمد\u2069,\u202dOakfield,Leeds\n"
        "bob@example.org,yes,فاطمة,כהן,Oakfield,Leeds\n",
    )

    report = run(organiser, path)

    ann = Contact.objects.get(email="ann@example.org")
    assert (ann.first_name, ann.last_name, ann.school.name) == ("gnp.exe", "محمد", "Oakfield")
    bob = Contact.objects.get(email="bob@example.org")
    assert (bob.first_name, bob.last_name) == ("فاطمة", "כהן")  # RTL names untouched
    assert found(report, "hidden_characters") == [
        (2, "First name"),
        (2, "Surname"),
        (2, "School"),
    ]
    assert School.objects.count() == 1


# --- field lengths -------------------------------------------------------------------------


def test_an_over_long_value_is_a_row_problem_never_a_silent_cut(organiser, contact_a, tmp_path):
    long_name = "A" * 151
    path = csv_file(
        tmp_path,
        "Email,Consent,First name,Surname,School,URN,District\n"
        f"sian.oneill@example.org,yes,{long_name},O'Neill,,,\n"
        f"new@example.org,yes,Nia,Jones,{'S' * 201},,{'D' * 121}\n"
        f"urn@example.org,yes,Ula,Bell,Oakfield,{'9' * 17},Leeds\n"
        f"{'x' * 250}@example.org,yes,Xan,Long,,,\n",
    )

    report = run(organiser, path)

    assert found(report, "too_long") == [
        (2, "First name"),
        (3, "School"),
        (3, "District"),
        (4, "URN"),
    ]
    message = next(p.message for p in report.problems if p.code == "too_long")
    assert "151 characters" in message and "150" in message
    contact_a.refresh_from_db()
    assert contact_a.first_name == "Siân"  # kept, not replaced by a cut value
    nia = Contact.objects.get(email="new@example.org")
    assert nia.school is None and nia.district is None
    ula = Contact.objects.get(email="urn@example.org")
    assert ula.school.urn is None and ula.school.name == "Oakfield"
    assert found(report, "invalid_email") == [(5, "Email")]
    assert not Contact.objects.filter(first_name__startswith="AAAA").exists()
    assert not School.objects.filter(name__startswith="SSSS").exists()


def test_an_over_long_full_name_is_refused_and_named(organiser, tmp_path):
    path = csv_file(tmp_path, f"Email,Consent,Name\nann@example.org,yes,{'Ann' * 60} Smith\n")

    report = run(organiser, path)

    assert found(report, "too_long") == [(2, "Name")]
    ann = Contact.objects.get(email="ann@example.org")
    assert (ann.first_name, ann.last_name) == ("", "")


def test_control_characters_in_the_header_row_are_removed(organiser, tmp_path):
    path = csv_file(
        tmp_path, "Em\x00ail,Consent,Favourite\x00 colour\u202e\nann@example.org,yes,green\n"
    )

    report = run(organiser, path)

    assert report.created == 1
    (unknown,) = [p for p in report.problems if p.code == "unknown_column"]
    assert unknown.column == "Favourite colour"
    stored = ImportBatch.objects.get(pk=report.batch_id).report
    assert stored["headers"] == ["Email", "Consent", "Favourite colour"]


def test_a_school_name_whose_comparison_key_outgrows_the_column_is_refused(organiser, tmp_path):
    name = "A & " * 50  # 200 characters; each & becomes " and " in the key
    path = csv_file(tmp_path, f"Email,Consent,School,District\nann@example.org,yes,{name},Leeds\n")

    report = run(organiser, path)

    assert found(report, "too_long") == [(2, "School")]
    assert not School.objects.exists()
    assert Contact.objects.get(email="ann@example.org").district.name == "Leeds"


# --- anything at all in the cells ----------------------------------------------------------

_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x01\x1b\x7f\x85\t\r\n\u202e\u2066\u2069\u200b\xa0&'"),
    ),
    max_size=30,
)
_CONTROL_OR_BIDI = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cells=st.lists(st.lists(_ANY_TEXT, min_size=6, max_size=8), min_size=1, max_size=4))
def test_any_text_in_any_cell_is_imported_or_reported_never_a_crash(organiser, tmp_path, cells):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Consent", "First name", "Surname", "School", "URN", "District"])
    for number, row in enumerate(cells):
        writer.writerow([f"p{number}@example.org", "yes", *row])
    path = csv_file(tmp_path, out.getvalue(), name="any.csv")

    report = run(organiser, path)

    assert report.rows == len(cells)
    assert report.created + report.rejected_total == len(cells)
    single_line = [
        *Contact.objects.values_list("first_name", "last_name"),
        *School.objects.values_list("name", "urn"),
        *District.objects.values_list("name"),
    ]
    for values in single_line:
        for value in values:
            assert not _CONTROL_OR_BIDI.search(value or ""), value
    json.dumps(ImportBatch.objects.get(pk=report.batch_id).report)
    # Each example starts from an empty database.
    Contact.objects.all().delete()
    School.objects.all().delete()
    District.objects.all().delete()
