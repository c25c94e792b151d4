"""The supporter pages: the list (search and filters), one supporter, one school.

Thin: scope and read through contacts/selectors.py, write through contacts/services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaign.decorators import role_required, team_required
from campaign.roles import Role, can
from contacts import selectors
from contacts.forms import SupporterEditForm, SupporterSearchForm
from contacts.models import District
from contacts.services import contact_details_update
from contacts.services.subject_access import FORMATS, subject_access_export

PAGE_SIZE = 50


@never_cache
@team_required
@require_http_methods(["GET", "POST"])
def contact_list(request):
    """GET takes only filters that name nobody (from a link); the search box posts, so
    what was searched never appears in a URL or an access log."""
    if request.method == "POST":
        data = request.POST
    else:
        data = request.GET.copy()
        for name in SupporterSearchForm.PRIVATE_FIELDS:
            data.pop(name, None)
    form = SupporterSearchForm(data, user=request.user)
    filters = form.filters()
    contacts = selectors.supporter_search(user=request.user, **filters)
    if form.errors:
        # A filter we could not apply (its error is shown beside it): match nobody
        # rather than more people than asked for.
        contacts = contacts.none()
    # Counted from the supporter tally where the filters allow (the whole union
    # instantly), the page found by index: see contacts/selectors.py.
    counts = selectors.supporter_search_figures(user=request.user, **filters)
    if form.errors:
        counts = dict.fromkeys(counts, 0)
    page = selectors.supporter_page(
        contacts=contacts,
        count=counts["total"],
        searched=bool(filters.get("q", "").strip()),
        page=form.cleaned_data.get("page") if form.is_valid() else 1,
        per_page=PAGE_SIZE,
    )
    context = {
        "form": form,
        "page": page,
        "counts": counts,
        "carried": form.carried(),
        "searched": bool(filters),
        "district_id": getattr(filters.get("district"), "pk", None),
        "districts": District.objects.visible_to(request.user),
    }
    if request.htmx:
        return render(request, "contacts/partials/supporter_results.html", context)
    return render(request, "contacts/contact_list.html", context)


@never_cache
@team_required
@require_http_methods(["GET", "POST"])
def contact_detail(request, pk: int):
    contact = selectors.contact_get(user=request.user, pk=pk)
    may_edit = can(request.user, "change", "contacts.contact")
    form = None
    if may_edit:
        form = SupporterEditForm(
            request.POST if request.method == "POST" else None, contact=contact
        )
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Your role can read supporters but not change them.")
        if form.is_valid():
            try:
                changed = contact_details_update(
                    actor=request.user, contact=contact, changes=form.changes()
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if changed:
                    labels = ", ".join(form[name].label.lower() for name in changed)
                    messages.success(request, f"Saved: {labels} of {contact.full_name}.")
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("contact-detail", pk=contact.pk)
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "consents": contact.consents.all(),
            "tags": contact.tags.all(),
            "gotv_events": selectors.contact_gotv_history(contact=contact),
            "drives": selectors.contact_drives(contact=contact),
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


@never_cache
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
