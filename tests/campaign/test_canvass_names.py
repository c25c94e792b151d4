"""Canvass sheets: every name printed whole (surname first), the title block before the
column labels, and every supporter accounted for (left off and why, or on the district's
"No school recorded" sheet)."""

import re

import pytest

from campaign.canvass import layout
from campaign.canvass.services import canvass_district_print, canvass_sheet_print
from tests.campaign.test_canvass_pdf import pdf_pages
from tests.factories import ConsentedContactFactory, ContactFactory

LONG_FIRST = "Anastasia-Maximiliana"
LONG_LAST = "Featherstonehaugh-Cholmondeley-Wolffe"  # with ", " and the first name: 60
FORMULA_FIRST = '=HYPERLINK("http://evil.example/","Click")'


def test_the_long_test_name_really_is_sixty_characters():
    assert len(f"{LONG_LAST}, {LONG_FIRST}") == 60
    assert layout.text_width_mm(f"{LONG_LAST}, {LONG_FIRST}") > layout.column_width("name")


def test_a_sixty_character_double_barrelled_name_is_printed_whole_surname_first(
    lead_a, school_a, contact_a, tmp_path
):
    ConsentedContactFactory(
        school=school_a, first_name=LONG_FIRST, last_name=LONG_LAST, mobile="+447700900123"
    )

    printed = canvass_sheet_print(actor=lead_a, school=school_a)
    text = "\n".join(pdf_pages(printed.pdf, tmp_path))

    assert f"{LONG_LAST}," in text  # the surname, whole, on the name's first line
    assert LONG_FIRST in text
    assert "…" not in text
    assert "07700 900123" in text  # the rest of the row is still there
    assert "O'Neill, Siân" in text
    assert printed.pages == 1


def test_a_formula_looking_first_name_is_printed_as_the_text_it_is(lead_a, school_a, tmp_path):
    ConsentedContactFactory(school=school_a, first_name=FORMULA_FIRST, last_name="Evil")

    text = "\n".join(pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path))

    # Too wide for one line: "Evil," over the first name, both whole.
    assert re.search(r"Evil,\s+.*" + re.escape(FORMULA_FIRST), text, re.S)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("Li", "Na"),
        (LONG_FIRST, LONG_LAST),
        (FORMULA_FIRST, "Evil"),
        ("Mary Anne Elizabeth Josephine", "Wolfeschlegelsteinhausenbergerdorff"),
        ("Jo", "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch-Smith"),
        ("Ōtake", "Wáńg-Nakamura-Featherstonehaugh"),
    ],
)
def test_a_name_cell_fits_its_column_and_keeps_every_letter(first, last):
    cell = layout.name_cell(first, last)

    assert all(
        layout.text_width_mm(line, cell.size_pt) <= layout.column_width("name")
        for line in cell.lines
    )
    # Nothing cut: the lines hold the whole "Surname, First name", surname first.
    assert "".join(cell.lines).replace(" ", "") == f"{last},{first}".replace(" ", "")
    assert cell.lines[0].startswith(last.split("-")[0])
    assert 4.0 <= cell.size_pt <= 9.0 and len(cell.lines) <= 3


def test_a_short_name_stays_on_one_line_at_full_size():
    cell = layout.name_cell("Siân", "O'Neill")
    assert cell.lines == ("O'Neill, Siân",) and cell.size_pt == 9.0 and cell.css_class == ""


def test_the_title_block_comes_before_the_first_column_header(
    lead_a, school_a, contact_a, tmp_path
):
    first_page = pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path)[0]

    title = first_page.index("1 supporter · 0 voted so far")
    header = re.search(r"Name\s+Role\s+Mobile\s+GOTV status", first_page).start()
    row = first_page.index("O'Neill, Siân")
    assert title < header < row


def test_the_sheet_says_how_many_supporters_are_left_off_and_why(
    lead_a, school_a, contact_a, unconsented_contact_a, tmp_path
):
    ContactFactory(school=school_a, first_name="Noconsent", last_name="Second")
    ConsentedContactFactory(school=None, district=school_a.district, first_name="Schoolless")

    text = "\n".join(pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path))

    assert "Left off: 2 with no current email consent; 1 with no school, on the district's" in text
    assert "Noconsent" not in text and "Schoolless" not in text


def test_a_school_where_everyone_consented_says_nobody_is_left_off(
    lead_a, school_a, contact_a, tmp_path
):
    text = "\n".join(pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path))
    assert "Nobody left off for want of consent." in text


def test_supporters_with_no_school_get_a_district_sheet_at_the_end_of_the_pack(
    lead_a, school_a, contact_a, contact_b, unconsented_contact_a, tmp_path, settings
):
    settings.CANVASS_PDF_WORKERS = 1
    ConsentedContactFactory(
        school=None, district=school_a.district, first_name="Nadia", last_name="Schoolless"
    )
    ConsentedContactFactory(
        school=None, district=contact_b.district, first_name="Other", last_name="Districtless"
    )

    printed = canvass_district_print(actor=lead_a, district=school_a.district)
    pages = pdf_pages(printed.pdf, tmp_path)

    cover = pages[0]
    assert "1 supporter in District A is left off every sheet: no current email consent." in (
        " ".join(cover.split())
    )
    assert "on the “No school recorded” sheet at the end" in " ".join(cover.split())
    last = pages[-1]
    assert "No school recorded" in last and "Schoolless, Nadia" in last
    assert "O'Neill" not in last
    assert "Districtless" not in "\n".join(pages)
    assert printed.rows == 2


def test_the_no_school_sheet_on_its_own_is_scoped_to_the_leads_district(
    client_for, lead_a, lead_b, district_a, tmp_path
):
    ConsentedContactFactory(
        school=None, district=district_a, first_name="Nadia", last_name="Schoolless"
    )

    response = client_for(lead_a).get(f"/canvass/districts/{district_a.pk}/no-school.pdf")
    assert response.status_code == 200
    text = "\n".join(pdf_pages(response.content, tmp_path))
    assert "Schoolless, Nadia" in text and "No school recorded" in text

    assert (
        client_for(lead_b).get(f"/canvass/districts/{district_a.pk}/no-school.pdf").status_code
        == 404
    )
