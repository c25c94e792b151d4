from django.shortcuts import render

from campaign.decorators import team_required
from contacts import selectors
from contacts.models import District


@team_required
def contact_list(request):
    query = request.GET.get("q", "").strip()
    try:
        district_id = int(request.GET.get("district", "") or 0) or None
    except ValueError:
        district_id = None
    page = selectors.contact_page(
        user=request.user, query=query, district_id=district_id, page=request.GET.get("page")
    )
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
