"""Undoing an import, and running one on the queue."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaign.models import AuditEvent
from contacts.importing import ImportOptions, supporters_import
from contacts.importing.queued import batch_queue, batch_run, upload_store
from contacts.importing.undo import import_batch_undo
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    GotvEvent,
    ImportBatch,
    School,
    Suppression,
)
from contacts.services import consent_withdraw, gotv_set, suppression_add
from tests.contacts.test_import_pipeline import FIXTURES, snapshot


@pytest.fixture
def world(organiser, contact_a, contact_b, unconsented_contact_a):
    suppression_add(email="gone@example.org", reason=Suppression.Reason.UNSUBSCRIBED)
    consent_withdraw(contacts=[contact_b], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK)
    return organiser


def run(name, actor):
    return supporters_import(path=FIXTURES / name, file_name=name, actor=actor)


def test_undo_restores_the_state_before_the_import(world):
    before = snapshot()
    report = run("supporters.xlsx", world)
    assert snapshot() != before

    counts = import_batch_undo(batch=ImportBatch.objects.get(pk=report.batch_id), actor=world)

    assert snapshot() == before
    assert counts == {
        "contacts_removed": 9,
        "contacts_kept": 0,
        "contacts_restored": 2,
        "changes_kept": 0,
        "schools_removed": 1,
        "districts_removed": 1,
    }
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.status == ImportBatch.Status.UNDONE and batch.undone_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT_UNDO)
    assert event.actor == world and event.counts["contacts_removed"] == 9


def test_undo_keeps_contacts_touched_since_the_import(world):
    report = run("supporters.csv", world)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    edited = Contact.objects.get(email="ada@example.org")
    edited.notes = "Phoned her after the import"
    edited.save()
    voted = Contact.objects.get(email="wang.wei@example.org")
    gotv_set(contact=voted, status=Contact.Gotv.VOTED, method=GotvEvent.Method.CANVASS)
    unsubscribed = Contact.objects.get(email="pat@example.org")
    consent_withdraw(contacts=[unsubscribed], how=ConsentRecord.WithdrawnHow.UNSUBSCRIBE_LINK)
    sian = Contact.objects.get(email="sian.oneill@example.org")
    sian.first_name = "Sian"
    sian.save()

    counts = import_batch_undo(batch=batch, actor=world)

    assert counts["contacts_removed"] == 6
    assert counts["contacts_kept"] == 3
    assert counts["contacts_restored"] == 1 and counts["changes_kept"] == 1
    assert (
        Contact.objects.filter(
            email__in=["ada@example.org", "wang.wei@example.org", "pat@example.org"]
        ).count()
        == 3
    )
    sian.refresh_from_db()
    assert (sian.first_name, sian.mobile) == ("Sian", "+447700900002")
    # The unsubscribed contact's school stays because the contact still uses it.
    assert School.objects.filter(name="Cedar Community College").exists()
    assert District.objects.filter(name="District C").exists()
    # Consent added to a contact who had none is taken back out.
    assert not Contact.objects.get(email="aoife@example.org").consents.exists()


def test_an_import_can_be_undone_only_once(world):
    report = run("supporters.csv", world)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    import_batch_undo(batch=batch, actor=world)

    with pytest.raises(ValidationError):
        import_batch_undo(batch=batch, actor=world)


def test_a_queued_import_runs_from_its_stored_upload_and_records_progress(
    world, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    path = upload_store(source=FIXTURES / "supporters.ods", file_name="supporters.ods")
    batch = batch_queue(
        path=path,
        file_name="supporters.ods",
        actor=world,
        options=ImportOptions(consent_version="queued-v2"),
    )
    assert batch.status == ImportBatch.Status.PENDING

    report = batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts["created"] == report.created == 9
    assert batch.progress_total > 0 and batch.progress_done == batch.progress_total
    assert batch.report["problems"][1]["code"] == "invalid_email"
    assert Contact.objects.get(email="ada@example.org").source_import == batch
    assert ConsentRecord.objects.filter(version="queued-v2").count() == 10  # 9 new + aoife
    assert not path.exists()
    # Running the same batch again (a duplicate delivery) imports nothing twice.
    assert batch_run(batch_id=batch.pk) is None


def test_a_queued_import_with_a_file_error_is_marked_failed_with_the_reason(
    organiser, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    source = tmp_path / "bad.csv"
    source.write_text("Name,Phone\nAda,07700900001\n")
    path = upload_store(source=source, file_name="bad.csv")
    batch = batch_queue(path=path, file_name="bad.csv", actor=organiser, options=ImportOptions())

    batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "Email" in batch.error and "nothing was imported" in batch.error
    assert not Contact.objects.exists()
    assert not path.exists()


def test_a_crash_in_a_queued_import_fails_the_batch_and_writes_nothing(
    world, settings, tmp_path, monkeypatch
):
    from contacts.importing import pipeline

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    path = upload_store(source=FIXTURES / "supporters.csv", file_name="supporters.csv")
    batch = batch_queue(path=path, file_name="supporters.csv", actor=world, options=ImportOptions())
    before = snapshot()

    def boom(self, rows, existing):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline._Importer, "_write", boom)
    with pytest.raises(RuntimeError):
        batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED and "nothing was imported" in batch.error
    assert snapshot() == before


def test_the_upload_directory_cannot_be_escaped(settings, tmp_path):
    from contacts.importing import FileError
    from contacts.importing.queued import upload_path

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    (tmp_path / "uploads").mkdir()
    (tmp_path / "secret.csv").write_text("x")

    with pytest.raises(FileError):
        upload_path("../secret.csv")


def test_a_batch_records_when_it_started_and_finished(world):
    report = run("supporters.csv", world)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert batch.started_at <= batch.finished_at <= timezone.now()


def test_abandoned_uploads_are_pruned_but_queued_ones_kept(organiser, settings, tmp_path):
    import os
    import time

    from contacts.importing.queued import uploads_prune

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    abandoned = upload_store(source=FIXTURES / "latin.csv", file_name="latin.csv")
    queued = upload_store(source=FIXTURES / "latin.csv", file_name="latin.csv")
    fresh = upload_store(source=FIXTURES / "latin.csv", file_name="latin.csv")
    batch_queue(path=queued, file_name="latin.csv", actor=organiser, options=ImportOptions())
    old = time.time() - 3 * 3600
    os.utime(abandoned, (old, old))
    os.utime(queued, (old, old))

    assert uploads_prune(older_than_seconds=3600) == 1

    assert not abandoned.exists() and queued.exists() and fresh.exists()


def test_a_running_import_publishes_progress_outside_its_transaction(
    world, settings, tmp_path, monkeypatch, client_for
):
    from huey.contrib.djhuey import HUEY

    from contacts.importing import queued

    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    path = upload_store(source=FIXTURES / "supporters.csv", file_name="supporters.csv")
    batch = batch_queue(path=path, file_name="supporters.csv", actor=world, options=ImportOptions())
    published = []
    monkeypatch.setattr(queued, "PROGRESS_EVERY_SECONDS", 0)
    real_put = HUEY.put
    monkeypatch.setattr(
        HUEY, "put", lambda key, value: (published.append((key, value)), real_put(key, value))
    )

    batch_run(batch_id=batch.pk)

    # Published while the import's transaction was still open, then cleared.
    assert published and all(key == f"import-progress:{batch.pk}" for key, _ in published)
    done, total, _read, _written = published[-1][1]
    assert 0 < done <= total
    assert HUEY.get(f"import-progress:{batch.pk}", peek=True) is None

    # A running batch's page shows the live figure rather than the row's.
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, progress_done=0, progress_total=0
    )
    queued._BatchProgress(batch.pk)(3, 4)
    page = client_for(world).get(reverse("admin:contacts_importbatch_change", args=[batch.pk]))
    assert "75% read" in page.content.decode()
    HUEY.delete(f"import-progress:{batch.pk}")
