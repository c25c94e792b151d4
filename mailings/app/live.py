"""A drive's own page: what it says and who gets it, the test send, the confirmation
step, approval, and once it runs, live progress with pause, resume and cancel."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaign import outbox
from campaign.decorators import role_required
from campaign.roles import Role, can, scope_for
from campaign.selectors import campaign_active
from mailings.app.compose import drive_roles
from mailings.app.selectors import drive_audience_person, drive_live_figures
from mailings.models import Mailing, Recipient
from mailings.selectors import audience_breakdown, mailing_get, review_page
from mailings.services import (
    mailing_approve,
    mailing_cancel,
    mailing_pause,
    mailing_preview,
    mailing_resume,
    mailing_send_again,
    mailing_send_back,
    mailing_start,
    mailing_test_send,
    mailing_update,
    recipients_requeue,
)
from mailings.services.drive import needs_approval

Status = Mailing.Status
LIVE = (Status.SENDING, Status.PAUSED)


def _is_organiser(user) -> bool:
    return scope_for(user).role == Role.ORGANISER


def _may_change(user, mailing: Mailing) -> bool:
    """``mailing`` came through visible_to; the role must also be one that changes drives."""
    return can(user, "change", "mailings.mailing")


def _test_messages(*, user, mailing: Mailing) -> list:
    """The test sends of this drive to ``user``'s own address, newest first."""
    if not user.email:
        return []
    found, _ = outbox.outbox_find(
        lambda m: (
            m.metadata.get("test") == "1"
            and m.metadata.get("mailing_id") == str(mailing.pk)
            and user.email.lower() in m.to.lower()
        ),
        limit=5,
    )
    return found


# Each refresh of the live panel counts the drive's rows by status: some 0.1-0.3 s of
# database work at a union-wide drive, for every person watching it. Big drives
# refresh less often; their figures move by thousands between looks anyway.
BIG_DRIVE_ROWS = 20_000


def poll_seconds(rows: int) -> int:
    return 1 if rows <= BIG_DRIVE_ROWS else 5


@drive_roles
def drive_detail(request, pk: int):
    """Full page, or (htmx polling) the live progress panel alone."""
    mailing = mailing_get(user=request.user, pk=pk)
    figures = drive_live_figures(mailing=mailing)
    context = {
        "mailing": mailing,
        "figures": figures,
        "polling": mailing.status in LIVE or figures.progress["sending"] > 0,
        "poll_seconds": poll_seconds(figures.total),
        "is_organiser": _is_organiser(request.user),
        "may_change": _may_change(request.user, mailing),
        "threshold": settings.MAILING_APPROVAL_THRESHOLD,
    }
    if request.htmx and request.GET.get("panel") == "progress":
        # The heading's state badge changes with it (an out-of-band swap).
        context["partial"] = True
        return render(request, "mailings/partials/drive_progress.html", context)
    if mailing.status in (Status.DRAFT, Status.SCHEDULED, Status.AWAITING_APPROVAL):
        raw = request.GET.get("contact", "")
        contact = drive_audience_person(
            mailing=mailing, viewer=request.user, contact_id=int(raw) if raw.isdigit() else None
        )
        rendered = None
        if contact is not None:
            try:
                rendered = mailing_preview(mailing=mailing, contact=contact)
            except ValidationError as exc:
                context["problem"] = " ".join(exc.messages)
        context.update(
            breakdown=audience_breakdown(mailing=mailing),
            contact=contact,
            rendered=rendered,
            tests=_test_messages(user=request.user, mailing=mailing),
        )
    else:
        context["review"] = (
            review_page(mailing=mailing, limit=50) if figures.progress["unknown"] else None
        )
    return render(request, "mailings/drive_detail.html", context)


@drive_roles
@require_POST
def drive_test_send(request, pk: int):
    """Send the drive, as one supporter of its audience would get it, to yourself."""
    mailing = mailing_get(user=request.user, pk=pk)
    raw = request.POST.get("contact", "")
    contact = drive_audience_person(
        mailing=mailing, viewer=request.user, contact_id=int(raw) if raw.isdigit() else None
    )
    if contact is None:
        messages.error(request, "Nobody in this drive's audience to base a test on.")
    else:
        try:
            address = mailing_test_send(actor=request.user, mailing=mailing, contact=contact)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"Test sent to {address}, as {contact.full_name} would get it."
            )
    return redirect("drive-detail", mailing.pk)


