"""The ESP tracking webhooks Turnout mounts at /anymail/.

Anymail's own URLconf mounts inbound and tracking endpoints for every ESP it knows;
an unconfigured one answers any request with a configuration error (a 500 anyone can
trigger). Turnout receives no inbound mail and supports four ESPs, so only their
tracking endpoints are mounted: with an ESP configured, just that one; on the outbox
(demo, tests) all four, where an unconfigured one answers 404.
"""

from __future__ import annotations

from anymail.exceptions import AnymailConfigurationError
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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
