"""The district lead's GOTV workspace: My schools, the chase list, and the tap endpoint
that the tick-off page and the chase list share (online or replaying an offline queue).
Thin: they scope, call a service in campaign.gotv and render."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from campaign import gotv
from campaign.canvass import selectors as canvass_selectors
from campaign.canvass.selectors import chase_list, my_schools
from campaign.canvass.views import canvass_required
from campaign.models import ChaseResult
from campaign.roles import scope_for
from campaign.selectors import campaign_active
from contacts.models import Contact, District

CHASE_RESULTS = [
    (ChaseResult.VOTED.value, ChaseResult.VOTED.label),
    (ChaseResult.PLEDGED.value, ChaseResult.PLEDGED.label),
    (ChaseResult.NOT_REACHED.value, ChaseResult.NOT_REACHED.label),
    (ChaseResult.WONT_VOTE.value, ChaseResult.WONT_VOTE.label),
]
CHASE_PAGE_SIZE = 50


def _int_param(request, name: str) -> int | None:
    try:
        return int(request.GET[name])
    except (KeyError, ValueError):
        return None


def _district_param(request) -> District | None:
    """?district=<pk>, which must be one of the user's districts (else 404)."""
    pk = _int_param(request, "district")
    if pk is None:
        return None
    return canvass_selectors.canvass_district_get(user=request.user, pk=pk)


def _pick_district(request, *, purpose: str, url_name: str):
    """Someone who covers every district (an organiser) picks one first: the whole
    country's schools or chase list on one page helps nobody, and costs a national
    count on every load."""
    districts = District.objects.visible_to(request.user).order_by("name")
    return render(
        request,
        "gotv/pick_district.html",
        {"districts": districts, "purpose": purpose, "url_name": url_name},
    )


@canvass_required
def my_schools_view(request):
    district = _district_param(request)
    if district is None and scope_for(request.user).sees_everything:
        return _pick_district(request, purpose="My schools", url_name="my-schools")
    lines = my_schools(user=request.user, district_id=district.pk if district else None)
    totals = {
        key: sum(getattr(line, key) for line in lines)
        for key in ("supporters", "voted", "pledged", "not_reached", "not_voted")
    }
    # Most still to vote first; a lead of hundreds of schools pages through them.
    page = Paginator(lines, MY_SCHOOLS_PAGE_SIZE).get_page(request.GET.get("page"))
    links = _SchoolLinks()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "gotv/my_schools.html",
        {
            "page": page,
            "cards": [(line, links.for_line(line)) for line in page],
            "totals": totals,
            "district": district,
            "campaign": campaign_active(),
            "query": query.urlencode(),
        },
    )


class _SchoolLinks:
    """Each school card's links, each URL pattern reversed once per page: a lead with a
    few hundred schools would otherwise pay for five reverses per school."""

    _PK = 2_147_483_647  # a placeholder no real id takes

    def __init__(self) -> None:
        self._patterns: dict[str, str] = {}

    def _url(self, name: str, pk: int) -> str:
        if name not in self._patterns:
            self._patterns[name] = reverse(name, args=[self._PK])
        return self._patterns[name].replace(str(self._PK), str(pk))

    def for_line(self, line) -> list[tuple[str, str]]:
        chase = self._patterns.setdefault("gotv-chase", reverse("gotv-chase"))
        if line.school is not None:
            pk = line.school.pk
            return [
                ("Sheet (PDF)", self._url("canvass-sheet-pdf", pk)),
                ("XLSX", self._url("canvass-sheet-xlsx", pk)),
                ("Tick off", self._url("canvass-tick", pk)),
                ("Upload", self._url("canvass-upload", pk)),
                ("Chase", f"{chase}?school={pk}"),
            ]
        pk = line.district.pk
        return [
            ("Sheet (PDF)", self._url("canvass-no-school-pdf", pk)),
            ("Chase", f"{chase}?district={pk}&school=none"),
        ]


MY_SCHOOLS_PAGE_SIZE = 50


@canvass_required
def chase_list_view(request):
    district = _district_param(request)
    school = None
    if (school_pk := _int_param(request, "school")) is not None:
        school = canvass_selectors.canvass_school_get(user=request.user, pk=school_pk)
    no_school = request.GET.get("school") == "none"
    if district is None and school is None and scope_for(request.user).sees_everything:
        return _pick_district(request, purpose="Chase list", url_name="gotv-chase")
    contacts = chase_list(
        user=request.user,
        district_id=district.pk if district else None,
        school_id=school.pk if school else None,
        no_school=no_school,
    )
    page = Paginator(contacts, CHASE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "gotv/chase.html",
        {
            "page": page,
            "district": district,
            "school": school,
            "no_school": no_school,
            "query": query.urlencode(),
            "buttons": gotv.result_buttons(values=CHASE_RESULTS),
            "campaign": campaign_active(),
            "next": request.get_full_path(),
            "page_key": secrets.token_hex(8),
        },
    )


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


@canvass_required
@require_POST
def contact_tap(request, pk: int):
    """One result for one supporter under the phone's key for that tap. Answers JSON
    to the page's script (which queues taps while offline); a plain form post (no
    JavaScript) is redirected back with a message."""
    contact = get_object_or_404(canvass_selectors.canvass_contacts(user=request.user), pk=pk)
    result = request.POST.get("result", "")
    fallback = reverse("gotv-chase")
    try:
        outcome = gotv.gotv_tap_apply(
            actor=request.user,
            contact=contact,
            key=request.POST.get("key", ""),
            result=result,
            note=request.POST.get("note", ""),
        )
    except gotv.TapKeyError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": exc.messages[0]}, status=409)
        messages.error(request, exc.messages[0])
        return redirect(_next_url(request, fallback))
    except gotv.GotvRuleError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": exc.messages[0]}, status=400)
        messages.error(request, exc.messages[0])
        return redirect(_next_url(request, fallback))
    contact.refresh_from_db(fields=["gotv_status"])
    label = dict(Contact.Gotv.choices + ChaseResult.choices).get(result, result)
    if _wants_json(request):
        return JsonResponse(
            {
                "ok": True,
                "replayed": outcome.replayed,
                "changed": outcome.tap.changed,
                "result": result,
                "label": label,
                "status": contact.gotv_status,
                "status_label": contact.get_gotv_status_display(),
                "leaves_chase": outcome.leaves_chase,
            }
        )
    messages.success(request, f"{contact.full_name}: {label}.")
    return redirect(_next_url(request, fallback))


@canvass_required
@require_POST
def contact_flag(request, pk: int):
    """Ask an organiser to help with a supporter, or clear the request."""
    contact = get_object_or_404(canvass_selectors.canvass_contacts(user=request.user), pk=pk)
    wanted = request.POST.get("needs_organiser") == "1"
    gotv.chase_flag_set(
        actor=request.user,
        contact=contact,
        needs_organiser=wanted,
        note=request.POST.get("note", ""),
    )
    if wanted:
        messages.success(request, f"{contact.full_name}: an organiser will see this.")
    else:
        messages.success(request, f"{contact.full_name}: no longer needs an organiser.")
    return redirect(_next_url(request, reverse("gotv-chase")))
