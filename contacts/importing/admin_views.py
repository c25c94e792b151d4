"""Admin screens for imports: upload -> preview (a dry run) -> confirm, the batch page
(progress, report, rejected-rows download) and undo. Every step calls the same
pipeline as the command line, so the admin shows exactly the same counts."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from campaign.exports import export_response
from campaign.roles import can
from contacts.importing.errors import FileError
from contacts.importing.pipeline import ImportOptions, supporters_import
from contacts.importing.queued import (
    batch_confirm,
    batch_queue,
    upload_import,
    upload_path,
    upload_store,
)
from contacts.importing.report import ImportReport
from contacts.importing.undo import import_batch_undo
from contacts.models import ImportBatch

TOKEN_SALT = "contacts.import.preview"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = 3600
PROBLEMS_SHOWN = 500


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet",
        help_text="CSV, XLSX or ODS. Row 1 holds the column names; an Email and a "
        "Consent to email column are required.",
    )
    consent_wording = forms.CharField(
        label="Consent wording",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="The words these supporters agreed to. Blank uses the standard wording.",
    )
    consent_version = forms.CharField(label="Consent version", max_length=32, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; the limit is "
                f"{settings.IMPORT_MAX_BYTES / 1e6:.0f} MB. Split it into smaller files."
            )
        return upload


def _require_importer(request) -> None:
    if not can(request.user, "add", "contacts.importbatch"):
        raise PermissionDenied("Only organisers can import supporters.")


def _options(data: dict, *, dry_run: bool) -> ImportOptions:
    return ImportOptions(
        dry_run=dry_run,
        consent_wording=data.get("consent_wording", ""),
        consent_version=data.get("consent_version", ""),
    )


def _token_data(request) -> dict:
    try:
        return signing.loads(
            request.POST.get("token") or request.GET.get("token", ""),
            salt=TOKEN_SALT,
            max_age=TOKEN_MAX_AGE,
        )
    except signing.BadSignature:
        raise PermissionDenied("This preview has expired; upload the file again.") from None


class SupporterImportMixin:
    """Adds import (upload, preview, confirm) to the contact admin."""

    def get_urls(self):
        urls = super().get_urls()
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="contacts_contact_import"),
            path(
                "import/rejected.<str:file_format>",
                view(self.import_preview_rejected_view),
                name="contacts_contact_import_rejected",
            ),
            *urls,
        ]

    def has_import_permission(self, request) -> bool:
        return can(request.user, "add", "contacts.importbatch")

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": self.has_import_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import supporters",
            **extra,
        }

    def import_view(self, request):
        _require_importer(request)
        if request.method == "POST" and "token" in request.POST:
            return self._confirm(request)
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            stored = upload_store(source=upload, file_name=upload.name)
            if upload.size > settings.IMPORT_SYNC_MAX_BYTES:
                # Too big to check inside a web request: the preview runs on the queue
                # and its page offers the confirmation.
                batch = batch_queue(
                    path=stored,
                    file_name=upload.name,
                    actor=request.user,
                    options=_options(form.cleaned_data, dry_run=True),
                )
                messages.info(
                    request,
                    "The file is being checked in the background; this page shows the "
                    "preview when it is ready. Nothing is written until you confirm.",
                )
                return redirect("admin:contacts_importbatch_change", batch.pk)
            try:
                report = supporters_import(
                    path=stored,
                    file_name=upload.name,
                    actor=request.user,
                    options=_options(form.cleaned_data, dry_run=True),
                )
            except FileError as exc:
                stored.unlink(missing_ok=True)
                form.add_error("file", str(exc))
            else:
                token = signing.dumps(
                    {
                        "upload": stored.name,
                        "file_name": upload.name,
                        "sha256": report.sha256,
                        "consent_wording": form.cleaned_data["consent_wording"],
                        "consent_version": form.cleaned_data["consent_version"],
                    },
                    salt=TOKEN_SALT,
                )
                return TemplateResponse(
                    request,
                    "contacts/import_preview.html",
                    self._context(
                        request,
                        title=f"Preview: {upload.name}",
                        report=report,
                        problems=report.problems[:PROBLEMS_SHOWN],
                        more_problems=max(0, len(report.problems) - PROBLEMS_SHOWN),
                        token=token,
                        queued=stored.stat().st_size > settings.IMPORT_SYNC_MAX_BYTES,
                    ),
                )
        return TemplateResponse(
            request, "contacts/import_upload.html", self._context(request, form=form)
        )

    def _confirm(self, request):
        data = _token_data(request)
        try:
            stored = upload_path(data["upload"])
        except FileError as exc:
            messages.error(request, str(exc))
            return redirect("admin:contacts_contact_import")
        try:
            started = upload_import(
                path=stored,
                file_name=data["file_name"],
                actor=request.user,
                options=_options(data, dry_run=False),
            )
        except FileError as exc:
            messages.error(request, str(exc))
            return redirect("admin:contacts_contact_import")
        if started.queued:
            messages.info(request, "The import is queued; this page shows its progress.")
            return redirect("admin:contacts_importbatch_change", started.batch_id)
        report = started.report
        messages.success(
            request,
            f"Imported {data['file_name']}: {report.created} created, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.rejected_total} rejected.",
        )
        return redirect("admin:contacts_importbatch_change", report.batch_id)

    def import_preview_rejected_view(self, request, file_format: str):
        """The rejected rows of a previewed (not yet imported) file."""
        _require_importer(request)
        if file_format not in {"csv", "xlsx"}:
            raise Http404
        data = _token_data(request)
        try:
            report = supporters_import(
                path=upload_path(data["upload"]),
                file_name=data["file_name"],
                actor=request.user,
                options=_options(data, dry_run=True),
            )
        except FileError as exc:
            messages.error(request, str(exc))
            return redirect("admin:contacts_contact_import")
        return _rejected_download(request, report, data["file_name"], file_format, None)


def _rejected_download(request, report: ImportReport, file_name: str, file_format, target):
    headers, rows = report.rejected_table()
    return export_response(
        actor=request.user,
        what="rejected import rows",
        headers=headers,
        rows=rows,
        file_name=f"{Path(file_name).stem}-rejected",
        file_format=file_format,
        target=target,
    )


class ImportBatchViewsMixin:
    """The batch page's extra views: rejected-rows download and undo."""

    def get_urls(self):
        urls = super().get_urls()
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/rejected.<str:file_format>",
                view(self.rejected_view),
                name="contacts_importbatch_rejected",
            ),
            path("<int:pk>/undo/", view(self.undo_view), name="contacts_importbatch_undo"),
            path(
                "<int:pk>/confirm/",
                view(self.confirm_view),
                name="contacts_importbatch_confirm",
            ),
            *urls,
        ]

    def _batch(self, request, pk: int) -> ImportBatch:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def rejected_view(self, request, pk: int, file_format: str):
        batch = self._batch(request, pk)
        if file_format not in {"csv", "xlsx"}:
            raise Http404
        report = ImportReport.from_stored(batch.report, batch_id=batch.pk)
        return _rejected_download(request, report, batch.file_name, file_format, batch)

    def confirm_view(self, request, pk: int):
        """Confirm a queued preview: the same file is imported for real."""
        batch = self._batch(request, pk)
        _require_importer(request)
        if request.method != "POST":
            return TemplateResponse(
                request,
                "contacts/import_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": f"Import {batch.file_name}",
                    "batch": batch,
                    "report": ImportReport.from_stored(batch.report, batch_id=batch.pk),
                    "change_url": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
                },
            )
        try:
            batch_confirm(batch=batch, actor=request.user)
        except FileError as exc:
            messages.error(request, str(exc))
        else:
            messages.info(request, "The import is queued; this page shows its progress.")
        return redirect("admin:contacts_importbatch_change", batch.pk)

    def undo_view(self, request, pk: int):
        batch = self._batch(request, pk)
        _require_importer(request)
        if request.method == "POST":
            try:
                counts = import_batch_undo(batch=batch, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    f"Undone: removed {counts['contacts_removed']} contacts and restored "
                    f"{counts['contacts_restored']}; kept {counts['contacts_kept']} created "
                    f"and {counts['changes_kept']} changed contacts edited since the import.",
                )
            return redirect("admin:contacts_importbatch_change", batch.pk)
        return TemplateResponse(
            request,
            "contacts/import_undo.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Undo import {batch}",
                "batch": batch,
                "original": batch,
                "change_url": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
            },
        )
