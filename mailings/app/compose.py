"""The drive list and the composer: write a drive, see who it reaches, preview it.

The composer's live parts (inline checks, audience count, exclusions, supporter search,
preview) are partials of their own views, each a read of the unsaved form; saving goes
through the same services as the admin (mailing_create, mailing_update)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from campaign.decorators import role_required
from campaign.roles import Role, can
from campaign.selectors import campaign_active
from mailings.app import selectors
from mailings.app.forms import DriveForm, filters_from, initial_of
from mailings.models import Mailing
from mailings.selectors import audience_breakdown_for, mailing_get
from mailings.services import mailing_create, mailing_preview, mailing_update, mailing_validate

drive_roles = role_required(Role.ORGANISER, Role.VOLUNTEER)


@drive_roles
@require_GET
def drive_list(request):
    status = request.GET.get("state", "")
    if status not in Mailing.Status.values:
        status = ""
    drives = selectors.drive_lines(user=request.user, status=status or None)
    context = {
        "drives": drives[:200],
        "state": status,
        "states": Mailing.Status.choices,
        "may_write": can(request.user, "add", "mailings.mailing"),
    }
    template = "mailings/partials/drive_rows.html" if request.htmx else "mailings/drive_list.html"
    return render(request, template, context)


def _composer(request, form, mailing=None):
    return render(
        request,
        "mailings/drive_compose.html",
        {
            "form": form,
            "mailing": mailing,
            "fields_help": selectors.merge_field_help(campaign=campaign_active()),
            "presets": selectors.PRESETS,
        },
    )


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        form.add_error(None, exc)


@drive_roles
def drive_new(request):
    if not can(request.user, "add", "mailings.mailing"):
        raise PermissionDenied("Your role cannot write email drives.")
    form = DriveForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            mailing = mailing_create(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Saved “{mailing.name}” as a draft.")
            return redirect("drive-detail", mailing.pk)
    return _composer(request, form)


@drive_roles
def drive_edit(request, pk: int):
    mailing = mailing_get(user=request.user, pk=pk)
    if not mailing.is_editable:
        messages.info(
            request, f"The drive is {mailing.get_status_display().lower()}; it cannot change."
        )
        return redirect("drive-detail", mailing.pk)
    form = DriveForm(request.POST or None, user=request.user, initial=initial_of(mailing))
    if request.method == "POST" and form.is_valid():
        try:
            mailing = mailing_update(actor=request.user, mailing=mailing, **form.service_fields())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Saved “{mailing.name}”.")
            return redirect("drive-detail", mailing.pk)
    return _composer(request, form, mailing)


@drive_roles
@require_POST
def composer_check(request):
    """Inline checks of the subject and body as they are typed (the errors the save
    would give, and each unknown field's nearest real name)."""
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    errors: dict[str, list[str]] = {}
    try:
        mailing_validate(subject=subject, body=body)
    except ValidationError as exc:
        errors = exc.message_dict
    return render(
        request,
        "mailings/partials/composer_check.html",
        {
            "subject_errors": errors.get("subject", []),
            "body_errors": errors.get("body", []),
            "hints": selectors.merge_hints(subject=subject, body=body),
            "checked": bool(subject or body),
        },
    )


@drive_roles
@require_GET
def composer_audience(request):
    """The live audience count for the filters as they stand, and who is left out."""
    filters = filters_from(request.GET, user=request.user)
    breakdown = audience_breakdown_for(user=request.user, filters=filters)
    return render(
        request,
        "mailings/partials/audience_count.html",
        {"breakdown": breakdown, "reasons": selectors.EXCLUSION_REASONS},
    )


@drive_roles
@require_GET
def composer_excluded(request):
    """One page of the supporters the filters match who will not get the email, and why."""
    filters = filters_from(request.GET, user=request.user)
    raw = request.GET.get("page", "1")
    page = selectors.audience_exclusions(
        user=request.user, filters=filters, page=int(raw) if raw.isdigit() else 1
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "mailings/partials/audience_excluded.html",
        {"page": page, "query": query.urlencode()},
    )


@drive_roles
@require_GET
def composer_people(request):
    """Supporters of the audience whose name matches, to preview the drive as."""
    filters = filters_from(request.GET, user=request.user)
    query = request.GET.get("q", "").strip()
    people = selectors.audience_people_named(user=request.user, filters=filters, query=query)
    return render(
        request, "mailings/partials/people_found.html", {"people": people, "query": query}
    )


@drive_roles
@require_POST
def composer_preview(request):
    """The unsaved drive as one supporter of its audience would get it."""
    filters = filters_from(request.POST, user=request.user)
    raw = request.POST.get("preview_contact", "")
    contact = selectors.audience_person(
        user=request.user, filters=filters, contact_id=int(raw) if raw.isdigit() else None
    )
    draft = Mailing(subject=request.POST.get("subject", ""), body=request.POST.get("body", ""))
    rendered, problem = None, ""
    if contact is not None:
        try:
            rendered = mailing_preview(mailing=draft, contact=contact)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    return render(
        request,
        "mailings/partials/composer_preview.html",
        {"contact": contact, "rendered": rendered, "problem": problem},
    )
