from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from huey.contrib.djhuey import HUEY

from campaign import selectors
from campaign.charts import turnout_chart
from campaign.decorators import role_required, team_required
from campaign.roles import Role, scope_for
from campaign.selectors import campaign_active
from campaign.tasks import consumer_last_seen
from contacts.selectors import contact_counts
from mailings.models import Mailing
from mailings.services import mailing_approve

# How many schools and chase-list supporters the lead's dashboard shows.
DASHBOARD_SCHOOLS = 8
DASHBOARD_CHASE = 5


@never_cache
@team_required
def home(request):
    """Each role's dashboard: where the campaign stands and what to do next."""
    user = request.user
    scope = scope_for(user)
    campaign = campaign_active()
    if request.htmx and request.GET.get("panel") == "sending":
        return render(
            request,
            "campaign/partials/drives_sending.html",
            {"sending": selectors.drives_sending(user=user)},
        )
    turnout = selectors.district_turnout(user=user)
    context = {
        "campaign": campaign,
        "scope": scope,
        "counts": contact_counts(user=user),
        "countdown": selectors.ballot_countdown(campaign=campaign),
        "chart": turnout_chart(turnout),
        "my_districts": [line for line in turnout if line.mine],
        "district_count": len(turnout),
    }
    if scope.role == Role.ORGANISER:
        context.update(
            awaiting=selectors.drives_awaiting_approval(user=user),
            sending=selectors.drives_sending(user=user),
            imports=selectors.imports_recent(user=user),
            unknown=selectors.unknown_rows_by_drive(user=user),
            chase_flags=selectors.chase_flags_for_organisers(user=user),
        )
    elif scope.role == Role.VOLUNTEER:
        context.update(
            drives=selectors.drives_of(user=user),
            sending=selectors.drives_sending(user=user),
        )
    elif scope.role == Role.LEAD:
        schools = selectors.lead_school_progress(user=user)
        context.update(
            schools=schools[:DASHBOARD_SCHOOLS],
            schools_total=len(schools),
            chase=selectors.chase_next(user=user, limit=DASHBOARD_CHASE),
        )
    return render(request, "campaign/home.html", context)


@role_required(Role.ORGANISER)
@require_POST
def drive_approve(request, pk: int):
    """The approval button on the organiser's dashboard (same service as the admin)."""
    mailing = get_object_or_404(Mailing.objects.visible_to(request.user), pk=pk)
    try:
        mailing = mailing_approve(actor=request.user, mailing=mailing)
    except ValidationError as exc:
        messages.error(request, f"{mailing.name}: {' '.join(exc.messages)}")
    else:
        messages.success(
            request, f"Approved “{mailing.name}”: it is now {mailing.get_status_display().lower()}."
        )
    return redirect("home")


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
