"""The audit trail for organisers: filtered, in sentences, exported as CSV (audited
and formula-safe through campaign/exports.py)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from campaign.audit_sentences import audit_sentence
from campaign.decorators import role_required
from campaign.exports import export_response
from campaign.models import AuditEvent
from campaign.roles import Role
from campaign.selectors_team import audit_actor_labels, audit_events

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000

organiser_required = role_required(Role.ORGANISER)


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label="Who", required=False)
    action = forms.ChoiceField(
        label="What", required=False, choices=[("", "Any action"), *AuditEvent.Action.choices]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    target = forms.CharField(label="About", required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [
            ("", "Anyone"),
            ("-", "The system"),
            *[(label, label) for label in audit_actor_labels()],
        ]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: self.cleaned_data.get(name) or "" for name in self.fields} | {
            "date_from": self.cleaned_data.get("date_from"),
            "date_to": self.cleaned_data.get("date_to"),
        }


def _filtered(request):
    form = AuditFilterForm(request.GET or None)
    events = audit_events(**form.filters()) if not form.errors else AuditEvent.objects.none()
    return form, events


@never_cache
@organiser_required
def audit(request):
    form, events = _filtered(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    lines = [(event, audit_sentence(event)) for event in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "campaign/audit.html",
        {"form": form, "page": page, "lines": lines, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


@never_cache
@organiser_required
def audit_export(request):
    """The filtered trail as CSV; the export itself lands in the trail."""
    _form, events = _filtered(request)
    rows = [
        [
            timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            event.actor_label or "system",
            event.get_action_display(),
            audit_sentence(event),
            event.target_label,
        ]
        for event in events[:EXPORT_MAX_ROWS]
    ]
    return export_response(
        actor=request.user,
        what="audit trail",
        headers=["When", "Who", "Action", "What happened", "About"],
        rows=rows,
        file_name=f"audit-trail-{timezone.localdate():%Y-%m-%d}",
        file_format="csv",
    )
