"""The organiser's import screens: upload -> columns -> preview (with new places mapped
onto existing ones) -> confirm -> progress -> result, undo and the history.

Thin: every step runs the same pipeline as the command line and the admin
(contacts/importing/); what the steps carry between them (the stored upload, the
chosen columns and places) travels in a signed token, so nothing is written until the
organiser confirms."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from campaign.decorators import role_required
from campaign.roles import Role
from contacts.forms_import import AppImportUploadForm, ColumnMappingForm
from contacts.importing.admin_views import PROBLEMS_SHOWN, _rejected_download
from contacts.importing.errors import FileError
from contacts.importing.outcomes import (
    outcome_sentence,
    outcomes,
    places_sentence,
    rejection_lines,
)
from contacts.importing.pipeline import ImportOptions, supporters_import
from contacts.importing.queued import (
    batch_confirm,
    batch_queue,
    upload_import,
    upload_path,
    upload_store,
)
from contacts.importing.report import ImportReport
from contacts.importing.undo import import_batch_undo, import_batch_undo_plan
from contacts.importing.workspace import (
    column_mapping_save,
    import_progress,
    new_places,
    place_choices_clean,
    upload_inspect,
)
from contacts.models import ImportBatch

TOKEN_SALT = "contacts.import.app"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = 3600
REJECTED_SHOWN = 10
HISTORY_PAGE = 25

organiser_required = role_required(Role.ORGANISER)


def _token(data: dict) -> str:
    return signing.dumps(data, salt=TOKEN_SALT, compress=True)


def _token_data(request) -> dict:
    raw = request.POST.get("token") or request.GET.get("token", "")
    try:
        return signing.loads(raw, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise PermissionDenied("This import has expired; upload the file again.") from None


def _options(data: dict, *, dry_run: bool) -> ImportOptions:
    return ImportOptions.from_stored(data, dry_run=dry_run)


def _report_context(report: ImportReport, *, dry_run: bool) -> dict:
    return {
        "report": report,
        "outcomes": outcomes(report, dry_run=dry_run),
        "sentence": outcome_sentence(report, dry_run=dry_run),
        "rejections": rejection_lines(report),
        "places_sentence": places_sentence(report, dry_run=dry_run),
        "rejected_rows": report.rejected_rows[:REJECTED_SHOWN],
        "more_rejected": max(0, len(report.rejected_rows) - REJECTED_SHOWN),
        "warnings": [p for p in report.problems if p.code != "unknown_column"][:PROBLEMS_SHOWN],
    }


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    """The history of imports, and the upload that starts a new one."""
    posted = request.method == "POST"
    form = AppImportUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        stored = upload_store(source=upload, file_name=upload.name)
        try:
            upload_inspect(path=stored, file_name=upload.name)
        except FileError as exc:
            stored.unlink(missing_ok=True)
            form.add_error("file", str(exc))
        else:
            token = _token(
                {
                    "upload": stored.name,
                    "file_name": upload.name,
                    "consent_wording": form.cleaned_data["consent_wording"],
                    "consent_version": form.cleaned_data["consent_version"],
                }
            )
            return redirect(f"{reverse('import-map')}?token={token}")
    batches = ImportBatch.objects.visible_to(request.user).select_related("created_by")
    page = Paginator(batches, HISTORY_PAGE).get_page(request.GET.get("page"))
    for batch in page.object_list:
        counts = batch.counts or {}
        batch.rejected_count = sum(
            int(counts.get(f"rejected_{code}", 0)) for code in ImportReport.REJECTIONS
        )
    return render(
        request,
        "contacts/import_list.html",
        {"form": form, "page": page},
        status=400 if form.errors else 200,
    )


def _stored_upload(request, data: dict):
    try:
        return upload_path(data["upload"])
    except FileError as exc:
        messages.error(request, str(exc))
        return None


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def import_map(request):
    """Each column's heading, a few sample values and the field it goes into."""
    data = _token_data(request)
    stored = _stored_upload(request, data)
    if stored is None:
        return redirect("import-list")
    try:
        inspection = upload_inspect(path=stored, file_name=data["file_name"])
    except FileError as exc:
        messages.error(request, str(exc))
        return redirect("import-list")
    form = ColumnMappingForm(
        request.POST if request.method == "POST" else None, columns=inspection.columns
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.chosen()
        column_mapping_save(actor=request.user, headers=inspection.headers, fields=chosen)
        token = _token({**data, "columns": chosen, "districts": {}, "schools": {}})
        return redirect(f"{reverse('import-preview')}?token={token}")
    return render(
        request,
        "contacts/import_map.html",
        {
            "form": form,
            "inspection": inspection,
            "file_name": data["file_name"],
            "token": _token(data),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def import_preview(request):
    """The dry run: what importing would do, and every new district and school, each
    of which may be mapped onto an existing one before confirming."""
    data = _token_data(request)
    stored = _stored_upload(request, data)
    if stored is None:
        return redirect("import-list")
    if stored.stat().st_size > settings.IMPORT_SYNC_MAX_BYTES:
        # Too big to check inside a web request: the preview runs on the queue, and
        # its page shows the same preview (and the confirmation) when ready.
        batch = batch_queue(
            path=stored,
            file_name=data["file_name"],
            actor=request.user,
            options=_options(data, dry_run=True),
        )
        return redirect("import-detail", batch.pk)
    try:
        report = supporters_import(
            path=stored,
            file_name=data["file_name"],
            actor=request.user,
            options=_options(data, dry_run=True),
        )
    except FileError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('import-map')}?token={_token(data)}")
    districts, schools = new_places(report)
    error = ""
    if request.method == "POST":
        try:
            chosen_districts, chosen_schools = place_choices_clean(
                request.POST, districts=districts, schools=schools
            )
        except FileError as exc:
            error = str(exc)
        else:
            token = _token(
                {
                    **data,
                    "districts": {**data.get("districts", {}), **chosen_districts},
                    "schools": {**data.get("schools", {}), **chosen_schools},
                }
            )
            return redirect(f"{reverse('import-preview')}?token={token}")
    return render(
        request,
        "contacts/import_preview_app.html",
        {
            **_report_context(report, dry_run=True),
            "file_name": data["file_name"],
            "new_districts": districts,
            "new_schools": schools,
            "token": _token(data),
            "place_error": error,
            "mapped": len(data.get("districts", {})) + len(data.get("schools", {})),
        },
        status=400 if error else 200,
    )


@organiser_required
@require_POST
def import_confirm(request):
    """Import for real what was previewed, with the previewed columns and places."""
    data = _token_data(request)
    stored = _stored_upload(request, data)
    if stored is None:
        return redirect("import-list")
    try:
        started = upload_import(
            path=stored,
            file_name=data["file_name"],
            actor=request.user,
            options=_options(data, dry_run=False),
        )
    except FileError as exc:
        messages.error(request, str(exc))
        return redirect("import-list")
    return redirect("import-detail", started.batch_id)


def _batch(request, pk: int) -> ImportBatch:
    return get_object_or_404(
        ImportBatch.objects.visible_to(request.user).select_related("created_by"), pk=pk
    )


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def import_detail(request, pk: int):
    """One import: its progress while it runs (the partial is polled), then its result
    in words and numbers. A queued preview shows the preview and the confirmation."""
    batch = _batch(request, pk)
    report = ImportReport.from_stored(batch.report or {}, batch_id=batch.pk)
    context = {"batch": batch, "progress": import_progress(batch)}
    previewed = batch.status == ImportBatch.Status.PREVIEWED
    if previewed:
        districts, schools = new_places(report)
        context.update(new_districts=districts, new_schools=schools)
        if request.method == "POST":
            try:
                chosen_districts, chosen_schools = place_choices_clean(
                    request.POST, districts=districts, schools=schools
                )
                batch_confirm(
                    batch=batch,
                    actor=request.user,
                    districts={**batch.options.get("districts", {}), **chosen_districts},
                    schools={**batch.options.get("schools", {}), **chosen_schools},
                )
            except FileError as exc:
                messages.error(request, str(exc))
            return redirect("import-detail", batch.pk)
    elif request.method == "POST":
        raise Http404("Only a previewed import can be confirmed.")
    if batch.status in (
        ImportBatch.Status.DONE,
        ImportBatch.Status.UNDONE,
        ImportBatch.Status.PREVIEWED,
    ):
        context.update(_report_context(report, dry_run=previewed))
    if request.htmx:
        return render(request, "contacts/partials/import_status.html", context)
    return render(request, "contacts/import_detail.html", context)


@never_cache
@organiser_required
def import_rejected(request, pk: int, file_format: str):
    """The rejected rows as uploaded, with a Problem column, to fix and upload again."""
    batch = _batch(request, pk)
    if file_format not in {"csv", "xlsx"}:
        raise Http404("No such format.")
    report = ImportReport.from_stored(batch.report or {}, batch_id=batch.pk)
    return _rejected_download(request, report, batch.file_name, file_format, batch)


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def import_undo(request, pk: int):
    """Undo, after a page that says exactly what will be removed, restored and kept."""
    batch = _batch(request, pk)
    if request.method == "POST":
        try:
            counts = import_batch_undo(batch=batch, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Undone: removed {counts['contacts_removed']:,} supporters and restored "
                f"{counts['contacts_restored']:,}; kept {counts['contacts_kept']:,} added and "
                f"{counts['changes_kept']:,} changed supporters edited since the import.",
            )
        return redirect("import-detail", batch.pk)
    plan = import_batch_undo_plan(batch=batch) if batch.status == ImportBatch.Status.DONE else None
    return render(request, "contacts/import_undo_app.html", {"batch": batch, "plan": plan})
