"""Canvass sheets read back from the PDF: who is on them, and what every page carries."""

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaign.canvass import fetcher as fetcher_module
from campaign.canvass import layout, sheets
from campaign.canvass.fetcher import CanvassURLFetcher, RefusedURL
from campaign.canvass.services import canvass_sheet_print
from campaign.models import AuditEvent
from tests.factories import ConsentedContactFactory, ContactFactory, SchoolFactory


def pdf_pages(data: bytes, tmp_path) -> list[str]:
    """The text of each page, as poppler's pdftotext lays it out."""
    path = tmp_path / "read.pdf"
    path.write_bytes(data)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed: see .ci/system-deps"
    out = subprocess.run(  # noqa: S603 - our own file, a fixed program
        [pdftotext, "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def many_supporters(school, count, prefix="Supporter"):
    return [
        ConsentedContactFactory(
            school=school,
            first_name=f"{prefix}{n:03d}",
            last_name="Testperson",
            email=f"{prefix.lower()}{n}@example.org",
        )
        for n in range(count)
    ]


def test_a_school_sheet_lists_its_consented_supporters_and_nobody_else(
    lead_a, organiser, school_a, contact_a, contact_b, unconsented_contact_a, campaign, tmp_path
):
    other_school_same_district = SchoolFactory(
        name="Cedar Infants", urn="100020", district=school_a.district
    )
    ConsentedContactFactory(
        school=other_school_same_district, first_name="Elsewhere", last_name="Person"
    )

    printed = canvass_sheet_print(actor=organiser, school=school_a)
    text = "\n".join(pdf_pages(printed.pdf, tmp_path))

    assert "O'Neill, Siân" in text
    assert "Aoife" not in text  # no current consent
    assert "Tomasz" not in text  # another district
    assert "Elsewhere" not in text  # another school
    assert printed.rows == 1
    assert "1 supporter · 0 voted so far" in text
    assert campaign.name in text


def test_every_page_has_the_header_page_x_of_y_and_the_confidential_footer(
    lead_a, school_a, campaign, tmp_path
):
    many_supporters(school_a, 70)
    before = timezone.localtime()

    printed = canvass_sheet_print(actor=lead_a, school=school_a)
    pages = pdf_pages(printed.pdf, tmp_path)

    assert len(pages) == printed.pages >= 2
    stamp = before.strftime("%-d %b %Y")
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Alder Primary School · URN 100001 · District A" in page  # repeated header
        assert re.search(r"Name\s+Role\s+Mobile\s+GOTV status", page)
        assert f"Printed by lead_a on {stamp}" in page
        assert "confidential, destroy after use" in page
        assert f"Sheet {printed.sheet_code}" in page
    names = re.findall(r"Testperson, Supporter(\d{3})", "\n".join(pages))
    assert sorted(names) == [f"{n:03d}" for n in range(70)]
    # The rows continue on page 2 under the repeated header, not just the footer.
    assert "Testperson" in pages[1]


def test_email_addresses_are_left_off_unless_asked_for(lead_a, school_a, contact_a, tmp_path):
    without = "\n".join(pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path))
    with_email = "\n".join(
        pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a, with_email=True).pdf, tmp_path)
    )

    assert "sian.oneill@example.org" not in without
    assert "@" not in without
    assert "sian.oneill@example.org" in with_email


def test_each_print_is_in_the_audit_trail_with_who_what_and_how_many_rows(
    lead_a, school_a, contact_a, tmp_path
):
    many_supporters(school_a, 3)

    printed = canvass_sheet_print(actor=lead_a, school=school_a, with_email=True)

    event = AuditEvent.objects.get(action=AuditEvent.Action.CANVASS_PRINT)
    assert event.actor == lead_a
    assert event.target_id == str(school_a.pk)
    assert event.counts["rows"] == 4
    assert event.detail["sheet_code"] == printed.sheet_code
    assert event.detail["with_email"] is True


