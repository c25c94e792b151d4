"""The readers: calamine for XLSX and ODS keeps what the importer always did (first
sheet, values not formulas, dates and Excel serials, numeric URNs as text, tabs and
line breaks inside cells, row numbers), and CSV is bounded while it streams."""

from datetime import date, datetime

import pytest

from contacts.importing import FileError, reading_xml, supporters_import
from contacts.importing.guards import spreadsheet_check
from contacts.importing.reading import file_fingerprint, sheet_open
from contacts.models import ConsentRecord, Contact
from tests.contacts import crafted_files


def run(path, actor):
    return supporters_import(path=path, file_name=path.name, actor=actor)


def rows_of(path):
    sheet = sheet_open(path, file_name=path.name, fingerprint=file_fingerprint(path))
    try:
        return sheet.header_row, sheet.headers, list(sheet.rows)
    finally:
        sheet.close()


HEADERS = ["Email", "First name", "School URN", "School", "District", "Consent to email"]
HEADERS += ["Consent date", "Notes"]


@pytest.fixture
def workbook(tmp_path):
    """Typed cells as Excel stores them, the header on row 3 under two blank rows, a
    blank row inside the data, and a second sheet that must be ignored."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Supporters"
    sheet.append([])
    sheet.append([])
    sheet.append(HEADERS)
    sheet.append(
        ["ada@example.org", "Ada", 100001, "Alder Primary", "District A", True]
        + [45700, "Paid\tin full"]
    )
    sheet.append([])
    sheet.append(
        ["bo@example.org", "Bo", 100002, "Birch Academy", "District A", 1]
        + [datetime(2024, 12, 1), "\tTabbed first\nthen a new line"]
    )
    sheet.cell(row=6, column=7).number_format = "dd/mm/yyyy"
    book.create_sheet("Ignore me").append(["nobody@example.org", "yes"])
    path = tmp_path / "typed.xlsx"
    book.save(path)
    return path


def test_xlsx_keeps_rows_numbered_as_the_spreadsheet_shows_them(workbook):
    header_row, headers, rows = rows_of(workbook)

    assert (header_row, headers) == (3, HEADERS)
    assert [number for number, _cells in rows] == [4, 6]


def test_xlsx_typed_cells_import_as_before(workbook, organiser):
    report = run(workbook, organiser)

    assert (report.rows, report.blank_rows, report.created) == (2, 1, 2)
    ada = Contact.objects.select_related("school").get(email="ada@example.org")
    assert ada.school.urn == "100001" and ada.notes == "Paid\tin full"
    consent = ConsentRecord.objects.get(contact=ada)
    assert consent.given_at.date() == date(2025, 2, 12)  # Excel serial 45700
    bo = Contact.objects.select_related("school").get(email="bo@example.org")
    assert bo.school.urn == "100002" and bo.notes == "Tabbed first\nthen a new line"
    assert ConsentRecord.objects.get(contact=bo).given_at.date() == date(2024, 12, 1)
    assert not Contact.objects.filter(email="nobody@example.org").exists()


def test_xlsx_formulas_give_their_values_never_the_formula(tmp_path, organiser):
    sheet = crafted_files._Member(
        "xl/worksheets/sheet1.xml",
        crafted_files._SHEET_HEAD + '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>First name</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>Consent to email</t></is></c></row>'
        '<row r="2"><c r="A2" t="str"><f>LOWER("ADA@EXAMPLE.ORG")</f><v>ada@example.org</v>'
        '</c><c r="B2" t="str"><f>"A"&amp;"da"</f><v>Ada</v></c>'
        '<c r="C2" t="b"><f>1=1</f><v>1</v></c></row>' + crafted_files._SHEET_TAIL,
    )
    path = crafted_files._xlsx(tmp_path / "formulas.xlsx", sheet)

    report = run(path, organiser)

    assert report.created == 1
    assert Contact.objects.get(email="ada@example.org").first_name == "Ada"


def ods_with(path, cells_xml: str):
    content = crafted_files._Member(
        "content.xml",
        crafted_files._ODS_HEAD
        + "<table:table-row>"
        + "".join(crafted_files._text_cell(h) for h in ("Email", "Consent to email", "Notes"))
        + "</table:table-row><table:table-row>"
        + crafted_files._text_cell("ada@example.org")
        + '<table:table-cell office:value-type="boolean" office:boolean-value="true">'
        "<text:p>TRUE</text:p></table:table-cell>"
        + cells_xml
        + "</table:table-row>"
        + crafted_files._ODS_TAIL,
    )
    return crafted_files._ods(path, content)


def test_ods_without_tabs_or_line_breaks_is_read_by_calamine(tmp_path, organiser, monkeypatch):
    def not_expected(path):
        raise AssertionError("the XML reader was used")

    monkeypatch.setattr(reading_xml, "ods_open", not_expected)
    path = ods_with(
        tmp_path / "plain.ods",
        '<table:table-cell office:value-type="string"><text:p>First line</text:p>'
        '<text:p>second<text:s text:c="2"/>line</text:p></table:table-cell>',
    )

    run(path, organiser)

    assert Contact.objects.get().notes == "First line\nsecond  line"


def test_ods_tabs_and_line_breaks_inside_a_cell_are_kept(tmp_path, organiser):
    # calamine drops <text:tab/> and <text:line-break/>; such files use the XML reader.
    path = ods_with(
        tmp_path / "breaks.ods",
        '<table:table-cell office:value-type="string"><text:p>Paid<text:tab/>in full'
        "<text:line-break/>by card</text:p></table:table-cell>",
    )
    assert spreadsheet_check(path, kind="ods").inline_breaks

    run(path, organiser)

    assert Contact.objects.get().notes == "Paid\tin full\nby card"


def test_a_csv_cell_over_the_limit_is_refused_naming_its_row(tmp_path, organiser, settings):
    settings.IMPORT_MAX_CELL_CHARS = 1000
    path = tmp_path / "long-cell.csv"
    path.write_text(
        "Email,Consent to email,Notes\nada@example.org,yes,short\n"
        f'bo@example.org,yes,"{"x" * 2000}"\n'
    )

    with pytest.raises(FileError, match=r"Row 3 has a cell longer than 1,000 characters"):
        run(path, organiser)
    assert not Contact.objects.exists()


def test_a_csv_line_over_the_limit_is_refused_without_reading_it_whole(tmp_path, settings):
    settings.IMPORT_MAX_CELL_CHARS = 1000
    path = tmp_path / "long-line.csv"
    path.write_text("Email,Consent to email\n" + "a," * 10_000 + "\n")

    with pytest.raises(FileError, match=r"Row 2 has a line longer than 8,000 characters"):
        rows_of(path)


def test_reading_stops_at_the_row_limit_not_at_the_end_of_the_file(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 100
    path = crafted_files.csv_rows(tmp_path / "long.csv", 200_000)
    sheet = sheet_open(path, file_name=path.name, fingerprint=file_fingerprint(path))
    read = 0
    with pytest.raises(FileError, match="more than 100 rows"):
        for _ in sheet.rows:
            read += 1
    assert read == 100
    assert sheet.progress_done() < path.stat().st_size / 10
    sheet.close()


def test_a_sheet_whose_cells_span_the_whole_grid_is_refused_before_reading(tmp_path):
    path = crafted_files.xlsx_two_far_cells(tmp_path / "far.xlsx")

    with pytest.raises(FileError, match="1,048,576 rows"):
        rows_of(path)


def test_a_declared_dimension_past_the_limits_is_refused_at_once(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 10
    sheet = crafted_files._Member(
        "xl/worksheets/sheet1.xml",
        crafted_files._SHEET_HEAD.replace("<sheetData>", '<dimension ref="A1:Z2"/><sheetData>')
        + crafted_files._HEADER_ROW
        + crafted_files._SHEET_TAIL,
    )
    path = crafted_files._xlsx(tmp_path / "declared.xlsx", sheet)

    with pytest.raises(FileError, match="declares a used area of 26 columns"):
        rows_of(path)


def test_sheets_without_cell_references_are_measured_too(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 10
    cells = "<c><v>1</v></c>" * 12
    sheet = crafted_files._Member(
        "xl/worksheets/sheet1.xml",
        crafted_files._SHEET_HEAD
        + crafted_files._HEADER_ROW
        + f"<row>{cells}</row>"
        + crafted_files._SHEET_TAIL,
    )
    path = crafted_files._xlsx(tmp_path / "no-refs.xlsx", sheet)

    with pytest.raises(FileError, match="uses 12 columns"):
        rows_of(path)


@pytest.mark.parametrize(
    ("cells", "columns"),
    [
        ('<c r="C3"><v>1</v></c><c r="Q3"><v>1</v></c><c r="E3"><v>1</v></c>', 17),
        ('<c r="B3"><v>1</v></c><c r="AB3"><v>1</v></c>', 28),
        ('<c r="Z3"><v>1</v></c>', 26),
    ],
)
def test_a_sheet_is_measured_to_its_furthest_column_wherever_that_cell_is(
    tmp_path, settings, cells, columns
):
    settings.IMPORT_MAX_COLUMNS = columns - 1
    sheet = crafted_files._Member(
        "xl/worksheets/sheet1.xml",
        crafted_files._SHEET_HEAD
        + crafted_files._HEADER_ROW
        + f'<row r="3">{cells}</row>'
        + crafted_files._SHEET_TAIL,
    )
    path = crafted_files._xlsx(tmp_path / "far-column.xlsx", sheet)

    with pytest.raises(FileError, match=f"uses {columns} columns"):
        rows_of(path)


@pytest.mark.parametrize(
    "rows",
    [
        # The furthest row first, then rows written in order after it.
        '<row r="3"><c r="A900"><v>1</v></c></row><row r="4"><c r="A4"><v>1</v></c></row>',
        # In the middle of rows written in order, with leading zeros.
        '<row r="3"><c r="A3"><v>1</v></c><c r="B000900"><v>1</v></c></row>'
        '<row r="4"><c r="A4"><v>1</v></c></row>',
        # Two cells out of order, the second further than the first.
        '<row r="3"><c r="A500"><v>1</v></c><c r="A900"><v>1</v></c><c r="A5"><v>1</v></c></row>',
    ],
)
def test_a_sheet_is_measured_to_its_furthest_row_wherever_that_cell_is(tmp_path, settings, rows):
    settings.IMPORT_MAX_ROWS = 898
    sheet = crafted_files._Member(
        "xl/worksheets/sheet1.xml",
        crafted_files._SHEET_HEAD + crafted_files._HEADER_ROW + rows + crafted_files._SHEET_TAIL,
    )
    path = crafted_files._xlsx(tmp_path / "far-row.xlsx", sheet)

    with pytest.raises(FileError, match="uses 900 rows"):
        rows_of(path)


@pytest.mark.parametrize("number", [0, 1, 9, 10, 99, 100, 450_001, 199_999, 1_048_576])
def test_the_later_row_pattern_matches_exactly_the_numbers_above_its_row(number):
    from contacts.importing.guards import _later_row

    pattern = _later_row(b'<c r="', number)
    candidates = {*range(0, 1200), number - 1, number, number + 1, 10 * number, 10**7}
    for candidate in candidates - {-1}:
        for written in (str(candidate), f"00{candidate}"):
            cell = f'<c r="AB{written}">'.encode()
            assert (pattern.match(cell) is not None) == (candidate > number), written
