from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from campaign.admin_scoping import ScopedModelAdmin
from campaign.exports import export_response
from contacts.models import Contact
from mailings.models import Mailing, Recipient
from mailings.reports import (
    STATUS_HEADERS,
    drive_recipient_statuses,
    drive_report,
    recipient_timeline,
    timeline_chart,
)
from mailings.selectors import (
    EXCLUSION_REASONS,
    audience_breakdown,
    mailing_progress,
    mailing_unknown_figures,
    preview_contact,
)
from mailings.services import (
    mailing_approve,
    mailing_cancel,
    mailing_create,
    mailing_pause,
    mailing_resume,
    mailing_send_again,
    mailing_start,
    mailing_test_send,
    mailing_update,
    mailing_validate,
    recipients_requeue,
)
from mailings.services.reconcile import mailing_reconcile

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


@admin.action(description="Ask the ESP which unknown rows it accepted (reconcile)")
def reconcile(modeladmin, request, queryset):
    for mailing in queryset:
        try:
            result = mailing_reconcile(actor=request.user, mailing=mailing)
        except PermissionDenied as exc:
            modeladmin.message_user(request, f"{mailing}: {exc}", messages.ERROR)
            continue
        if not result.supported:
            modeladmin.message_user(
                request, f"{mailing}: cannot ask {result.esp}: {result.note}.", messages.WARNING
            )
            continue
        figures = mailing_unknown_figures(mailing=mailing)
        text = (
            f"{mailing}: asked {result.esp} about {result.checked} unknown rows. "
            f"Proven sent {figures['proven_sent']}, proven not sent {figures['proven_not_sent']}"
            f" (safe to send again), still unknown {figures['still_unknown']}."
        )
        if result.note:
            text += f" {result.note}"
        for error in result.errors:
            text += f" Could not ask the ESP: {error}."
        modeladmin.message_user(
            request, text, messages.WARNING if result.errors else messages.SUCCESS
        )


@admin.action(description="Send again to rows the ESP proved it never accepted")
def send_again(modeladmin, request, queryset):
    for mailing in queryset:
        try:
            count = mailing_send_again(actor=request.user, mailing=mailing)
        except PermissionDenied as exc:
            modeladmin.message_user(request, f"{mailing}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{mailing}: {count} rows queued to send again.")


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
    actions = [start, approve, pause, resume, cancel, reconcile, send_again, test_send]
    state_fields = [
        "status",
        "status_reason",
        "audience",
        "progress",
        "unsure",
        "report_link",
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

    @admin.display(description="Unsure sends (after reconciliation)")
    def unsure(self, obj: Mailing) -> str:
        if obj.pk is None or obj.started_at is None:
            return "—"
        figures = mailing_unknown_figures(mailing=obj)
        if not any(figures.values()):
            return "None: every send has a known outcome."
        return format_html(
            "<strong>{}</strong> proven sent, <strong>{}</strong> proven not sent (safe to "
            "send again), <strong>{}</strong> still unknown",
            figures["proven_sent"],
            figures["proven_not_sent"],
            figures["still_unknown"],
        )

    @admin.display(description="Delivery report")
    def report_link(self, obj: Mailing) -> str:
        if obj.pk is None or obj.started_at is None:
            return "Once the drive has started."
        return format_html(
            '<a href="{}">Delivered, bounces, complaints, opens and clicks</a>',
            reverse("admin:mailings_mailing_report", args=[obj.pk]),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/report/",
                view(self.report_view),
                name="mailings_mailing_report",
            ),
            path(
                "<path:object_id>/report.csv",
                view(self.report_csv_view),
                name="mailings_mailing_report_csv",
            ),
            *super().get_urls(),
        ]

    def _visible(self, request, object_id) -> Mailing:
        if not self.has_view_permission(request):
            raise PermissionDenied
        self._404_unless_visible(request, object_id)
        return self.get_queryset(request).get(pk=object_id)

    def report_view(self, request, object_id):
        mailing = self._visible(request, object_id)
        report = drive_report(mailing=mailing, viewer=request.user)
        counts, rates = report["counts"], report["rates"]
        lines = [
            ("Sent", report["sent"], None, ""),
            ("Delivered", counts["delivered"], rates["delivered"], "sent"),
            ("Hard bounces", counts["hard_bounced"], rates["hard_bounced"], "sent"),
            ("Soft bounces", counts["soft_bounced"], rates["soft_bounced"], "sent"),
            ("Rejected by the ESP", counts["rejected"], None, ""),
            ("Spam complaints", counts["complained"], rates["complained"], "delivered or bounced"),
            ("Unsubscribed", counts["unsubscribed"], rates["unsubscribed"], "delivered"),
            ("Unique opens", counts["opened"], rates["opened"], "delivered"),
            ("Unique clicks", counts["clicked"], rates["clicked"], "delivered"),
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "mailing": mailing,
            "report": report,
            "lines": [
                {"label": label, "count": count, "rate": rate, "of": of}
                for label, count, rate, of in lines
            ],
            "chart": timeline_chart(report["timeline"]),
        }
        return TemplateResponse(request, "mailings/report.html", context)

    def report_csv_view(self, request, object_id):
        mailing = self._visible(request, object_id)
        return export_response(
            actor=request.user,
            what="drive recipient statuses",
            headers=STATUS_HEADERS,
            rows=list(drive_recipient_statuses(mailing=mailing, viewer=request.user)),
            file_name=f"drive-{mailing.pk}-recipients",
            target=mailing,
        )

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
    list_filter = ["status", "esp_check"]
    search_fields = ["email", "esp_message_id"]
    list_select_related = ["mailing"]
    readonly_fields = [*(f.name for f in Recipient._meta.fields), "delivery_timeline"]
    actions = [requeue]

    @admin.display(description="Delivery events (ESP webhooks)")
    def delivery_timeline(self, obj: Recipient) -> str:
        events = recipient_timeline(recipient=obj) if obj.pk else []
        if not events:
            return "None yet."
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} — {} {} {}</li>",
                (
                    (
                        e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.get_event_type_display(),
                        f"({e.bounce} bounce)" if e.bounce else "",
                        e.description,
                    )
                    for e in events
                ),
            ),
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