def test_names_are_printed_as_text_and_the_renderer_fetches_only_our_assets(
    lead_a, school_a, tmp_path, monkeypatch
):
    ConsentedContactFactory(
        school=school_a,
        first_name='<img src="file:///etc/passwd">',
        last_name='<link rel=stylesheet href="http://127.0.0.1:9/x.css">',
    )
    fetched = []
    real_fetch = CanvassURLFetcher.fetch

    def spy(self, url, headers=None):
        fetched.append(url)
        return real_fetch(self, url, headers)

    def no_network(*args, **kwargs):
        raise AssertionError("the PDF renderer tried to open a URL")

    monkeypatch.setattr(CanvassURLFetcher, "fetch", spy)
    monkeypatch.setattr("urllib.request.OpenerDirector.open", no_network)

    text = "\n".join(pdf_pages(canvass_sheet_print(actor=lead_a, school=school_a).pdf, tmp_path))

    assert '<img src="file:///etc/passwd">' in text
    assert "root:" not in text
    assert fetched, "the stylesheet and images go through the canvass fetcher"
    for url in fetched:
        assert url.startswith(("http://127.0.0.1:8000/static/canvass/", "turnout-generated:qr/"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/static/canvass/rows.png",
        "http://127.0.0.1:8000/static/canvass/../../settings.py",
        "http://127.0.0.1:8000/static/canvass/%2e%2e/%2e%2e/settings.py",
        "http://127.0.0.1:8000/static/campaign/site.css",
        "http://127.0.0.1:8000/static/canvass/rows.png?x=1",
        "http://127.0.0.1:8000/static/canvass/missing.png",
        "data:text/plain,hello",
        "turnout-generated:qr/not-made",
    ],
)
def test_the_fetcher_refuses_anything_but_our_canvass_assets(url):
    fetcher = sheets.assets().fetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)


def test_the_fetcher_serves_our_own_canvass_assets(settings):
    fetcher = sheets.assets().fetcher()
    png = fetcher.fetch(f"{settings.SITE_URL}/static/canvass/rows.png")
    assert png.read().startswith(b"\x89PNG")
    css = fetcher.fetch(f"{settings.SITE_URL}/static/canvass/sheet.css")
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    assert fetcher_module.GENERATED_SCHEME == "turnout-generated"


def test_control_characters_in_names_cannot_break_the_columns():
    text = layout.row_text(
        first_name="Montgomery\tJunior\nThe Third",
        last_name="Smythe",
        role="Member",
        mobile="07700 900123",
        status="Ballot received",
        email=None,
    )
    parts = [part for part in re.split(r"[\u2002-\u200a]+", text) if part]
    assert "\n" not in text and "\t" not in text
    assert parts == [
        "Smythe, Montgomery Junior The Third",
        "Member",
        "07700 900123",
        "Ballot received",
    ]


def test_every_rows_columns_line_up_under_the_column_labels(lead_a, school_a, tmp_path):
    names = ["Terry Bishop", "Wolfeschlegelsteinhausenbergerdorff Smythe", "Li Na", "Ōtake Wáńg"]
    for name in names:
        first, last = name.split(" ", 1)
        ConsentedContactFactory(
            school=school_a, first_name=first, last_name=last, mobile="+447700900123", role="rep"
        )
    printed = canvass_sheet_print(actor=lead_a, school=school_a)
    path = tmp_path / "sheet.pdf"
    path.write_bytes(printed.pdf)

    import pdfplumber

    with pdfplumber.open(path) as document:
        words = document.pages[0].extract_words(x_tolerance=1)
    starts: dict[str, list[float]] = {}
    for word in words:
        starts.setdefault(word["text"], []).append(word["x0"] * layout.MM_PER_PT - 12)
    assert len(starts["Rep"]) == len(starts["07700"]) == len(starts["Unknown"]) == 4
    for label, cells in (("Role", "Rep"), ("Mobile", "07700"), ("GOTV", "Unknown")):
        (header,) = starts[label]
        for x in starts[cells]:
            assert abs(x - header) < 0.8, (label, header, starts[cells])


def test_the_school_sheet_view_is_scoped_to_the_leads_districts(
    client_for, lead_a, volunteer, organiser, school_a, school_b, contact_a, contact_b
):
    lead = client_for(lead_a)
    response = lead.get(f"/canvass/schools/{school_a.pk}/sheet.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert lead.get(f"/canvass/schools/{school_b.pk}/sheet.pdf").status_code == 404

    assert client_for(volunteer).get(f"/canvass/schools/{school_a.pk}/sheet.pdf").status_code == 403
    assert client_for(organiser).get(f"/canvass/schools/{school_b.pk}/sheet.pdf").status_code == 200


def test_the_cli_prints_a_school_as_the_given_user(
    lead_a, school_a, contact_a, contact_b, tmp_path
):
    out = tmp_path / "sheet.pdf"
    call_command("canvass_pdf", "--school", "100001", "-o", str(out), "--as", "lead_a")
    text = "\n".join(pdf_pages(out.read_bytes(), tmp_path))
    assert "O'Neill, Siân" in text and "Tomasz" not in text
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CANVASS_PRINT, detail__via="cli"
    ).exists()


