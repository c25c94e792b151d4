from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from huey.contrib.djhuey import HUEY

from campaign import outbox
from campaign.decorators import role_required, team_required
from campaign.roles import Role, scope_for
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


@role_required(Role.ORGANISER)
def outbox_html(request, message_id: str):
    found = outbox.outbox_get(message_id)
    html = found[1].get_body(preferencelist=("html",)) if found else None
    if html is None:
        raise Http404("No such message.")
    response = HttpResponse(html.get_content(), content_type="text/html; charset=utf-8")
    # Show the mail as a recipient would, but never run its scripts or load remote content.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


def healthz(request):
    """Liveness for load balancers and operators: database reachable, consumer alive."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    seen = consumer_last_seen()
    return JsonResponse(
        {
            "ok": True,
            "database": connection.vendor,
            "queue": type(HUEY.storage).__name__,
            "consumer_seen_seconds_ago": None if seen is None else round(seen, 1),
        }
    )


class SignOutView(auth_views.LogoutView):
    """Sign out (POST only, as Django requires) and say so on the sign-in page."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.info(request, "You are signed out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response
