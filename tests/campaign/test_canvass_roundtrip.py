"""The paper round-trip as XLSX: download, fill "New status", upload, preview, apply."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.models import Contact, GotvEvent
from tests.factories import CampaignFactory, ConsentedContactFactory


@pytest.fixture
def open_ballot(db):
    now = timezone.now()
    return CampaignFactory(
        ballot_opens=now - timedelta(days=2), ballot_closes=now + timedelta(days=5)
    )


def download(client, school) -> openpyxl.Workbook:
    response = client.get(f"/canvass/schools/{school.pk}/sheet.xlsx")
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def fill(workbook, statuses: dict[str, str], extra_rows=()) -> bytes:
    sheet = workbook["Canvass"]
    header = [cell.value for cell in sheet[1]]
    ref_col, status_col = header.index("Ref") + 1, header.index("New status") + 1
    for row in range(2, sheet.max_row + 1):
        ref = sheet.cell(row, ref_col).value
        if ref in statuses:
            sheet.cell(row, status_col).value = statuses[ref]
    for ref, status in extra_rows:
        sheet.append(
            [None] * (ref_col - 1) + [ref] + [None] * (status_col - ref_col - 1) + [status]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, school, data: bytes):
    return client.post(
        f"/canvass/schools/{school.pk}/upload/",
        {"sheet": SimpleUploadedFile("filled.xlsx", data)},
    )


def test_the_downloaded_sheet_has_a_reference_per_supporter_and_neutralised_cells(
    client_for, lead_a, school_a, contact_a, unconsented_contact_a, contact_b
):
    formula = ConsentedContactFactory(
        school=school_a, first_name="Evil", last_name='=HYPERLINK("http://x")'
    )

    workbook = download(client_for(lead_a), school_a)
    rows = list(workbook["Canvass"].iter_rows(values_only=True))

    assert rows[0][:4] == ("Ref", "Name", "Role", "Mobile")
    assert "New status" in rows[0] and "Email" not in rows[0]
    refs = {row[0]: row for row in rows[1:]}
    assert set(refs) == {f"C{contact_a.pk}", f"C{formula.pk}"}  # consented, this school only
    # "Surname, First name", as on the PDF sheet; a formula-looking cell stays text.
    assert refs[f"C{contact_a.pk}"][1] == f"{contact_a.last_name}, {contact_a.first_name}"
    assert refs[f"C{formula.pk}"][1] == '\'=HYPERLINK("http://x"), Evil'
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, counts__rows=2).exists()


def test_an_upload_previews_then_applies_the_statuses_as_canvass_results(
    client_for, lead_a, open_ballot, school_a, contact_a
):
    others = [ConsentedContactFactory(school=school_a) for _ in range(3)]
    client = client_for(lead_a)
    data = fill(
        download(client, school_a),
        {
            f"C{contact_a.pk}": "Voted",
            f"C{others[0].pk}": "pledged",
            f"C{others[1].pk}": "Not reached",
        },
    )

    preview = upload(client, school_a, data)

    assert preview.status_code == 200
    assert "Preview: 2 changes would be saved" in preview.content.decode()
    assert not GotvEvent.objects.exists()  # a dry run writes nothing
    stash = preview.context["stash"]

    applied = client.post(f"/canvass/schools/{school_a.pk}/upload/", {"stash": stash})

    assert "Saved: 2 status changes" in applied.content.decode()
    statuses = dict(Contact.objects.values_list("pk", "gotv_status"))
    assert statuses[contact_a.pk] == "voted"
    assert statuses[others[0].pk] == "pledged"
    assert statuses[others[1].pk] == statuses[others[2].pk] == "unknown"
    assert set(GotvEvent.objects.values_list("method", "actor")) == {("canvass", lead_a.pk)}
    # The stash is used up: the same confirmation cannot be replayed.
    again = client.post(f"/canvass/schools/{school_a.pk}/upload/", {"stash": stash})
    assert again.status_code == 400


def test_rows_outside_the_uploaders_districts_are_rejected_and_the_rest_applied(
    client_for,
    lead_a,
    organiser,
    open_ballot,
    school_a,
    school_b,
    contact_a,
    contact_b,
    unconsented_contact_a,
):
    client = client_for(lead_a)
    data = fill(
        download(client, school_a),
        {f"C{contact_a.pk}": "Voted"},
        extra_rows=[
            (f"C{contact_b.pk}", "Voted"),  # District B: not theirs
            (f"C{unconsented_contact_a.pk}", "Voted"),  # no consent: not on any sheet
            ("C99999999", "Voted"),
            ("Siân", "Voted"),
            (f"C{contact_a.pk}", "Pledged"),  # the same supporter twice
        ],
    )

    preview = upload(client, school_a, data)
    plan = preview.context["plan"]
    messages = {error.ref: error.message for error in plan.errors}

    assert plan.change_count == 1
    assert "outside the districts you may canvass" in messages[f"C{contact_b.pk}"]
    assert "outside the districts you may canvass" in messages[f"C{unconsented_contact_a.pk}"]
    assert "outside the districts you may canvass" in messages["C99999999"]
    assert "must hold the reference" in messages["Siân"]
    assert any("also on row 2" in error.message for error in plan.errors)
    assert all(error.row > 2 for error in plan.errors)

    client.post(f"/canvass/schools/{school_a.pk}/upload/", {"stash": preview.context["stash"]})

    contact_b.refresh_from_db()
    contact_a.refresh_from_db()
    assert contact_b.gotv_status == "unknown"
    assert contact_a.gotv_status == "voted"


def test_bad_status_words_name_the_row_and_the_allowed_values(
    client_for, lead_a, open_ballot, school_a, contact_a
):
    client = client_for(lead_a)
    data = fill(download(client, school_a), {f"C{contact_a.pk}": "definitely"})

    plan = upload(client, school_a, data).context["plan"]

    assert plan.change_count == 0
    assert plan.errors[0].row == 2
    assert "'definitely' is not a status; use one of Unknown, Pledged" in plan.errors[0].message


def test_a_file_that_is_not_the_sheet_is_refused_with_what_to_do(client_for, lead_a, school_a):
    client = client_for(lead_a)
    not_xlsx = upload(client, school_a, b"name,status\nSian,voted\n")
    assert not_xlsx.status_code == 400
    assert "This is not an XLSX file" in not_xlsx.content.decode()

    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Status"])
    out = io.BytesIO()
    workbook.save(out)
    wrong_columns = upload(client, school_a, out.getvalue())
    assert wrong_columns.status_code == 400
    assert (
        "must hold the &#x27;Ref&#x27; and &#x27;New status&#x27; columns"
        in wrong_columns.content.decode()
    )


def test_volunteers_cannot_upload_results(client_for, volunteer, school_a):
    response = client_for(volunteer).post(f"/canvass/schools/{school_a.pk}/upload/", {})
    assert response.status_code == 403


def test_a_not_yet_voted_drive_audience_excludes_supporters_marked_voted_by_any_route(
    client, client_for, lead_a, volunteer, open_ballot, school_a
):
    from campaign.links import VOTED, signed_token
    from mailings.models import Mailing
    from mailings.selectors import audience_contacts

    by_link, by_tick, by_sheet, not_yet = (
        ConsentedContactFactory(school=school_a) for _ in range(4)
    )
    client.post(f"/voted/{signed_token(purpose=VOTED, value=by_link.pk)}/")
    lead = client_for(lead_a)
    lead.post(f"/canvass/schools/{school_a.pk}/tick/", {"contact": by_tick.pk, "status": "voted"})
    preview = upload(lead, school_a, fill(download(lead, school_a), {f"C{by_sheet.pk}": "Voted"}))
    lead.post(f"/canvass/schools/{school_a.pk}/upload/", {"stash": preview.context["stash"]})

    drive = Mailing.objects.create(
        name="Not yet voted",
        subject="Have you voted?",
        body="Vote!",
        created_by=volunteer,
        gotv_statuses=[s for s in Contact.Gotv.values if s != Contact.Gotv.VOTED],
    )
    assert list(audience_contacts(mailing=drive)) == [not_yet]
    assert set(GotvEvent.objects.values_list("method", flat=True)) == {
        "email_link",
        "web",
        "canvass",
    }