class ScheduleForm(forms.Form):
    when = forms.ChoiceField(
        choices=[("now", "Send now"), ("later", "Schedule for later")],
        widget=forms.RadioSelect,
        initial="now",
    )
    scheduled_for = forms.DateTimeField(
        label="Send at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text="UK time.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") == "later":
            at: datetime | None = cleaned.get("scheduled_for")
            if at is None:
                self.add_error("scheduled_for", "Choose when to send it.")
            elif at <= timezone.now():
                self.add_error("scheduled_for", "Choose a time in the future.")
        return cleaned


@drive_roles
def drive_confirm(request, pk: int):
    """The confirmation step: how many people, from whom, with what subject; then send
    now, schedule, or (a big drive) ask an organiser's approval."""
    mailing = mailing_get(user=request.user, pk=pk)
    if not _may_change(request.user, mailing):
        raise PermissionDenied("Your role cannot send drives.")
    if mailing.status != Status.DRAFT:
        messages.info(request, f"The drive is {mailing.get_status_display().lower()}.")
        return redirect("drive-detail", mailing.pk)
    breakdown = audience_breakdown(mailing=mailing)
    big = needs_approval(mailing=mailing, size=breakdown["mailable"])
    asks_approval = big and not _is_organiser(request.user)
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            later = form.cleaned_data["when"] == "later"
            mailing = mailing_update(
                actor=request.user,
                mailing=mailing,
                scheduled_for=form.cleaned_data["scheduled_for"] if later else None,
            )
            mailing = mailing_start(actor=request.user, mailing=mailing)
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _started_message(mailing))
            return redirect("drive-detail", mailing.pk)
    campaign = campaign_active()
    return render(
        request,
        "mailings/drive_confirm.html",
        {
            "mailing": mailing,
            "breakdown": breakdown,
            "campaign": campaign,
            "asks_approval": asks_approval,
            "threshold": settings.MAILING_APPROVAL_THRESHOLD,
            "form": form,
        },
    )


def _started_message(mailing: Mailing) -> str:
    if mailing.status == Status.AWAITING_APPROVAL:
        return f"Approval requested: every organiser has been told about “{mailing.name}”."
    if mailing.status == Status.SCHEDULED:
        when = timezone.localtime(mailing.scheduled_for).strftime("%-d %b %Y, %H:%M")
        return f"“{mailing.name}” is scheduled for {when}."
    if mailing.status == Status.DONE:
        return f"“{mailing.name}” had nobody to send to."
    return f"Sending “{mailing.name}” to {mailing.audience_size:,} supporters."


@role_required(Role.ORGANISER)
@require_POST
def drive_approve(request, pk: int):
    mailing = mailing_get(user=request.user, pk=pk)
    try:
        mailing = mailing_approve(actor=request.user, mailing=mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Approved: {_started_message(mailing)}")
    return redirect("drive-detail", mailing.pk)


@role_required(Role.ORGANISER)
@require_POST
def drive_send_back(request, pk: int):
    mailing = mailing_get(user=request.user, pk=pk)
    try:
        mailing = mailing_send_back(
            actor=request.user, mailing=mailing, comment=request.POST.get("comment", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sent “{mailing.name}” back to {mailing.created_by}.")
    return redirect("drive-detail", mailing.pk)


CONTROLS = {
    "pause": (
        mailing_pause,
        "Pause",
        "Sending stops within seconds; queued messages wait for a resume.",
    ),
    "resume": (mailing_resume, "Resume", "Sending carries on with the messages still queued."),
    "cancel": (
        mailing_cancel,
        "Cancel",
        "Sending stops for good: messages not yet sent are cancelled. This cannot be undone.",
    ),
}


@drive_roles
def drive_control(request, pk: int, action: str):
    """Pause, resume or cancel, each through a confirmation step."""
    if action not in CONTROLS:
        raise Http404
    mailing = mailing_get(user=request.user, pk=pk)
    if not _may_change(request.user, mailing):
        raise PermissionDenied("Your role cannot change drives.")
    service, label, explanation = CONTROLS[action]
    if request.method == "POST":
        try:
            mailing = service(actor=request.user, mailing=mailing)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"“{mailing.name}” is {mailing.get_status_display().lower()}."
            )
        return redirect("drive-detail", mailing.pk)
    return render(
        request,
        "mailings/drive_control.html",
        {"mailing": mailing, "action": action, "label": label, "explanation": explanation},
    )


@role_required(Role.ORGANISER)
@require_POST
def drive_send_again(request, pk: int):
    """Send the unknown rows again: those the ESP's log proved it never accepted, or the
    ones an organiser ticked after checking. Audited by the services."""
    mailing = mailing_get(user=request.user, pk=pk)
    ids = [int(v) for v in request.POST.getlist("row") if v.isdigit()]
    if ids:
        rows = Recipient.objects.filter(
            mailing=mailing, pk__in=ids, status=Recipient.Status.UNKNOWN
        ).only("pk")
        count = recipients_requeue(actor=request.user, recipients=list(rows))
    else:
        count = mailing_send_again(actor=request.user, mailing=mailing)
    messages.success(request, f"{count} message{'s' if count != 1 else ''} queued to send again.")
    return redirect("drive-detail", mailing.pk)
