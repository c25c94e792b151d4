"""Schools by URN: a URN identifies a school, whatever its name or spelling.

England has hundreds of schools called St Mary's, several in one district; the importer
must never merge two of them because their names match.
"""

import pytest

from contacts.importing import ImportOptions, supporters_import
from contacts.models import Contact, District, ImportBatch, School
from tests.factories import SchoolFactory
from tests.fixtures.national_export import national_export

HEADER = "Email,Consent,School,URN,District\n"


def run(organiser, tmp_path, text, name="schools.csv", **options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return supporters_import(
        path=path, file_name=name, actor=organiser, options=ImportOptions(**options)
    )


def place_warnings(report):
    # These rows carry no names on purpose; only warnings about places matter here.
    return {code: n for code, n in report.warnings.items() if code != "missing_name"}


def school_of(email):
    return Contact.objects.select_related("school").get(email=email).school


def test_same_named_schools_with_different_urns_in_one_district_stay_separate(organiser, tmp_path):
    report = run(
        organiser,
        tmp_path,
        HEADER
        + "ann@example.org,yes,St Mary's Catholic Primary School,140001,Leeds\n"
        + "bob@example.org,yes,St Mary's Catholic Primary School,140002,Leeds\n"
        + "cat@example.org,yes,St. Marys Catholic Primary School,140003,Leeds\n"
        + "dan@example.org,yes,ST MARY'S CATHOLIC PRIMARY SCHOOL,140002,Leeds\n",
    )

    assert report.schools_created == 3
    assert sorted(School.objects.values_list("urn", flat=True)) == ["140001", "140002", "140003"]
    assert school_of("ann@example.org").urn == "140001"
    assert school_of("bob@example.org").urn == "140002"
    assert school_of("cat@example.org").urn == "140003"
    assert school_of("dan@example.org") == school_of("bob@example.org")
    assert place_warnings(report) == {}


def test_schools_created_in_an_earlier_chunk_keep_their_own_urns(organiser, tmp_path):
    lines = [
        f"p{n}@example.org,yes,Oakfield Primary School,{150000 + n % 4},Wakefield\n"
        for n in range(11)
    ]

    report = run(organiser, tmp_path, HEADER + "".join(lines), chunk_size=3)

    assert report.schools_created == 4 == School.objects.count()
    for n in range(11):
        assert school_of(f"p{n}@example.org").urn == str(150000 + n % 4)


def test_same_named_schools_stay_separate_across_two_imports(organiser, tmp_path):
    run(
        organiser,
        tmp_path,
        HEADER + "ann@example.org,yes,Oakfield Primary School,140001,Leeds\n",
        name="first.csv",
    )

    report = run(
        organiser,
        tmp_path,
        HEADER + "bob@example.org,yes,Oakfield Primary School,140002,Leeds\n",
        name="second.csv",
    )

    assert report.schools_created == 1
    assert school_of("ann@example.org").urn == "140001"
    assert school_of("bob@example.org").urn == "140002"
    assert School.objects.filter(district__name="Leeds").count() == 2


def test_a_known_urn_goes_to_its_school_whatever_the_spelling(organiser, tmp_path):
    report = run(
        organiser,
        tmp_path,
        HEADER
        + "ann@example.org,yes,Alder Primary,900101,Leeds\n"
        + "bob@example.org,yes,Alder Primary School (main site),900101,Leeds\n",
    )

    assert report.schools_created == 1
    assert school_of("ann@example.org") == school_of("bob@example.org")
    assert school_of("ann@example.org").name == "Alder Primary"


def test_a_new_urn_is_recorded_on_a_same_named_school_that_had_none(
    organiser, district_a, tmp_path
):
    bare = SchoolFactory(name="Oakfield Primary School", urn=None, district=district_a)

    report = run(
        organiser,
        tmp_path,
        HEADER
        + "ann@example.org,yes,Oakfield Primary School,140001,District A\n"
        + "bob@example.org,yes,Oakfield Primary School,140002,District A\n",
    )

    bare.refresh_from_db()
    assert bare.urn == "140001"
    assert school_of("ann@example.org") == bare
    assert school_of("bob@example.org").urn == "140002"
    assert (report.urns_added, report.schools_created) == (1, 1)
    assert report.warnings["urn_added"] == 1
    (note,) = [p for p in report.problems if p.code == "urn_added"]
    assert (note.row, note.column) == (2, "URN")
    assert "140001" in note.message
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.counts["urns_added"] == 1
    assert batch.report["urns_recorded"] == [[bare.pk, "140001"]]


def test_a_urn_added_to_a_school_this_file_created_is_not_counted_as_added(organiser, tmp_path):
    report = run(
        organiser,
        tmp_path,
        HEADER
        + "ann@example.org,yes,Oakfield Primary School,,Leeds\n"
        + "bob@example.org,yes,Oakfield Primary School,140001,Leeds\n"
        + "cat@example.org,yes,Oakfield Primary School,140002,Leeds\n",
        chunk_size=1,
    )

    assert report.schools_created == 2 and report.urns_added == 0
    assert school_of("ann@example.org") == school_of("bob@example.org")
    assert school_of("ann@example.org").urn == "140001"
    assert school_of("cat@example.org").urn == "140002"


def test_a_row_without_a_urn_matches_the_one_school_of_that_name_in_its_district(
    organiser, school_a, tmp_path
):
    SchoolFactory(
        name="Alder Primary School",
        urn="100009",
        district=District.objects.create(name="Elsewhere"),
    )

    report = run(
        organiser, tmp_path, HEADER + "ann@example.org,yes,alder primary school,,District A\n"
    )

    assert school_of("ann@example.org") == school_a
    assert report.schools_created == 0 and place_warnings(report) == {}


def test_a_row_without_a_urn_is_left_blank_when_several_schools_share_the_name(
    organiser, district_a, tmp_path
):
    for urn in ("100021", "100022"):
        SchoolFactory(name="St Mary's Catholic Primary School", urn=urn, district=district_a)
    SchoolFactory(name="St Marys Catholic Primary School", urn=None, district=district_a)

    report = run(
        organiser,
        tmp_path,
        HEADER
        + "ann@example.org,yes,St Mary's Catholic Primary School,,District A\n"
        + "bob@example.org,yes,ST MARY'S CATHOLIC PRIMARY SCHOOL,,District A\n",
    )

    ann = Contact.objects.get(email="ann@example.org")
    assert ann.school is None and ann.district == district_a
    assert report.schools_created == 0
    assert report.ambiguous_names == 1
    assert report.warnings["ambiguous_school"] == 2
    warning = next(p for p in report.problems if p.code == "ambiguous_school")
    assert (warning.row, warning.column) == (2, "School")
    assert "100021, 100022 and 1 without a URN" in warning.message
    assert "matches 3 schools" in warning.message


def test_the_cli_summary_counts_urns_added_and_ambiguous_names(
    organiser, district_a, tmp_path, capsys
):
    from django.core.management import call_command

    for urn in ("100021", "100022"):
        SchoolFactory(name="Oakfield Primary School", urn=urn, district=district_a)
    path = tmp_path / "amb.csv"
    path.write_text(HEADER + "ann@example.org,yes,Oakfield Primary School,,District A\n")

    call_command("import_supporters", str(path), "--as", "organiser")

    out = capsys.readouterr().out
    assert "URNs added 0" in out and "names matching several schools 1" in out


@pytest.fixture(scope="module")
def national():
    return national_export()


def test_a_national_export_stores_one_school_per_urn(organiser, tmp_path, national):
    assert national.repeated_names() >= 200  # the generator does make shared names
    path = national.write_csv(tmp_path / "national.csv")

    report = supporters_import(path=path, file_name="national.csv", actor=organiser)

    assert report.created == 20_000
    assert School.objects.count() == 2_000 == report.schools_created
    assert District.objects.count() == 20
    stored = dict(Contact.objects.values_list("email", "school__urn"))
    by_name = {(name, district): urn for urn, (name, district) in national.schools.items()}
    shared = national.shared_in_district()
    ambiguous_rows: set[int] = set()
    ambiguous_pairs: set[tuple[str, str]] = set()
    for number, (email, _first, _last, school, urn, district, _consent) in enumerate(
        national.rows, start=2
    ):
        if urn:
            assert stored[email] == urn, f"row {number}"
            continue
        pair = (school.strip().upper(), district)
        pair = next(p for p in by_name if (p[0].upper(), p[1]) == pair)
        if pair in shared:
            # Several schools of that name in the district: left blank, with a warning.
            assert stored[email] is None, f"row {number}"
            ambiguous_rows.add(number)
            ambiguous_pairs.add(pair)
        else:
            assert stored[email] == by_name[pair], f"row {number}"
    assert ambiguous_rows  # the file does exercise the ambiguous case
    warned = {p.row for p in report.problems if p.code == "ambiguous_school"}
    assert warned == ambiguous_rows
    assert report.ambiguous_names == len(ambiguous_pairs)
    districts = dict(School.objects.values_list("urn", "district__name"))
    assert districts == {urn: district for urn, (_name, district) in national.schools.items()}


def test_the_admin_preview_counts_urns_added_and_ambiguous_names(
    organiser, district_a, client_for, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    SchoolFactory(name="Oakfield Primary School", urn=None, district=district_a)
    for urn in ("100021", "100022"):
        SchoolFactory(name="St Mary's Primary School", urn=urn, district=district_a)
    text = (
        HEADER
        + "ann@example.org,yes,Oakfield Primary School,140001,District A\n"
        + "bob@example.org,yes,St Mary's Primary School,,District A\n"
    )

    response = client_for(organiser).post(
        reverse("admin:contacts_contact_import"),
        {"file": SimpleUploadedFile("p.csv", text.encode()), "consent_version": "v1"},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert '<td class="count-urns-added">1</td>' in content
    assert '<td class="count-ambiguous">1</td>' in content
    assert "100021, 100022" in content
    assert School.objects.get(name="Oakfield Primary School").urn is None  # only a preview
