"""The organiser's team page: invite a teammate, change a role and districts,
deactivate; and the invited teammate's page to set a password. Thin: writes through
campaign/services.py and campaign/invitations.py (all audited)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from campaign.decorators import role_required
from campaign.forms_team import InvitationPasswordForm, InviteForm, MemberForm
from campaign.invitations import (
    invitation_accept,
    invitation_find,
    invitation_problem,
    invitation_send,
)
from campaign.roles import Role
from campaign.selectors_team import team_lines, team_member_get
from campaign.services import team_member_deactivate, team_member_reactivate, team_member_set

organiser_required = role_required(Role.ORGANISER)


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def team(request):
    """Everyone in the team, and the invitation form."""
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = invitation_send(
                actor=request.user,
                email=data["email"],
                role=data["role"],
                districts=data["districts"],
                all_districts=data["all_districts"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}: the link to set a password works "
                f"once, until {invitation.expires_at:%d %B %Y %H:%M}.",
            )
            return redirect("team")
    return render(
        request,
        "campaign/team.html",
        {"form": form, "lines": team_lines()},
        status=400 if form.errors else 200,
    )


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def team_member(request, pk: int):
    """Change one teammate's role and districts, or (de)activate them."""
    user = team_member_get(pk=pk)
    member = user.team_member
    initial = {
        "role": member.role,
        "districts": list(member.districts.all()),
        "all_districts": member.all_districts,
    }
    form = MemberForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team_member_set(
                actor=request.user,
                user=user,
                role=data["role"],
                districts=data["districts"],
                all_districts=data["all_districts"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Saved {user.get_username()}'s role and districts.")
            return redirect("team")
    return render(
        request,
        "campaign/team_member.html",
        {"form": form, "person": user, "member": member},
        status=400 if form.errors else 200,
    )


@organiser_required
@require_POST
def team_member_active(request, pk: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) a teammate."""
    user = team_member_get(pk=pk)
    try:
        if request.POST.get("active") == "1":
            team_member_reactivate(actor=request.user, user=user)
            messages.success(request, f"{user.get_username()} can sign in again.")
        else:
            team_member_deactivate(actor=request.user, user=user)
            messages.success(request, f"{user.get_username()} can no longer sign in.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("team-member", pk=user.pk)


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """An invited teammate sets their password (once), then signs in."""
    found = invitation_find(token=token)
    problem = invitation_problem(found)
    if problem:
        return render(request, "registration/invitation.html", {"problem": problem}, status=410)
    form = InvitationPasswordForm(found.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except ValidationError as exc:
            return render(
                request, "registration/invitation.html", {"problem": exc.messages[0]}, status=410
            )
        messages.success(
            request, f"Your password is set. Sign in as {user.get_username()} to start."
        )
        return redirect("login")
    return render(
        request,
        "registration/invitation.html",
        {"form": form, "invitation": found},
        status=400 if form.errors else 200,
    )


@never_cache
@organiser_required
@require_http_methods(["GET", "POST"])
def campaign_settings(request):
    """The campaign's name, candidate, ballot dates and sender (audited)."""
    from campaign.campaign_settings import campaign_update
    from campaign.forms_team import CampaignSettingsForm
    from campaign.selectors import campaign_active

    campaign = campaign_active()
    form = CampaignSettingsForm(
        request.POST if request.method == "POST" else None, instance=campaign
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(actor=request.user, campaign=campaign, values=form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Campaign settings saved.")
            return redirect("campaign-settings")
    return render(
        request,
        "campaign/campaign_settings.html",
        {"form": form, "campaign": campaign},
        status=400 if form.errors else 200,
    )
