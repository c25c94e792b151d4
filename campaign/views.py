from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY

from campaign import outbox
from campaign.decorators import role_required, team_required
from campaign.roles import Role, scope_for
from campaign.security.decorators import sandboxed_frame
from campaign.selectors import campaign_active
from campaign.tasks import consumer_last_seen
from contacts.selectors import contact_counts


@team_required
def home(request):
    scope = scope_for(request.user)
    return render(
        request,
        "campaign/home.html",
        {
            "campaign": campaign_active(),
            "scope": scope,
            "counts": contact_counts(user=request.user),
        },
    )


@role_required(Role.ORGANISER)
def outbox_list(request):
    paginator = Paginator(range(outbox.outbox_count()), 50)
    page = paginator.get_page(request.GET.get("page"))
    messages = outbox.outbox_page(
        offset=page.start_index() - 1 if page.object_list else 0, limit=50
    )
    return render(request, "campaign/outbox_list.html", {"page": page, "messages": messages})


@role_required(Role.ORGANISER)
def outbox_detail(request, message_id: str):
    found = outbox.outbox_get(message_id)
    if found is None:
        raise Http404("No such message.")
    summary, parsed = found
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return render(
        request,
        "campaign/outbox_detail.html",
        {
            "message": summary,
            "headers": list(parsed.items()),
            "text": text.get_content() if text else "",
            "has_html": html is not None,
        },
    )


@sandboxed_frame
@role_required(Role.ORGANISER)
def outbox_html(request, message_id: str):
    found = outbox.outbox_get(message_id)
    html = found[1].get_body(preferencelist=("html",)) if found else None
    if html is None:
        raise Http404("No such message.")
    # Shown as a recipient would see it, inside the sandbox policy of @sandboxed_frame.
    return HttpResponse(html.get_content(), content_type="text/html; charset=utf-8")


@require_GET
def healthz(request):
    """Liveness for load balancers: a bare "ok" (503 when the database does not answer).
    Organisers also get what runs where and when a queue consumer last ran; nobody
    else learns the database vendor or the queue type."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not alive"
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    user = request.user
    # /healthz is reachable before the second factor, so the details wait for it.
    half_signed_in = settings.REQUIRE_2FA_FOR_ORGANISERS and not user.is_verified()
    if scope_for(user).role != Role.ORGANISER or half_signed_in:
        return HttpResponse("ok\n", content_type="text/plain")
    seen = consumer_last_seen()
    return JsonResponse(
        {
            "ok": True,
            "database": connection.vendor,
            "queue": type(HUEY.storage).__name__,
            "consumer_seen_seconds_ago": None if seen is None else round(seen, 1),
        }
    )
