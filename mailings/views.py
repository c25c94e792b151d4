"""Public unsubscribe pages and the staff preview of a drive. Thin: services do the work."""

from django.core import signing
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaign import links
from campaign.decorators import team_required
from campaign.security.decorators import sandboxed_frame
from campaign.selectors import campaign_active
from mailings.selectors import mailing_get, preview_contact
from mailings.services import mailing_preview, unsubscribe_confirm, unsubscribe_recipient


# Mail providers POST here with no cookie or token (RFC 8058 one-click), so no CSRF
# check and no login; the signed token in the URL is the authority.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    context = {"campaign": campaign_active()}
    if links.is_preview(token):
        # The link of a preview or test send: names nobody, changes nothing.
        return render(request, "mailings/unsubscribe_preview.html", context)
    try:
        recipient = unsubscribe_recipient(token=token)
    except signing.SignatureExpired:
        return render(
            request, "mailings/unsubscribe_invalid.html", {**context, "expired": True}, status=410
        )
    except signing.BadSignature:
        recipient = None
    if recipient is None:
        return render(request, "mailings/unsubscribe_invalid.html", context, status=404)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe_confirm(recipient=recipient, one_click=one_click)
        return render(request, "mailings/unsubscribe_done.html", context)
    return render(request, "mailings/unsubscribe_confirm.html", context)


def _preview(request, pk: int):
    mailing = mailing_get(user=request.user, pk=pk)
    raw = request.GET.get("contact")
    contact = preview_contact(
        mailing=mailing, contact_id=int(raw) if raw and raw.isdigit() else None
    )
    return mailing, contact


@team_required
def preview(request, pk: int):
    mailing, contact = _preview(request, pk)
    rendered = mailing_preview(mailing=mailing, contact=contact) if contact else None
    return render(
        request,
        "mailings/preview.html",
        {"mailing": mailing, "contact": contact, "rendered": rendered},
    )


@sandboxed_frame
@team_required
def preview_html(request, pk: int):
    mailing, contact = _preview(request, pk)
    html = mailing_preview(mailing=mailing, contact=contact).html if contact else ""
    # Shown as a recipient would see it, inside the sandbox policy of @sandboxed_frame.
    return HttpResponse(html, content_type="text/html; charset=utf-8")
