"""Importing and exporting through the admin: the same pipeline, counts and safety."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaign.exports import neutralise
from campaign.models import AuditEvent
from contacts.importing import ImportOptions, supporters_import
from contacts.models import ConsentRecord, Contact, ImportBatch, Suppression
from contacts.services import consent_withdraw, suppression_add
from tests.contacts.test_import_pipeline import EXPECTED_COUNTS, FIXTURES, snapshot

IMPORT_URL = "admin:contacts_contact_import"


@pytest.fixture
def world(organiser, contact_a, contact_b, unconsented_contact_a, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    suppression_add(email="gone@example.org", reason=Suppression.Reason.UNSUBSCRIBED)
    consent_withdraw(contacts=[contact_b], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK)
    return organiser


def upload(client, name):
    return client.post(
        reverse(IMPORT_URL),
        {
            "file": SimpleUploadedFile(name, (FIXTURES / name).read_bytes()),
            "consent_wording": "",
            "consent_version": "admin-v1",
        },
    )


@pytest.mark.parametrize("name", ["supporters.csv", "supporters.xlsx", "supporters.ods"])
def test_the_preview_shows_the_same_counts_as_the_command_and_writes_nothing(
    world, client_for, name
):
    client = client_for(world)
    before = snapshot()

    response = upload(client, name)

    assert response.status_code == 200
    preview = response.context["report"].as_json()
    assert snapshot() == before and not ImportBatch.objects.exists()
    assert preview["dry_run"] is True
    assert {k: v for k, v in preview.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    cli = supporters_import(
        path=FIXTURES / name,
        file_name=name,
        actor=world,
        options=ImportOptions(dry_run=True),
    ).as_json()
    assert preview == cli
    content = response.content.decode()
    assert "Confirm and import" in content and "duplicate_in_file" in content


def test_confirming_the_preview_imports_with_the_same_counts(world, client_for, settings):
    client = client_for(world)
    preview = upload(client, "supporters.xlsx")
    token = preview.context["token"]

    response = client.post(reverse(IMPORT_URL), {"token": token})

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:contacts_importbatch_change", args=[batch.pk])
    expected = {**preview.context["report"].as_json(), "dry_run": False}
    assert batch.report["created"] == expected["created"] == 9
    assert {k: batch.report[k] for k in expected} == expected
    assert Contact.objects.get(email="ada@example.org").consents.get().version == "admin-v1"
    assert not list(Path(settings.IMPORT_UPLOAD_DIR).iterdir())  # the upload is gone
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Rejected rows (CSV)" in page.content.decode()
    assert page.context["report"].created == 9


def test_a_confirmed_import_over_the_size_limit_is_queued_and_shows_progress(
    world, client_for, settings
):
    client = client_for(world)
    token = upload(client, "supporters.csv").context["token"]
    settings.IMPORT_SYNC_MAX_BYTES = 10  # lowered between preview and confirmation

    response = client.post(reverse(IMPORT_URL), {"token": token})

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.PENDING and batch.upload_path
    assert not Contact.objects.filter(email="ada@example.org").exists()
    page = client.get(response.url)
    assert "Import pending" in page.content.decode()

    from contacts.importing.queued import batch_run

    batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE and batch.counts["created"] == 9
    listing = client.get(reverse("admin:contacts_importbatch_changelist"))
    assert "9 new, 2 updated, 7 rejected" in listing.content.decode()


def test_a_big_upload_is_previewed_on_the_queue_then_confirmed(world, client_for, settings):
    from contacts.importing.queued import batch_run

    settings.IMPORT_SYNC_MAX_BYTES = 10
    client = client_for(world)
    before = snapshot()

    response = upload(client, "supporters.ods")

    batch = ImportBatch.objects.get()
    assert response.url == reverse("admin:contacts_importbatch_change", args=[batch.pk])
    assert batch.status == ImportBatch.Status.PENDING and batch.options["dry_run"] is True
    assert "Preview pending" in client.get(response.url).content.decode()

    batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert snapshot() == before
    assert batch.report["created"] == EXPECTED_COUNTS["created"]
    assert batch.report["dry_run"] is True
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT).exists()
    page = client.get(response.url).content.decode()
    assert "Nothing has been written yet" in page and "Confirm and import" in page
    confirm_url = reverse("admin:contacts_importbatch_confirm", args=[batch.pk])
    assert client.get(confirm_url).status_code == 200

    client.post(confirm_url)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING and batch.options["dry_run"] is False
    batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert {k: batch.report[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert Contact.objects.filter(email="ada@example.org", source_import=batch).exists()
    assert not list(Path(settings.IMPORT_UPLOAD_DIR).iterdir())


def test_a_preview_cannot_be_confirmed_after_its_file_changed(world, client_for, settings):
    from contacts.importing.queued import batch_run, upload_path

    settings.IMPORT_SYNC_MAX_BYTES = 10
    client = client_for(world)
    upload(client, "latin.csv")
    batch = ImportBatch.objects.get()
    batch_run(batch_id=batch.pk)
    upload_path(ImportBatch.objects.get().upload_path).write_text(
        "Email,Consent\nx@example.org,yes\n"
    )

    client.post(reverse("admin:contacts_importbatch_confirm", args=[batch.pk]))

    assert ImportBatch.objects.get().status == ImportBatch.Status.PREVIEWED
    assert not Contact.objects.filter(email="x@example.org").exists()


def test_a_file_level_error_is_shown_on_the_form_and_writes_nothing(world, client_for):
    client = client_for(world)
    response = client.post(
        reverse(IMPORT_URL),
        {"file": SimpleUploadedFile("x.csv", b"Name,Phone\nAda,1\n")},
    )

    assert response.status_code == 200
    assert "Email" in str(response.context["form"].errors["file"])
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("who", ["volunteer", "lead_a"])
def test_only_organisers_reach_the_import_screens(request, who, client_for):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse(IMPORT_URL)).status_code == 403


def test_the_rejected_rows_download_has_a_problem_column_and_is_neutralised(
    world, client_for, tmp_path
):
    path = tmp_path / "evil.csv"
    path.write_text(
        "Email,Consent,First name\n"
        "=cmd|' /C calc'!A0,yes,Eve\n"
        "ok@example.org,no,@SUM(1+1)\n"
        "fine@example.org,yes,Fine\n"
    )
    report = supporters_import(path=path, file_name="evil.csv", actor=world)
    client = client_for(world)

    response = client.get(
        reverse("admin:contacts_importbatch_rejected", args=[report.batch_id, "csv"])
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Email", "Consent", "First name", "Problem"]
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and "not a valid email" in rows[1][3]
    assert rows[2][2] == "'@SUM(1+1)" and "consent" in rows[2][3].lower()
    assert len(rows) == 3
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).get()
    assert event.counts == {"rows": 2} and event.actor == world

    xlsx = client.get(
        reverse("admin:contacts_importbatch_rejected", args=[report.batch_id, "xlsx"])
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A2"].value == "'=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"


def test_a_fixed_rejected_rows_file_can_be_uploaded_again(world, tmp_path):
    report = supporters_import(
        path=FIXTURES / "supporters.csv", file_name="supporters.csv", actor=world
    )
    headers, rows = report.rejected_table()
    assert headers[-1] == "Problem" and len(rows) == 7
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            if row[0] == "dan@example.org":
                row[7] = "yes"
            writer.writerow(row)

    again = supporters_import(path=fixed, file_name="fixed.csv", actor=world)

    assert again.created == 1 and Contact.objects.filter(email="dan@example.org").exists()
    assert "unknown_column" not in again.warnings or again.warnings["unknown_column"] == 1


def test_undo_from_the_batch_page(world, client_for):
    report = supporters_import(
        path=FIXTURES / "supporters.csv", file_name="supporters.csv", actor=world
    )
    client = client_for(world)
    url = reverse("admin:contacts_importbatch_undo", args=[report.batch_id])

    assert client.get(url).status_code == 200
    response = client.post(url)

    assert response.status_code == 302
    assert ImportBatch.objects.get().status == ImportBatch.Status.UNDONE
    assert not Contact.objects.filter(email="ada@example.org").exists()


def test_admin_export_uses_the_resource_neutralises_cells_and_is_audited(
    organiser, contact_a, client_for
):
    Contact.objects.filter(pk=contact_a.pk).update(
        first_name='=HYPERLINK("http://x")', notes="\tTabbed", mobile="+447700900001"
    )
    client = client_for(organiser)
    fields = {
        f"contactresource_{name}": "on"
        for name in ("email", "first_name", "mobile", "consent", "notes", "urn")
    }

    response = client.post(
        reverse("admin:contacts_contact_export"), {"format": "0", "resource": "0", **fields}
    )

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Email", "First name", "Mobile", "School URN", "Consent to email", "Notes"]
    assert rows[1] == [
        "sian.oneill@example.org",
        '\'=HYPERLINK("http://x")',
        "'+447700900001",
        "100001",
        "yes",
        "'\tTabbed",
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == organiser and event.counts == {"rows": 1}


@pytest.mark.parametrize("who", ["volunteer", "lead_a"])
def test_only_organisers_may_export(request, who, client_for, contact_a):
    client = client_for(request.getfixturevalue(who))
    response = client.post(reverse("admin:contacts_contact_export"), {"format": "0"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7700", "'+44 7700"),
        ("-5", "'-5"),
        ("@me", "'@me"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Siân", "Siân"),
        ("a=b", "a=b"),
        (5, 5),
        (None, None),
    ],
)
def test_every_dangerous_first_character_is_neutralised(value, safe):
    assert neutralise(value) == safe


def test_importing_through_the_resource_runs_the_same_pipeline(organiser, school_a):
    import tablib

    from contacts.resources import ContactResource

    dataset = tablib.Dataset(headers=["Email", "Consent to email", "School URN", "First name"])
    dataset.append([" New@Example.org ", "yes", "100001", "Nia"])
    dataset.append(["refused@example.org", "no", "", "Rhys"])

    report = ContactResource().import_data(dataset, dry_run=False, user=organiser)

    assert (report.created, report.rejected["no_consent"]) == (1, 1)
    nia = Contact.objects.get(email="new@example.org")
    assert nia.school == school_a and nia.is_mailable()
    assert ImportBatch.objects.get(pk=report.batch_id).created_by == organiser


def test_the_contact_list_offers_import_to_organisers_only(organiser, volunteer, client_for):
    url = reverse("admin:contacts_contact_changelist")
    import_url = reverse(IMPORT_URL)

    assert import_url in client_for(organiser).get(url).content.decode()
    page = client_for(volunteer).get(url)
    assert page.status_code == 200 and import_url not in page.content.decode()
