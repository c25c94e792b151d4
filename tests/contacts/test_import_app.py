"""The organiser's import screens: column mapping (remembered), the preview's new
places mapped onto existing ones by the pipeline, progress, result, undo, history."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaign.models import AuditEvent
from contacts.importing import ImportOptions, supporters_import
from contacts.importing.columns import IGNORE
from contacts.importing.errors import FileError
from contacts.importing.queued import _BatchProgress, batch_confirm, batch_queue, upload_store
from contacts.importing.report import ImportReport
from contacts.importing.undo import import_batch_undo, import_batch_undo_plan
from contacts.importing.workspace import (
    column_mapping_save,
    import_progress,
    new_places,
    upload_inspect,
)
from contacts.models import Contact, District, ImportBatch, ImportColumnMapping, School
from tests.contacts.messy_import import EMAIL_HEADING, HEADERS, KNOWN_OUTCOME, messy_xlsx
from tests.factories import ConsentedContactFactory, DistrictFactory, SchoolFactory

# Full name, email, school, district, consent, notes: the messy file's columns mapped.
CHOSEN = ["full_name", "email", "school", "district", "consent", "notes"]


@pytest.fixture
def cardiff(db):
    district = DistrictFactory(name="Cardiff")
    SchoolFactory(name="Oakfield Academy", urn="401001", district=district)
    return district


@pytest.fixture
def existing(cardiff):
    return ConsentedContactFactory(
        first_name="Old", last_name="Name", email="existing@example.org", district=cardiff
    )


@pytest.fixture
def messy(tmp_path, existing):
    return messy_xlsx(tmp_path / "stall-signups.xlsx", existing_email=existing.email)


def run(path, actor, **options):
    return supporters_import(
        path=path, file_name=path.name, actor=actor, options=ImportOptions(**options)
    )


# --- column mapping -------------------------------------------------------------------


def test_the_unrecognised_email_heading_is_not_suggested_and_the_file_needs_a_mapping(
    messy, organiser
):
    inspection = upload_inspect(path=messy, file_name=messy.name)
    by_header = {c.header: c for c in inspection.columns}
    assert by_header[EMAIL_HEADING].suggested == IGNORE
    assert by_header[EMAIL_HEADING].samples[:2] == ["sian.lj@example.org", "m.alsayed@example.org"]
    assert by_header["District"].suggested == "district"
    with pytest.raises(FileError, match='no "Email"'):
        run(messy, organiser, dry_run=True)


def test_a_mapping_is_remembered_for_a_file_with_the_same_headings(messy, organiser, tmp_path):
    column_mapping_save(actor=organiser, headers=HEADERS, fields=CHOSEN)
    # Same headings typed differently (case, spacing): the same key.
    same = tmp_path / "same.csv"
    same.write_text(
        "full NAME,e-mail address (HOME),School,District ,Consent,Stall notes\n"
        "A B,a@example.org,,,yes,\n",
        encoding="utf-8",
    )
    remembered = upload_inspect(path=same, file_name="same.csv")
    assert remembered.remembered and [c.chosen for c in remembered.columns] == CHOSEN
    other = tmp_path / "other.csv"
    other.write_text("Email,Consent\na@example.org,yes\n", encoding="utf-8")
    fresh = upload_inspect(path=other, file_name="other.csv")
    assert not fresh.remembered and [c.chosen for c in fresh.columns] == ["email", "consent"]
    # Saving again replaces the remembered mapping rather than adding another.
    column_mapping_save(actor=organiser, headers=HEADERS, fields=[*CHOSEN[:5], IGNORE])
    assert ImportColumnMapping.objects.count() == 1
    assert upload_inspect(path=same, file_name="same.csv").columns[5].chosen == IGNORE


def test_a_mapping_that_uses_a_field_twice_is_refused(organiser):
    with pytest.raises(FileError, match="both mapped to Email"):
        column_mapping_save(
            actor=organiser, headers=HEADERS, fields=["email", "email", "", "", "consent", ""]
        )


def test_the_chosen_columns_are_what_the_pipeline_imports(messy, organiser):
    report = run(messy, organiser, columns=tuple(CHOSEN), dry_run=True)
    assert report.rows == KNOWN_OUTCOME["rows"]
    assert (report.created, report.updated, report.rejected_total, report.duplicate_in_file) == (
        4,
        1,
        2,
        1,
    )
    # A chosen "Do not import" is not warned about as an unrecognised column.
    ignored = run(messy, organiser, columns=(*CHOSEN[:5], IGNORE), dry_run=True)
    assert not [p for p in ignored.problems if p.code == "unknown_column"]


# --- places ---------------------------------------------------------------------------


def test_the_preview_names_every_new_district_and_school_with_the_closest_existing_names(
    messy, organiser, cardiff
):
    report = run(messy, organiser, columns=tuple(CHOSEN), dry_run=True)
    districts, schools = new_places(ImportReport.from_stored(report.stored()))
    assert [(d.name, d.rows) for d in districts] == [("Cardif", 3)]
    assert districts[0].suggestions[0] == (cardiff.pk, "Cardiff")
    # Oakfield Academy in the new district "Cardif" is a new school too; it can only
    # be mapped once its district is.
    assert [(s.name, s.district, s.key) for s in schools] == [("Oakfield Academy", "Cardif", "")]
    assert not District.objects.filter(name="Cardif").exists()  # a dry run


def test_a_new_district_mapped_onto_an_existing_one_is_not_created(messy, organiser, cardiff):
    districts_before = District.objects.count()
    schools_before = School.objects.count()
    report = run(messy, organiser, columns=tuple(CHOSEN), districts={"cardif": cardiff.pk})

    assert report.districts_created == 0 and report.schools_created == 0
    assert District.objects.count() == districts_before
    assert School.objects.count() == schools_before  # Oakfield Academy found in Cardiff
    assert not District.objects.filter(name__iexact="cardif").exists()
    assert set(
        Contact.objects.filter(
            email__in=["sian.lj@example.org", "wang.fang@example.org"]
        ).values_list("district__name", flat=True)
    ) == {"Cardiff"}
    assert Contact.objects.get(email="m.alsayed@example.org").school.name == "Oakfield Academy"
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.options["districts"] == {"cardif": cardiff.pk}
    assert batch.options["columns"] == CHOSEN
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT, target_id=str(batch.pk))
    assert event.detail["districts_mapped"] == 1 and event.detail["columns_chosen"] is True


def test_a_new_school_mapped_onto_an_existing_one_is_not_created(organiser, cardiff, tmp_path):
    oakfield = School.objects.get(name="Oakfield Academy")
    path = tmp_path / "schools.csv"
    path.write_text(
        "Email,Consent,School,District\n"
        "a@example.org,yes,Oakfeild Acadmy,Cardiff\n"
        "b@example.org,yes,Oakfeild Acadmy,cardiff\n",
        encoding="utf-8",
    )
    preview = run(path, organiser, dry_run=True)
    _, schools = new_places(ImportReport.from_stored(preview.stored()))
    assert [(s.name, s.rows, s.suggestions[0][1]) for s in schools] == [
        ("Oakfeild Acadmy", 2, "Oakfield Academy (URN 401001)")
    ]

    report = run(path, organiser, schools={schools[0].key: oakfield.pk})

    assert report.schools_created == 0
    assert set(
        Contact.objects.filter(source_import_id=report.batch_id).values_list("school_id", flat=True)
    ) == {oakfield.pk}


def test_a_place_mapping_that_no_longer_fits_stops_the_import(messy, organiser, district_a):
    oakfield = SchoolFactory(name="Other", district=district_a)
    with pytest.raises(FileError, match="no longer exists"):
        run(messy, organiser, columns=tuple(CHOSEN), districts={"cardif": 999_999})
    with pytest.raises(FileError, match="no longer in that district"):
        run(
            messy,
            organiser,
            columns=tuple(CHOSEN),
            schools={f"{district_a.pk + 1000}:x": oakfield.pk},
        )
    assert not ImportBatch.objects.filter(status=ImportBatch.Status.DONE).exists()


def test_undo_of_a_remapped_import_removes_nothing_it_should_keep(
    messy, organiser, cardiff, existing
):
    schools_before = set(School.objects.values_list("pk", flat=True))
    report = run(messy, organiser, columns=tuple(CHOSEN), districts={"cardif": cardiff.pk})
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert Contact.objects.get(pk=existing.pk).first_name == "Renamed"

    plan = import_batch_undo_plan(batch=batch)
    counts = import_batch_undo(batch=batch, actor=organiser)

    assert plan["contacts_removed"] == counts["contacts_removed"] == 4
    assert plan["contacts_restored"] == counts["contacts_restored"] == 1
    assert counts["districts_removed"] == counts["schools_removed"] == 0
    # The district the misspelling was mapped onto, its schools and its earlier
    # supporter all stay; the supporter the import changed is put back.
    assert District.objects.filter(pk=cardiff.pk).exists()
    assert set(School.objects.values_list("pk", flat=True)) == schools_before
    assert Contact.objects.get(pk=existing.pk).first_name == "Old"
    assert not Contact.objects.filter(source_import=batch).exists()


# --- progress -------------------------------------------------------------------------


def test_published_progress_never_goes_backwards(monkeypatch):
    from huey.contrib.djhuey import HUEY

    from contacts.importing import queued

    monkeypatch.setattr(queued, "PROGRESS_EVERY_SECONDS", 0)
    published = []
    monkeypatch.setattr(HUEY, "put", lambda key, value: published.append(value))
    progress = _BatchProgress(1)
    # A spreadsheet's stated size can be passed; a later, larger total would read as
    # a lower fraction.
    for done, total in [(10, 100), (50, 100), (60, 200), (150, 200), (100, 150), (200, 200)]:
        progress.rows(done, 0)
        progress(done, total)
    fractions = [done / total for done, total, _, _ in published]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [rows for _, _, rows, _ in published] == sorted(rows for _, _, rows, _ in published)


def test_a_confirmed_preview_starts_at_zero_and_moves_forward_to_done(
    organiser, cardiff, existing, messy, settings, tmp_path, monkeypatch
):
    from huey.contrib.djhuey import HUEY

    from contacts.importing import queued

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    stored = upload_store(source=messy, file_name=messy.name)
    batch = batch_queue(
        path=stored,
        file_name=messy.name,
        actor=organiser,
        options=ImportOptions(dry_run=True, columns=tuple(CHOSEN)),
    )
    queued.batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED

    seen = [import_progress(batch).percent]  # the preview itself is complete
    batch = batch_confirm(batch=batch, actor=organiser, districts={"cardif": cardiff.pk})
    waiting = import_progress(batch)
    assert waiting.state == "waiting" and waiting.percent == 0  # not the preview's 100%

    percents = []
    monkeypatch.setattr(queued, "PROGRESS_EVERY_SECONDS", 0)
    real_put = HUEY.put

    def put(key, value):
        real_put(key, value)
        running = ImportBatch.objects.get(pk=batch.pk)
        percents.append(import_progress(running).percent)

    monkeypatch.setattr(HUEY, "put", put)
    queued.batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    done = import_progress(batch)
    seen = [waiting.percent, *percents, done.percent]
    assert seen == sorted(seen) and done.percent == 100 and done.state == "done"
    assert batch.options["districts"] == {"cardif": cardiff.pk}
    assert not District.objects.filter(name__iexact="cardif").exists()


# --- the screens ----------------------------------------------------------------------


def _upload(client, path):
    with open(path, "rb") as handle:
        return client.post(
            reverse("import-list"),
            {"file": SimpleUploadedFile(path.name, handle.read())},
        )


def test_the_whole_import_flow_through_the_screens(
    client_for, organiser, cardiff, existing, messy, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    client = client_for(organiser)
    response = _upload(client, messy)
    assert response.status_code == 302 and "/import/columns/" in response["Location"]

    mapping = client.get(response["Location"])
    page = mapping.content.decode()
    assert EMAIL_HEADING in page and "Not recognised" in page and "sian.lj@example.org" in page
    token = mapping.context["token"]

    # Without an email column the screen says so, beside nothing but the form.
    fields = {f"col_{at}": value for at, value in enumerate(CHOSEN)}
    refused = client.post(reverse("import-map"), {**fields, "col_1": "", "token": token})
    assert refused.status_code == 400 and "Choose the column that holds Email" in (
        refused.content.decode()
    )
    preview_at = client.post(reverse("import-map"), {**fields, "token": token})
    preview = client.get(preview_at["Location"])
    text = preview.content.decode()
    assert "Nothing has been written yet" in text
    assert "Cardif" in text and "did you mean <strong>Cardiff</strong>" in text
    assert [o.count for o in preview.context["outcomes"]] == [4, 1, 0, 2, 1]

    remapped = client.post(
        reverse("import-preview"),
        {"token": preview.context["token"], "district:cardif": str(cardiff.pk)},
    )
    second = client.get(remapped["Location"])
    assert second.context["new_districts"] == [] and second.context["mapped"] == 1

    confirmed = client.post(reverse("import-confirm"), {"token": second.context["token"]})
    batch = ImportBatch.objects.get()
    assert confirmed["Location"] == reverse("import-detail", args=[batch.pk])
    result = client.get(confirmed["Location"]).content.decode()
    assert "Of 8 rows, 4 added as new supporters, 1 updated, 2 rejected" in result
    assert batch.sha256 not in result and "{&quot;" not in result
    assert not District.objects.filter(name__iexact="cardif").exists()

    download = client.get(reverse("import-rejected", args=[batch.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Problem" and len(rows) == 1 + KNOWN_OUTCOME["rejected"]

    history = client.get(reverse("import-list")).content.decode()
    assert "stall-signups.xlsx" in history and "organiser" in history

    undo_page = client.get(reverse("import-undo", args=[batch.pk])).content.decode()
    assert "Remove <strong>4</strong> supporters" in undo_page
    assert "Put back <strong>1</strong> supporter " in undo_page
    client.post(reverse("import-undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UNDONE
    assert Contact.objects.get(pk=existing.pk).first_name == "Old"


def test_an_unreadable_upload_is_refused_beside_the_file_field(client_for, organiser, tmp_path):
    bad = tmp_path / "notes.xlsx"
    bad.write_bytes(b"this is not a spreadsheet")
    response = _upload(client_for(organiser), bad)
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_the_progress_partial_is_served_to_htmx_while_a_batch_waits(
    client_for, organiser, messy, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    stored = upload_store(source=messy, file_name=messy.name)
    batch = batch_queue(path=stored, file_name=messy.name, actor=organiser, options=ImportOptions())
    response = client_for(organiser).get(
        reverse("import-detail", args=[batch.pk]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.startswith("{% comment %}") is False and 'id="import-status"' in body
    assert 'hx-trigger="every 1s"' in body and 'value="0"' in body and "<html" not in body


def test_a_big_file_is_previewed_in_the_background_and_its_places_mapped_on_confirm(
    client_for, organiser, cardiff, existing, messy, settings, tmp_path
):
    from contacts.importing.queued import batch_run

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.IMPORT_SYNC_MAX_BYTES = 0  # every file counts as big
    client = client_for(organiser)
    mapping = client.get(_upload(client, messy)["Location"])
    fields = {f"col_{at}": value for at, value in enumerate(CHOSEN)}
    preview_at = client.post(reverse("import-map"), {**fields, "token": mapping.context["token"]})
    queued_at = client.get(preview_at["Location"])
    batch = ImportBatch.objects.get()
    assert queued_at["Location"] == reverse("import-detail", args=[batch.pk])
    assert "Checking the file" in client.get(queued_at["Location"]).content.decode()

    batch_run(batch_id=batch.pk)
    page = client.get(queued_at["Location"])
    assert [d.name for d in page.context["new_districts"]] == ["Cardif"]
    assert "did you mean <strong>Cardiff</strong>" in page.content.decode()
    client.post(queued_at["Location"], {"district:cardif": str(cardiff.pk)})
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING and batch.progress_done == 0
    assert batch.options["districts"] == {"cardif": cardiff.pk}

    batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE and batch.counts["created"] == 4
    assert not District.objects.filter(name__iexact="cardif").exists()
    # A mapping onto a place not offered for it is refused, and nothing is queued.
    assert client.post(queued_at["Location"], {"district:cardif": "1"}).status_code == 404


def test_a_place_not_offered_is_refused_on_the_preview(
    client_for, organiser, cardiff, existing, messy, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    client = client_for(organiser)
    mapping = client.get(_upload(client, messy)["Location"])
    fields = {f"col_{at}": value for at, value in enumerate(CHOSEN)}
    preview = client.get(
        client.post(reverse("import-map"), {**fields, "token": mapping.context["token"]})[
            "Location"
        ]
    )
    refused = client.post(
        reverse("import-preview"),
        {"token": preview.context["token"], "district:cardif": "999999"},
    )
    assert refused.status_code == 400
    assert "can only be mapped onto an existing district" in refused.content.decode()


def test_a_running_batch_estimates_the_time_left_from_its_pace(organiser, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.importing import workspace

    batch = ImportBatch.objects.create(
        created_by=organiser,
        file_name="big.csv",
        sha256="0" * 64,
        status=ImportBatch.Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=60),
    )
    monkeypatch.setattr(workspace, "batch_progress_live", lambda b: (25, 100, 5000, 0))
    reading = import_progress(batch, now=batch.started_at.timestamp() + 60)
    assert (reading.state, reading.percent, reading.rows_read) == ("reading", 25, 5000)
    assert reading.seconds_left == 180 and reading.time_left == "about 3 minutes left"
    monkeypatch.setattr(workspace, "batch_progress_live", lambda b: (99, 100, 9000, 8900))
    writing = import_progress(batch, now=batch.started_at.timestamp() + 60)
    assert writing.state == "writing" and writing.time_left == "less than a minute left"
    # Never shown as complete while it still runs.
    monkeypatch.setattr(workspace, "batch_progress_live", lambda b: (100, 100, 9000, 9000))
    assert import_progress(batch).percent == 99
