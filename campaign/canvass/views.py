"""Canvass pages: sheets (PDF, XLSX), tick-off, upload, district packs, and the public
"I have voted" page. Thin: they scope, call a service and render."""

from __future__ import annotations

import secrets
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaign import links
from campaign.canvass import selectors, services, spreadsheet
from campaign.gotv import GotvRuleError, result_buttons
from campaign.selectors import campaign_active
from contacts.models import Contact, District, GotvEvent
from contacts.services.gotv import gotv_set, gotv_set_many


def canvass_required(view):
    """Signed in, and allowed to canvass (organisers, district leads); others 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not selectors.canvass_allowed(request.user):
            raise PermissionDenied("Your role cannot canvass.")
        return view(request, *args, **kwargs)

    return wrapped


def _with_email(request) -> bool:
    return request.GET.get("email") in ("1", "yes", "on")


@canvass_required
def canvass_home(request):
    districts = District.objects.visible_to(request.user).annotate(
        school_count=Count("schools", distinct=True)
    )
    return render(request, "canvass/home.html", {"districts": districts[:500]})


@canvass_required
def district_detail(request, pk: int):
    district = selectors.canvass_district_get(user=request.user, pk=pk)
    schools = selectors.district_schools(user=request.user, district=district)
    counts = selectors.school_counts(user=request.user, school_ids=[s.pk for s in schools])
    lines = [(school, counts.get(school.pk)) for school in schools]
    return render(
        request,
        "canvass/district.html",
        {
            "district": district,
            "lines": lines,
            "packs": selectors.canvass_packs_recent(user=request.user, district=district),
            "left_off": selectors.district_left_off(user=request.user, district=district),
        },
    )


@canvass_required
def school_sheet_pdf(request, pk: int):
    school = selectors.canvass_school_get(user=request.user, pk=pk)
    printed = services.canvass_sheet_print(
        actor=request.user, school=school, with_email=_with_email(request), via="web"
    )
    response = HttpResponse(printed.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@canvass_required
def no_school_sheet_pdf(request, pk: int):
    district = selectors.canvass_district_get(user=request.user, pk=pk)
    printed = services.canvass_no_school_print(
        actor=request.user, district=district, with_email=_with_email(request), via="web"
    )
    response = HttpResponse(printed.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@canvass_required
def school_sheet_xlsx(request, pk: int):
    school = selectors.canvass_school_get(user=request.user, pk=pk)
    rows = selectors.sheet_rows(user=request.user, school_ids=[school.pk]).get(school.pk, [])
    data = spreadsheet.canvass_sheet_export(
        actor=request.user, school=school, rows=rows, with_email=_with_email(request)
    )
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="canvass-{school.urn or school.pk}.xlsx"'
    )
    response["Cache-Control"] = "no-store"
    return response


@canvass_required
@require_http_methods(["GET", "POST"])
def school_tick(request, pk: int):
    """Tap a supporter's status; or tick several and set them together."""
    school = selectors.canvass_school_get(user=request.user, pk=pk)
    contacts = selectors.canvass_contacts(user=request.user).filter(school=school)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    if request.method == "POST":
        status = request.POST.get("status", "")
        try:
            ids = {int(v) for v in request.POST.getlist("contact")}
        except ValueError:
            ids = set()
        visible = list(contacts.filter(pk__in=ids).values_list("pk", flat=True))
        if not ids or len(visible) != len(ids):
            raise Http404("No such supporter on this school's sheet.")
        try:
            if len(visible) == 1:
                contact = contacts.get(pk=visible[0])
                changed = int(
                    gotv_set(
                        contact=contact,
                        status=status,
                        method=GotvEvent.Method.WEB,
                        actor=request.user,
                    )
                )
            else:
                changed = gotv_set_many(
                    contact_ids=visible,
                    status=status,
                    method=GotvEvent.Method.WEB,
                    actor=request.user,
                )
        except GotvRuleError as exc:
            if wants_json:
                return JsonResponse({"ok": False, "error": exc.messages[0]}, status=400)
            messages.error(request, exc.messages[0])
            return redirect("canvass-tick", pk=school.pk)
        label = Contact.Gotv(status).label
        if wants_json:
            return JsonResponse(
                {"ok": True, "changed": changed, "status": status, "label": label, "ids": visible}
            )
        messages.success(request, f"{len(visible)} supporter(s) set to {label}.")
        return redirect(f"{reverse('canvass-tick', args=[school.pk])}#c{visible[0]}")
    show = request.GET.get("show", "all")
    listed = contacts.order_by("last_name", "first_name", "pk").only(
        "pk", "first_name", "last_name", "role", "gotv_status"
    )
    if show == "todo":
        listed = listed.exclude(gotv_status=Contact.Gotv.VOTED)
    totals = contacts.aggregate(
        supporters=Count("pk"), voted=Count("pk", filter=Q(gotv_status=Contact.Gotv.VOTED))
    )
    return render(
        request,
        "canvass/tick.html",
        {
            "school": school,
            "contacts": listed,
            "totals": totals,
            "show": show,
            "buttons": result_buttons(values=Contact.Gotv.choices),
            "campaign": campaign_active(),
            # A key per row for a plain form post (no JavaScript): posting the same
            # rendered form twice applies once. The page's script makes one per tap.
            "page_key": secrets.token_hex(8),
            "next": request.get_full_path(),
        },
    )


