from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from campaign.decorators import role_required, team_required
from campaign.roles import Role
from contacts import selectors
from contacts.models import District
from contacts.services.subject_access import FORMATS, subject_access_export


@team_required
def contact_list(request):
    query = request.GET.get("q", "").strip()
    try:
        district_id = int(request.GET.get("district", "") or 0) or None
    except ValueError:
        district_id = None
    contacts = selectors.contact_list(user=request.user, query=query, district_id=district_id)
    page = Paginator(contacts, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "contacts/contact_list.html",
        {
            "page": page,
            "query": query,
            "district_id": district_id,
            "districts": District.objects.visible_to(request.user),
        },
    )


@team_required
def contact_detail(request, pk: int):
    contact = selectors.contact_get(user=request.user, pk=pk)
    return render(
        request,
        "contacts/contact_detail.html",
        {"contact": contact, "consents": contact.consents.all()},
    )


@team_required
def school_detail(request, pk: int):
    school = selectors.school_get(user=request.user, pk=pk)
    contacts = selectors.contact_list(user=request.user).filter(school=school)
    return render(request, "contacts/school_detail.html", {"school": school, "contacts": contacts})


@never_cache
@role_required(Role.ORGANISER)
def subject_access(request, pk: int, fmt: str):
    """A subject access copy of one supporter, as JSON or PDF (organisers; audited)."""
    if fmt not in FORMATS:
        raise Http404("No such format.")
    contact = selectors.contact_get(user=request.user, pk=pk)
    body = subject_access_export(actor=request.user, contact=contact, fmt=fmt, via="web")
    response = HttpResponse(
        body, content_type="application/pdf" if fmt == "pdf" else "application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="subject-access-{contact.pk}.{fmt}"'
    return response
