from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ExportMixin
from import_export.formats.base_formats import BINARY_FORMATS, CSV, ODS, XLSX

from campaign.admin_scoping import ScopedModelAdmin, ScopedTabularInline, VisibleRelatedFilter
from campaign.exports import dataset_export, export_allowed
from campaign.roles import can
from contacts.forms import ContactForm, SuppressionForm
from contacts.importing import ImportReport
from contacts.importing.admin_views import (
    PROBLEMS_SHOWN,
    ImportBatchViewsMixin,
    SupporterImportMixin,
)
from contacts.importing.queued import batch_progress
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    EmailChange,
    GotvEvent,
    ImportBatch,
    School,
    Suppression,
    Tag,
)
from contacts.resources import ContactResource
from contacts.services import (
    consent_withdraw,
    contact_save,
    gotv_set,
    school_save,
    suppression_add,
)
from contacts.services.email_change import (
    PENDING_MESSAGE,
    email_change_apply,
    email_change_holder,
    email_change_reject,
    email_change_request,
)
from contacts.services.erasure import contact_erase, erasure_allowed
from contacts.services.subject_access import subject_access_allowed, subject_access_export


@admin.register(District)
class DistrictAdmin(ScopedModelAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    search_fields = ["name", "region"]


@admin.register(School)
class SchoolAdmin(ScopedModelAdmin):
    list_display = ["name", "urn", "district"]
    list_filter = [("district", VisibleRelatedFilter)]
    search_fields = ["name", "urn"]
    list_select_related = ["district"]
    autocomplete_fields = ["district"]

    def save_model(self, request, obj, form, change):
        school_save(school=obj)


@admin.register(Tag)
class TagAdmin(ScopedModelAdmin):
    search_fields = ["name"]


class ConsentInline(ScopedTabularInline):
    """Consent is evidence: records are added, never edited; withdrawal is an action."""

    model = ConsentRecord
    extra = 0
    fields = ["given_at", "method", "source", "wording", "version", "withdrawn_at", "withdrawn_how"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["withdrawn_at", "withdrawn_how"]


class MailableFilter(admin.SimpleListFilter):
    title = "email consent"
    parameter_name = "mailable"

    def lookups(self, request, model_admin):
        return [("yes", "Current consent"), ("no", "No current consent")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(has_consent=True)
        if self.value() == "no":
            return queryset.filter(has_consent=False)
        return queryset


@admin.register(Contact)
class ContactAdmin(SupporterImportMixin, ExportMixin, ScopedModelAdmin):
    """Import runs Turnout's own pipeline (upload, preview, confirm); export is
    django-import-export's, neutralised and audited through campaign/exports.py."""

    form = ContactForm
    resource_classes = [ContactResource]
    formats = [CSV, XLSX, ODS]
    import_export_change_list_template = "contacts/import_change_list.html"
    list_display = [
        "full_name",
        "email",
        "school",
        "district",
        "role",
        "gotv_status",
        "mailable",
    ]
    list_filter = [
        MailableFilter,
        "role",
        "gotv_status",
        ("district", VisibleRelatedFilter),
        "tags",
    ]
    search_fields = ["first_name", "last_name", "email", "school__name", "=school__urn"]
    list_select_related = ["school", "district"]
    autocomplete_fields = ["school", "district"]
    filter_horizontal = ["tags"]
    readonly_fields = ["pending_address", "source_import", "created_at", "updated_at"]
    inlines = [ConsentInline]
    actions = ["withdraw_consent", "subject_access_json", "subject_access_pdf"]
    list_per_page = 50

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user  # a new class per request: whose edit this is
        return form

    def get_queryset(self, request):
        from contacts.models import ConsentRecord as Consent

        current = Consent.objects.filter(
            contact=OuterRef("pk"),
            channel=Consent.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=timezone.now(),
        )
        return super().get_queryset(request).annotate(has_consent=Exists(current))

    @admin.display(description="New address waiting for an organiser")
    def pending_address(self, obj: Contact) -> str:
        change = obj.email_changes.filter(status=EmailChange.Status.PENDING).first()
        return change.new_email if change else "—"

    @admin.display(description="Mailable", boolean=True, ordering="has_consent")
    def mailable(self, obj: Contact) -> bool:
        return obj.has_consent

    def save_model(self, request, obj, form, change):
        # A GOTV change goes through gotv_set, so it has its history and ballot rules.
        wanted = obj.gotv_status
        obj.gotv_status = form.initial.get("gotv_status", Contact.Gotv.UNKNOWN)
        contact_save(contact=obj)
        if wanted != obj.gotv_status:
            gotv_set(contact=obj, status=wanted, method=GotvEvent.Method.ADMIN, actor=request.user)
        pending = getattr(form, "pending_email", None)
        if pending:
            email_change_request(contact=obj, email=pending, actor=request.user)
            self.message_user(request, PENDING_MESSAGE, messages.INFO)

    # Deleting a supporter is erasure (contacts/services/erasure.py): organisers only,
    # and what stays (suppression, anonymous drive counts, audit) is never listed as
    # "related objects to delete".
    def has_delete_permission(self, request, obj=None):
        return erasure_allowed(request.user) and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        summary = [
            f"{obj}: personal data erased; the address is kept only as a keyed hash so it "
            "is never emailed or imported again"
            for obj in objs
        ]
        return summary, {"supporters": len(summary)}, set(), []

    def delete_model(self, request, obj):
        contact_erase(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for contact in queryset:
            contact_erase(contact=contact, actor=request.user)

    def has_subject_access_permission(self, request) -> bool:
        return subject_access_allowed(request.user)

    def _subject_access(self, request, queryset, fmt: str):
        if queryset.count() != 1:
            self.message_user(
                request, "Choose exactly one supporter for a subject access copy.", messages.ERROR
            )
            return None
        contact = queryset.get()
        body = subject_access_export(actor=request.user, contact=contact, fmt=fmt)
        response = HttpResponse(
            body, content_type="application/pdf" if fmt == "pdf" else "application/json"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="subject-access-{contact.pk}.{fmt}"'
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Subject access copy (JSON)", permissions=["subject_access"])
    def subject_access_json(self, request, queryset):
        return self._subject_access(request, queryset, "json")

    @admin.action(description="Subject access copy (PDF)", permissions=["subject_access"])
    def subject_access_pdf(self, request, queryset):
        return self._subject_access(request, queryset, "pdf")

    def has_export_permission(self, request):
        return export_allowed(request.user)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        if not self.has_export_permission(request):
            raise PermissionDenied
        dataset = self.get_data_for_export(
            request,
            queryset,
            force_native_type=type(file_format) in BINARY_FORMATS,
            **kwargs,
        )
        return dataset_export(
            dataset=dataset,
            file_format=file_format,
            actor=request.user,
            what="contacts",
            encoding=kwargs.get("encoding"),
        )

    def has_withdraw_permission(self, request) -> bool:
        return can(request.user, "change", "contacts.consentrecord")

    @admin.action(
        description="Withdraw email consent (the supporter asked)", permissions=["withdraw"]
    )
    def withdraw_consent(self, request, queryset):
        count = consent_withdraw(
            contacts=queryset, how=ConsentRecord.WithdrawnHow.REQUEST, actor=request.user
        )
        self.message_user(request, f"Withdrew {count} consent record(s).", messages.SUCCESS)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ScopedModelAdmin):
    list_display = ["contact", "channel", "given_at", "method", "source", "withdrawn_at"]
    list_filter = ["method", "withdrawn_how", ("given_at", admin.DateFieldListFilter)]
    search_fields = ["contact__email", "contact__last_name", "source"]
    list_select_related = ["contact"]
    autocomplete_fields = ["contact"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(ImportBatchViewsMixin, ScopedModelAdmin):
    list_display = ["file_name", "created_by", "created_at", "status", "progress", "summary"]
    list_filter = ["status"]
    fields = [
        "file_name",
        "created_by",
        "created_at",
        "status",
        "sha256",
        "options",
        "counts",
        "started_at",
        "finished_at",
        "undone_at",
        "error",
    ]
    readonly_fields = fields
    change_form_template = "contacts/import_batch_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Progress")
    def progress(self, obj: ImportBatch) -> str:
        if obj.status in {ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING}:
            return f"{_percent(obj)}%"
        return obj.get_status_display()

    @admin.display(description="Result")
    def summary(self, obj: ImportBatch) -> str:
        counts = obj.counts or {}
        if not counts:
            return "—"
        rejected = sum(counts.get(f"rejected_{c}", 0) for c in ImportReport.REJECTIONS)
        return (
            f"{counts.get('created', 0)} new, {counts.get('updated', 0)} updated, "
            f"{rejected} rejected"
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_queryset(request).filter(pk=object_id).first()
        extra_context = dict(extra_context or {})
        if batch is not None:
            extra_context["progress_percent"] = _percent(batch)
            if batch.report:
                report = ImportReport.from_stored(batch.report, batch_id=batch.pk)
                extra_context["report"] = report
                extra_context["problems"] = report.problems[:PROBLEMS_SHOWN]
                extra_context["more_problems"] = max(0, len(report.problems) - PROBLEMS_SHOWN)
        return super().change_view(request, object_id, form_url, extra_context)


def _percent(batch: ImportBatch) -> int:
    done, total = batch_progress(batch)
    if not total:
        return 0
    return min(100, int(100 * done / total))


@admin.register(Suppression)
class SuppressionAdmin(ScopedModelAdmin):
    """Organisers may add an address by hand; nothing here is ever lifted or edited."""

    list_display = ["created_at", "reason", "source"]
    list_filter = ["reason", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["source"]
    fields = ["email", "reason", "source"]
    form = SuppressionForm

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ["address_hash", "reason", "source", "created_at"] if obj else self.fields

    def get_readonly_fields(self, request, obj=None):
        return ["address_hash", "reason", "source", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        saved = suppression_add(
            email=form.cleaned_data["email"],
            reason=form.cleaned_data["reason"],
            source=form.cleaned_data["source"] or f"added by {request.user.get_username()}",
        )
        obj.pk = saved.pk


@admin.register(EmailChange)
class EmailChangeAdmin(ScopedModelAdmin):
    """Address changes district leads made, waiting for an organiser (organisers only:
    no other role has any permission on this model)."""

    list_display = ["requested_at", "supporter", "new_email", "requested_by", "status", "clash"]
    list_filter = ["status"]
    list_select_related = ["contact", "requested_by"]
    search_fields = ["new_email", "contact__email", "contact__last_name"]
    actions = ["apply_changes", "reject_changes"]
    readonly_fields = [
        "contact",
        "new_email",
        "requested_by",
        "requested_at",
        "status",
        "resolved_by",
        "resolved_at",
        "note",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if subject_access_allowed(request.user) else queryset.none()

    @admin.display(description="Supporter")
    def supporter(self, obj: EmailChange):
        return format_html(
            '<a href="../contact/{}/change/">{} ({})</a>',
            obj.contact_id,
            obj.contact.full_name,
            obj.contact.email,
        )

    @admin.display(description="Address already held by")
    def clash(self, obj: EmailChange):
        if obj.status != EmailChange.Status.PENDING:
            return "—"
        holder = email_change_holder(change=obj)
        if holder is None:
            return "nobody"
        return format_html(
            '<a href="../contact/{}/change/">{} ({})</a>',
            holder.pk,
            holder.full_name,
            holder.district or "no district",
        )

    @admin.action(description="Apply the new address")
    def apply_changes(self, request, queryset):
        applied, problems = 0, []
        for change in queryset.filter(status=EmailChange.Status.PENDING):
            try:
                email_change_apply(change=change, actor=request.user)
                applied += 1
            except ValidationError as exc:
                problems.append(f"{change.new_email}: {' '.join(exc.messages)}")
        if applied:
            self.message_user(request, f"Applied {applied} change(s) of address.", messages.SUCCESS)
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)

    @admin.action(description="Reject (keep the current address)")
    def reject_changes(self, request, queryset):
        rejected = 0
        for change in queryset.filter(status=EmailChange.Status.PENDING):
            email_change_reject(change=change, actor=request.user)
            rejected += 1
        self.message_user(request, f"Rejected {rejected} change(s) of address.", messages.SUCCESS)