@canvass_required
@require_http_methods(["GET", "POST"])
def school_upload(request, pk: int):
    """Upload a filled-in sheet: preview first, then apply."""
    school = selectors.canvass_school_get(user=request.user, pk=pk)
    context = {"school": school}
    if request.method == "POST":
        try:
            if request.POST.get("stash"):
                data = spreadsheet.upload_unstash(actor=request.user, token=request.POST["stash"])
                plan = spreadsheet.canvass_upload_apply(
                    actor=request.user, data=data, school=school
                )
                context.update({"plan": plan, "applied": True})
            else:
                upload = request.FILES.get("sheet")
                if upload is None:
                    raise spreadsheet.SheetFileError("Choose the XLSX file you filled in.")
                if upload.size > settings.CANVASS_UPLOAD_MAX_BYTES:
                    raise spreadsheet.SheetFileError("That file is too large for a school's sheet.")
                data = upload.read()
                plan = spreadsheet.canvass_upload_plan(actor=request.user, data=data)
                context["plan"] = plan
                if plan.change_count:
                    context["stash"] = spreadsheet.upload_stash(actor=request.user, data=data)
        except spreadsheet.SheetFileError as exc:
            context["file_error"] = str(exc)
            return render(request, "canvass/upload.html", context, status=400)
    return render(request, "canvass/upload.html", context)


@canvass_required
@require_POST
def district_pack_request(request, pk: int):
    district = selectors.canvass_district_get(user=request.user, pk=pk)
    pack = services.canvass_pack_request(
        actor=request.user, district=district, with_email=request.POST.get("email") == "1"
    )
    return redirect("canvass-pack", pk=pack.pk)


@canvass_required
def pack_detail(request, pk: int):
    pack = selectors.canvass_pack_get(user=request.user, pk=pk)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "status": pack.status,
                "percent": pack.percent,
                "schools_done": pack.schools_done,
                "schools_total": pack.schools_total,
                "ready": pack.is_ready,
                "error": pack.error,
            }
        )
    if request.headers.get("HX-Request") == "true":
        return render(request, "canvass/partials/pack_progress.html", {"pack": pack})
    return render(request, "canvass/pack.html", {"pack": pack})


@canvass_required
@require_POST
def pack_retry(request, pk: int):
    pack = selectors.canvass_pack_get(user=request.user, pk=pk)
    try:
        retry = services.canvass_pack_retry(actor=request.user, pack=pack)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("canvass-pack", pk=pack.pk)
    return redirect("canvass-pack", pk=retry.pk)


@canvass_required
def pack_download(request, pk: int):
    pack = selectors.canvass_pack_get(user=request.user, pk=pk)
    if not pack.is_ready:
        raise Http404("This pack is not ready (or was deleted after use).")
    path = services.pack_path(pack)
    if not path.is_file():
        raise Http404("This pack's file is gone.")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"canvass-pack-{pack.district.name}-{pack.sheet_code}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store"
    return response


# --- "I have voted" -------------------------------------------------------------------


@never_cache
@csrf_exempt  # the signed token is the credential; the page needs no session
@require_http_methods(["GET", "POST"])
def voted(request, token: str):
    """GET never records: mail security scanners fetch links to check them. The page
    posts itself at once from a tiny inline script, and offers the same one-click
    button for anyone without JavaScript; the POST records "voted" (idempotent)."""
    if links.is_preview(token):
        # The link of a preview or test send: names nobody, records nothing.
        return render(request, "gotv/voted.html", {"state": "preview"})
    try:
        link = links.voted_link_resolve(token=token)
    except signing.SignatureExpired:
        return render(
            request,
            "gotv/voted.html",
            {"state": "expired", "campaign": campaign_active()},
            status=410,
        )
    except signing.BadSignature:
        return render(request, "gotv/voted.html", {"state": "invalid"}, status=400)
    contact = Contact.objects.filter(pk=link.contact_id).first()
    if contact is None:
        return render(request, "gotv/voted.html", {"state": "invalid"}, status=404)
    campaign = link.campaign
    if request.method == "GET":
        state = "done" if contact.gotv_status == Contact.Gotv.VOTED else "confirm"
        return render(
            request,
            "gotv/voted.html",
            {"state": state, "contact": contact, "campaign": campaign, "token": token},
        )
    try:
        gotv_set(contact=contact, status=Contact.Gotv.VOTED, method=GotvEvent.Method.EMAIL_LINK)
    except GotvRuleError:
        return render(
            request, "gotv/voted.html", {"state": "too_early", "campaign": campaign}, status=409
        )
    return render(
        request, "gotv/voted.html", {"state": "thanks", "contact": contact, "campaign": campaign}
    )