def test_the_cli_will_not_print_a_school_outside_the_users_districts(lead_a, school_b, tmp_path):
    with pytest.raises(CommandError, match="No school with URN '100002' that lead_a may see"):
        call_command(
            "canvass_pdf", "--school", "100002", "-o", str(tmp_path / "x.pdf"), "--as", "lead_a"
        )
    assert not (tmp_path / "x.pdf").exists()


def test_the_cli_district_pack_has_a_cover_and_each_school_on_its_own_pages(
    lead_a, school_a, contact_a, contact_b, unconsented_contact_a, campaign, tmp_path, settings
):
    settings.CANVASS_PDF_WORKERS = 1
    second = SchoolFactory(name="Beech Juniors", urn="100009", district=school_a.district)
    many_supporters(second, 45, prefix="Beech")
    SchoolFactory(name="Empty Nursery", urn="100010", district=school_a.district)
    ContactFactory(school=second, first_name="Noconsent", last_name="Beech")
    out = tmp_path / "pack.pdf"

    call_command(
        "canvass_pdf", "--district", "district a", "-o", str(out), "--as", "lead_a", "--with-email"
    )
    pages = pdf_pages(out.read_bytes(), tmp_path)

    cover, sheets_pages = pages[0], pages[1:]
    assert "Canvass pack: District A" in cover
    assert re.search(r"Beech Juniors\s+100009\s+45\s+0", cover)
    assert re.search(r"Empty Nursery\s+100010\s+0\s+0", cover)
    assert "Page 1 of 1" in cover
    alder = [p for p in sheets_pages if "Alder Primary School · URN" in p]
    beech = [p for p in sheets_pages if "Beech Juniors · URN" in p]
    assert len(alder) + len(beech) == len(sheets_pages)
    assert len(alder) == 1 and len(beech) >= 2
    assert "O'Neill, Siân" in alder[0] and "Beech" not in alder[0].split("URN 100001", 1)[1]
    for number, page in enumerate(beech, start=1):
        assert f"Page {number} of {len(beech)}" in page
        assert "Siân" not in page
    assert "beech0@example.org" in "\n".join(beech)  # --with-email
    text = "\n".join(pages)
    assert "Tomasz" not in text and "Noconsent" not in text and "Aoife" not in text
    assert "Empty Nursery · URN" not in text  # no empty sheets printed


@pytest.fixture
def open_ballot(db):
    from tests.factories import CampaignFactory

    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=2), ballot_closes=now + timedelta(days=5)
    )


@pytest.mark.parametrize(
    ("supporters", "with_email", "pages"),
    [(36, False, 1), (37, False, 2), (77, False, 2), (78, False, 3), (18, True, 1), (19, True, 2)],
)
def test_pages_come_out_exactly_as_planned_so_each_page_is_numbered_right(
    lead_a, school_a, tmp_path, caplog, supporters, with_email, pages
):
    many_supporters(school_a, supporters)

    printed = canvass_sheet_print(actor=lead_a, school=school_a, with_email=with_email)

    assert "planned" not in caplog.text  # no fall-back to laying out school by school
    read = pdf_pages(printed.pdf, tmp_path)
    assert printed.pages == len(read) == pages
    assert f"Page {pages} of {pages}" in read[-1]
    names = re.findall(r"Testperson, Supporter(\d{3})", "\n".join(read))
    assert len(names) == supporters


def test_names_in_any_script_are_printed_with_a_font_that_has_their_glyphs(
    organiser, school_a, campaign, tmp_path
):
    ConsentedContactFactory(school=school_a, first_name="伟", last_name="王", email="w@example.org")
    printed = canvass_sheet_print(actor=organiser, school=school_a)
    path = tmp_path / "sheet.pdf"
    path.write_bytes(printed.pdf)

    assert re.search(r"王,\s*伟", "\n".join(pdf_pages(printed.pdf, tmp_path)))
    pdffonts = shutil.which("pdffonts")
    assert pdffonts, "poppler-utils (pdffonts) is needed: see .ci/system-deps"
    fonts = subprocess.run(  # noqa: S603 - our own file, a fixed program
        [pdffonts, str(path)], capture_output=True, check=True, text=True
    ).stdout
    # DejaVu has no Chinese; without a CJK font the name would print as empty boxes.
    assert "WenQuanYi" in fonts, fonts
