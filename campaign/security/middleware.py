"""Security middleware: who acts (for the audit trail), session limits, the organisers'
second factor, no caching of pages with personal data, and the webhooks' lean stack's
Content-Security-Policy."""

from __future__ import annotations

import time

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from campaign.roles import Role, scope_for
from campaign.security import signals
from campaign.security.otp import has_confirmed_device

# Refresh the "last seen" stamp at most this often, so a busy page is not a session
# write per request; the idle limit is kept to within this slack.
_LAST_SEEN_GRANULARITY = 60


class AuditActorMiddleware:
    """Make the signed-in user the actor of anything audited during the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = signals.current_actor.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            signals.current_actor.reset(token)


class SessionTimeoutMiddleware:
    """Sign out after SESSION_IDLE_SECONDS without a request, and SESSION_COOKIE_AGE
    after sign-in whatever the activity (Django's own expiry slides with every save)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            signed_in = session.setdefault(signals.SIGNED_IN_AT, now)
            last_seen = session.get(signals.LAST_SEEN_AT, now)
            if now - last_seen > settings.SESSION_IDLE_SECONDS:
                self._sign_out(request, "You were signed out after a period without activity.")
            elif now - signed_in > settings.SESSION_COOKIE_AGE:
                self._sign_out(request, "You were signed out: sessions last at most a day's work.")
            elif now - last_seen >= _LAST_SEEN_GRANULARITY or signals.LAST_SEEN_AT not in session:
                session[signals.LAST_SEEN_AT] = now
        return self.get_response(request)

    @staticmethod
    def _sign_out(request, message: str) -> None:
        logout(request)
        messages.info(request, message)


# URL names an organiser may reach before giving the second factor.
SECOND_FACTOR_EXEMPT = frozenset(
    {"login", "logout", "otp-verify", "otp-setup", "healthz", "unsubscribe", "voted"}
)


class SecondFactorMiddleware:
    """With REQUIRE_2FA_FOR_ORGANISERS on, an organiser (superusers included) who has not
    given a one-time code this session reaches nothing but the sign-in pages: they are
    sent to enrol (no device yet) or to verify."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.REQUIRE_2FA_FOR_ORGANISERS:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if scope_for(user).role != Role.ORGANISER:
            return None
        match = request.resolver_match
        if match is None or match.url_name in SECOND_FACTOR_EXEMPT:
            return None
        if match.namespace == "anymail":
            return None
        target = "otp-verify" if has_confirmed_device(user) else "otp-setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


class NoStoreMiddleware:
    """Nothing Turnout generates may be kept by a browser or proxy cache: pages, CSVs and
    PDFs carry supporters' details, and a shared or stolen machine would keep them.
    Static files (served before this by WhiteNoise) are untouched; a view with nothing
    personal may opt out with ``campaign.security.decorators.cache_allowed``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "turnout_cache_allowed", False):
            return response
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return response
        add_never_cache_headers(response)
        return response


class FixedContentSecurityPolicyMiddleware:
    """The site's Content-Security-Policy (django-csp's, from CONTENT_SECURITY_POLICY),
    built once, for the ESP webhooks' lean stack (settings.WEBHOOK_MIDDLEWARE).

    django-csp builds the header anew for every response (0.1 ms here) because a view
    may ask for a nonce or a policy of its own; the webhook views never do. Like
    django-csp, it leaves Django's debug 404 and 500 pages alone when DEBUG is on."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.headers = [
            (name, policy)
            for name, policy in (
                (HEADER, build_policy()),
                (HEADER_REPORT_ONLY, build_policy(report_only=True)),
            )
            if policy
        ]

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            return response
        for name, policy in self.headers:
            if name not in response:
                response[name] = policy
        return response
