from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from campaign.admin_scoping import ScopedModelAdmin
from contacts.models import Contact
from mailings.models import Mailing, Recipient
from mailings.selectors import (
    EXCLUSION_REASONS,
    audience_breakdown,
    mailing_progress,
    preview_contact,
)
from mailings.services import (
    mailing_approve,
    mailing_cancel,
    mailing_create,
    mailing_pause,
    mailing_resume,
    mailing_start,
    mailing_test_send,
    mailing_update,
    mailing_validate,
    recipients_requeue,
)

AUDIENCE = ["districts", "schools", "tags", "roles", "gotv_statuses"]


class MailingForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=Contact.Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    gotv_statuses = forms.MultipleChoiceField(
        label="GOTV statuses",
        choices=Contact.Gotv.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Mailing
        fields = ["name", "subject", "body", "scheduled_for", *AUDIENCE]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("subject") is not None and cleaned.get("body") is not None:
            try:
                mailing_validate(subject=cleaned["subject"], body=cleaned["body"])
            except ValidationError as exc:
                raise ValidationError(exc.message_dict) from None
        return cleaned


def _run(modeladmin, request, queryset, service, done: str, **kwargs):
    """Apply a drive service to each selected drive, reporting each outcome."""
    for mailing in queryset:
        try:
            result = service(actor=request.user, mailing=mailing, **kwargs)
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            modeladmin.message_user(request, f"{mailing}: {text}", messages.ERROR)
        else:
            status = result.get_status_display().lower() if isinstance(result, Mailing) else ""
            modeladmin.message_user(request, f"{mailing}: {done} ({status}).".replace(" ()", ""))


@admin.action(description="Start (or schedule) selected drives")
def start(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, mailing_start, "started")


@admin.action(description="Approve selected drives (organisers)")
def approve(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, mailing_approve, "approved")


@admin.action(description="Pause selected drives")
def pause(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, mailing_pause, "paused")


@admin.action(description="Resume selected drives")
def resume(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, mailing_resume, "resumed")


@admin.action(description="Cancel selected drives")
def cancel(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, mailing_cancel, "cancelled")


@admin.action(description="Send me a test of selected drives")
def test_send(modeladmin, request, queryset):
    for mailing in queryset:
        contact = preview_contact(mailing=mailing, contact_id=None)
        if contact is None:
            modeladmin.message_user(request, f"{mailing}: nobody to preview as.", messages.ERROR)
            continue
        try:
            address = mailing_test_send(actor=request.user, mailing=mailing, contact=contact)
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"{mailing}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{mailing}: test sent to {address}.")


@admin.register(Mailing)
class MailingAdmin(ScopedModelAdmin):
    form = MailingForm
    list_display = [
        "name",
        "subject",
        "status",
        "created_by",
        "recipient_count",
        "progress",
        "scheduled_for",
    ]
    list_filter = ["status"]
    search_fields = ["name", "subject"]
    filter_horizontal = ["districts", "schools", "tags"]
    actions = [start, approve, pause, resume, cancel, test_send]
    state_fields = [
        "status",
        "status_reason",
        "audience",
        "progress",
        "preview_link",
        "created_by",
        "approved_by",
        "approved_at",
        "from_email",
        "started_at",
        "finished_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "subject", "body", "scheduled_for"]}),
        ("Audience (empty = everyone you may see)", {"fields": AUDIENCE}),
        ("State", {"fields": state_fields}),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return ["name", "subject", "body", "scheduled_for", *AUDIENCE, *self.state_fields]
        return self.state_fields

    @admin.display(description="Audience now")
    def audience(self, obj: Mailing) -> str:
        if obj.pk is None:
            return "—"
        counts = audience_breakdown(mailing=obj)
        return format_html(
            "<strong>{}</strong> mailable of {} matched; left out: {}",
            counts["mailable"],
            counts["matched"],
            format_html_join(
                ", ",
                "{} {}",
                ((counts[key], label.lower()) for key, label in EXCLUSION_REASONS.items()),
            ),
        )

    @admin.display(description="Progress")
    def progress(self, obj: Mailing) -> str:
        if obj.pk is None or obj.started_at is None:
            return "—"
        counts = {k: v for k, v in mailing_progress(mailing=obj).items() if v}
        return ", ".join(f"{v} {k}" for k, v in counts.items()) or "nobody"

    @admin.display(description="Preview")
    def preview_link(self, obj: Mailing) -> str:
        if obj.pk is None:
            return "Save first."
        return format_html(
            '<a href="{}">Preview as a supporter</a>', reverse("mailing-preview", args=[obj.pk])
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            key: data[key]
            for key in ["name", "subject", "body", "scheduled_for", *AUDIENCE]
            if key in data
        }
        if change and not fields:
            return  # a started drive's form is all read-only: nothing to save
        if change:
            saved = mailing_update(actor=request.user, mailing=obj, **fields)
        else:
            saved = mailing_create(actor=request.user, **fields)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        # The services have stored the audience already.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.action(description="Send again: I checked these unknown rows never reached the ESP")
def requeue(modeladmin, request, queryset):
    try:
        count = recipients_requeue(actor=request.user, recipients=list(queryset))
    except PermissionDenied as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        modeladmin.message_user(request, f"{count} unknown rows queued to send again.")


@admin.register(Recipient)
class RecipientAdmin(ScopedModelAdmin):
    """Per-recipient state; filter on "Unknown (review)" for rows a crash left unsure."""

    list_display = ["email", "mailing", "status", "esp_message_id", "sent_at", "attempts", "error"]
    list_filter = ["status"]
    search_fields = ["email", "esp_message_id"]
    list_select_related = ["mailing"]
    readonly_fields = [f.name for f in Recipient._meta.fields]
    actions = [requeue]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
