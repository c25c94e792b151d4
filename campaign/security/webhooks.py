"""The ESP tracking webhooks Turnout mounts at /anymail/.

Anymail's own URLconf mounts inbound and tracking endpoints for every ESP it knows;
an unconfigured one answers any request with a configuration error (a 500 anyone can
trigger). Turnout receives no inbound mail and supports four ESPs, so only their
tracking endpoints are mounted: with an ESP configured, just that one; on the outbox
(demo, tests) all four, where an unconfigured one answers 404.

They are served by a WSGI handler of their own (``webhooks_apart``, used by
campaign/wsgi.py): Django's, with ``WEBHOOK_MIDDLEWARE`` instead of ``MIDDLEWARE``.
A webhook needs no session, user, CSRF token, message or second factor, and a burst
of them arrives while a drive sends; the full stack took a fifth of each one's CPU.
Only paths under /anymail/ go there, and every URL there is one of these webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from anymail.exceptions import AnymailConfigurationError
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.http import Http404
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from mailings.webhooks import MailgunTrackingView

TRACKING_VIEWS = {
    # Mailgun's with replay protection (mailings/webhooks.py).
    "mailgun": MailgunTrackingView,
    "postmark": PostmarkTrackingWebhookView,
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTrackingWebhookView,
}


def configured_esp() -> str | None:
    parts = settings.EMAIL_BACKEND.split(".")
    if parts[:2] == ["anymail", "backends"] and parts[2] in TRACKING_VIEWS:
        return parts[2]
    return None


def _answer_404_when_unconfigured(view):
    @csrf_exempt
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (AnymailConfigurationError, ImproperlyConfigured):
            raise Http404("This ESP is not configured here.") from None

    return wrapped


def tracking_urlpatterns() -> list:
    esp = configured_esp()
    if esp is not None:
        # The ESP in use: a configuration error must be loud, never a quiet 404.
        views = {esp: TRACKING_VIEWS[esp].as_view()}
    else:
        views = {
            name: _answer_404_when_unconfigured(view.as_view())
            for name, view in TRACKING_VIEWS.items()
        }
    return [
        path(f"{name}/tracking/", view, name=f"{name}_tracking_webhook")
        for name, view in views.items()
    ]


WEBHOOK_PATH_PREFIX = "/anymail/"


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with settings.WEBHOOK_MIDDLEWARE as its middleware."""

    def load_middleware(self, is_async=False):
        # Django reads the list from settings.MIDDLEWARE and nowhere else. This runs
        # once, as the process loads the application, before any request is served.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


def webhooks_apart(site: Callable) -> Callable:
    """The site's WSGI application with requests under /anymail/ handed to a
    WebhookHandler instead."""
    webhooks = WebhookHandler()

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        # PATH_INFO is the path Django resolves too, so nothing outside /anymail/ can
        # be reached through the lean handler.
        if environ.get("PATH_INFO", "").startswith(WEBHOOK_PATH_PREFIX):
            return webhooks(environ, start_response)
        return site(environ, start_response)

    application.site = site  # type: ignore[attr-defined]
    application.webhooks = webhooks  # type: ignore[attr-defined]
    return application
