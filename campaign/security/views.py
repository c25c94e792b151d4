"""The second-factor pages: enrol an authenticator app, and give a code after signing in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods

from campaign.security import otp
from campaign.security.forms import OneTimeCodeForm


def _to(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    user = request.user
    # Replacing an authenticator needs the current one: otherwise a stolen password
    # would be enough to enrol the thief's phone.
    if otp.has_confirmed_device(user) and not user.is_verified():
        return redirect(_to("otp-verify", request.get_full_path()))
    device = otp.otp_device_pending(user=user)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp.otp_device_confirm(request=request, device=device, token=form.cleaned_data["token"]):
            return redirect(_next_url(request))
        form.add_error(
            "token", "That code is not right. Check the app was set up from this page's code."
        )
    return render(
        request,
        "registration/otp_setup.html",
        {
            "form": form,
            "qr": otp.otp_qr_data_uri(device),
            "secret": otp.otp_secret_text(device),
            "next": _next_url(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if not otp.has_confirmed_device(request.user):
        return redirect(_to("otp-setup", _next_url(request)))
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, message = otp.otp_session_verify(request=request, token=form.cleaned_data["token"])
        if ok:
            return redirect(_next_url(request))
        form.add_error("token", message)
    return render(
        request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)}
    )
