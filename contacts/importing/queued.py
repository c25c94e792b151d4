"""Imports that run on the task queue: the upload waits on disk, the batch shows progress.

The import itself is one transaction, so progress cannot be written through it (nobody
would see it until the end). On PostgreSQL a second, autocommit connection writes the
batch's progress columns while the import runs; SQLite allows one writer at a time, so
there the batch shows its progress only when it finishes.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from campaign.roles import can
from contacts.importing.errors import FileError
from contacts.importing.pipeline import ImportOptions, supporters_import
from contacts.importing.report import ImportReport
from contacts.models import ImportBatch

PROGRESS_EVERY_SECONDS = 1.0


def upload_store(*, source, file_name: str) -> Path:
    """Copy an uploaded file to the upload directory; returns where it now lives."""
    directory = Path(settings.IMPORT_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{uuid.uuid4().hex}{Path(file_name).suffix.lower()[:8]}"
    with open(target, "wb") as out:
        if hasattr(source, "chunks"):
            for block in source.chunks():
                out.write(block)
        else:
            with open(source, "rb") as handle:
                shutil.copyfileobj(handle, out)
    return target


def upload_path(name: str) -> Path:
    """The stored upload called ``name``; refuses anything outside the upload directory."""
    directory = Path(settings.IMPORT_UPLOAD_DIR).resolve()
    path = (directory / Path(name).name).resolve()
    if path.parent != directory or not path.is_file():
        raise FileError("The uploaded file is no longer available; upload it again.")
    return path


def uploads_prune(*, older_than_seconds: float = 3600.0) -> int:
    """Delete stored uploads nobody confirmed (previews abandoned): they hold personal
    data. Files waiting for a queued batch are kept. Returns how many were deleted."""
    directory = Path(settings.IMPORT_UPLOAD_DIR)
    if not directory.is_dir():
        return 0
    waiting = set(
        ImportBatch.objects.filter(
            status__in=[ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING]
        ).values_list("upload_path", flat=True)
    )
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in directory.iterdir():
        if path.is_file() and path.name not in waiting and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@transaction.atomic
def batch_queue(*, path: Path, file_name: str, actor, options: ImportOptions) -> ImportBatch:
    """Record a pending import (or, with ``options.dry_run``, a preview) of a stored
    upload and enqueue it once committed."""
    from contacts.tasks import import_batch_run

    batch = ImportBatch.objects.create(
        created_by=actor,
        file_name=file_name[:255],
        sha256=file_sha256(path),
        options=options.stored(),
        status=ImportBatch.Status.PENDING,
        upload_path=path.name,
    )
    transaction.on_commit(lambda: import_batch_run(batch.pk))
    return batch


@dataclass(frozen=True)
class ImportStarted:
    """What ``upload_import`` did: ran the import here (``report``) or queued it."""

    batch_id: int
    report: ImportReport | None

    @property
    def queued(self) -> bool:
        return self.report is None


def upload_import(*, path: Path, file_name: str, actor, options: ImportOptions) -> ImportStarted:
    """Import a stored upload for real: within the request when the file is small, on
    the queue when it is larger than IMPORT_SYNC_MAX_BYTES (so no request outlives its
    worker's timeout). A file imported here is removed once read; a queued one stays
    until its run. The app's and the admin's confirm both come through here."""
    if path.stat().st_size > settings.IMPORT_SYNC_MAX_BYTES:
        batch = batch_queue(path=path, file_name=file_name, actor=actor, options=options)
        return ImportStarted(batch_id=batch.pk, report=None)
    try:
        report = supporters_import(path=path, file_name=file_name, actor=actor, options=options)
    finally:
        path.unlink(missing_ok=True)
    return ImportStarted(batch_id=report.batch_id, report=report)


@transaction.atomic
def batch_confirm(
    *,
    batch: ImportBatch,
    actor,
    districts: dict[str, int] | None = None,
    schools: dict[str, int] | None = None,
) -> ImportBatch:
    """Turn a previewed batch into the real import of the same, unchanged file.

    ``districts`` and ``schools`` replace the place mapping the preview ran with
    (see ImportOptions); None keeps it."""
    from contacts.tasks import import_batch_run

    if not can(actor, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can import supporters.")
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportBatch.Status.PREVIEWED:
        raise FileError("Only a previewed import can be confirmed.")
    path = upload_path(batch.upload_path)
    if file_sha256(path) != batch.sha256:
        raise FileError("The uploaded file changed since the preview; upload it again.")
    batch.status = ImportBatch.Status.PENDING
    batch.options = {**batch.options, "dry_run": False}
    if districts is not None:
        batch.options["districts"] = dict(districts)
    if schools is not None:
        batch.options["schools"] = dict(schools)
    batch.created_by = actor
    # The preview's "1 of 1" must not show as the real import's progress: it starts at 0.
    batch.progress_done = batch.progress_total = 0
    batch.save(update_fields=["status", "options", "created_by", "progress_done", "progress_total"])
    transaction.on_commit(lambda: import_batch_run(batch.pk))
    return batch


def _progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


class _BatchProgress:
    """Publishes a running batch's progress outside the import's transaction.

    The import holds its database transaction (on SQLite, the only write lock) until
    the end, so progress goes to the queue's own key-value store instead: Redis in
    production, a separate SQLite file in the embedded default. The batch row gets
    the final figures when the import commits.
    """

    def __init__(self, batch_id: int) -> None:
        self.key = _progress_key(batch_id)
        self.last = 0.0
        self.fraction = 0.0
        self.done = self.total = 0
        self.rows_read = self.rows_written = 0

    def __call__(self, done: int, total: int) -> None:
        # A reader's total is an estimate (a spreadsheet's stated size) that can be
        # passed; what is published never goes backwards.
        if total > 0:
            fraction = min(1.0, done / total)
            if fraction >= self.fraction:
                self.fraction, self.done, self.total = fraction, done, total
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        self.publish()

    def rows(self, rows_read: int, rows_written: int) -> None:
        self.rows_read = max(self.rows_read, rows_read)
        self.rows_written = max(self.rows_written, rows_written)

    def publish(self) -> None:
        HUEY.put(self.key, (self.done, self.total, self.rows_read, self.rows_written))

    def close(self) -> None:
        HUEY.delete(self.key)


def batch_progress_live(batch: ImportBatch) -> tuple[int, int, int, int] | None:
    """(done, total, rows read, rows written) published by a running batch, if any."""
    if batch.status != ImportBatch.Status.RUNNING:
        return None
    live = HUEY.get(_progress_key(batch.pk), peek=True)
    if live is None:
        return None
    done, total, *rows = live
    return done, total, *(list(rows) + [0, 0])[:2]


def batch_progress(batch: ImportBatch) -> tuple[int, int]:
    """(done, total) of a batch: live while it runs, else as recorded on the batch."""
    live = batch_progress_live(batch)
    if live is not None:
        return live[0], live[1]
    if batch.status == ImportBatch.Status.PENDING:
        return 0, 0
    return batch.progress_done, batch.progress_total


def batch_run(*, batch_id: int, may_retry: bool = False) -> ImportReport | None:
    """Run a queued import. A file-level error or a crash marks the batch failed with
    the reason, with nothing of the import written, and deletes the upload. A lost
    database connection, when ``may_retry``, puts the batch back to pending (keeping
    the upload) and re-raises so the queue tries again."""
    updated = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
        status=ImportBatch.Status.RUNNING, started_at=timezone.now()
    )
    if not updated:
        return None  # already run, or undone: running twice must not import twice
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    path = Path(settings.IMPORT_UPLOAD_DIR) / batch.upload_path
    progress = _BatchProgress(batch.pk)
    dry_run = bool(batch.options.get("dry_run"))
    options = ImportOptions.from_stored(batch.options, dry_run=dry_run)
    try:
        report = supporters_import(
            path=path,
            file_name=batch.file_name,
            actor=batch.created_by,
            options=options,
            batch=batch,
            progress=progress,
            rows_progress=progress.rows,
        )
    except (FileError, PermissionDenied) as exc:
        _fail(batch_id, str(exc))
        path.unlink(missing_ok=True)
        return None
    except (OperationalError, InterfaceError):
        if may_retry:
            ImportBatch.objects.filter(pk=batch_id).update(status=ImportBatch.Status.PENDING)
            raise
        _fail(batch_id, "The database could not be reached; nothing was imported.")
        path.unlink(missing_ok=True)
        raise
    except Exception as exc:
        _fail(
            batch_id,
            f"The import stopped unexpectedly ({type(exc).__name__}); nothing was "
            "imported. Try again, or tell the team if it keeps happening.",
        )
        path.unlink(missing_ok=True)
        raise
    finally:
        progress.close()
    if dry_run:
        # The dry run rolled its own writes back, the batch's included: record the
        # preview now, and keep the upload for the confirmation.
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.PREVIEWED,
            counts=report.counts(),
            report=report.stored(),
            finished_at=timezone.now(),
            progress_done=1,
            progress_total=1,
        )
        return report
    path.unlink(missing_ok=True)
    return report


def _fail(batch_id: int, reason: str) -> None:
    ImportBatch.objects.filter(pk=batch_id).update(
        status=ImportBatch.Status.FAILED,
        error=reason,
        finished_at=timezone.now(),
        upload_path="",
    )
