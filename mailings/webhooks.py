"""Mailgun's tracking webhook, refusing replays.

Mailgun signs only ``timestamp + token``, not the event, so a captured signature block
could carry a forged event (a permanent failure for someone else's address, which
would suppress them). Anymail checks the signature; this view also refuses

* a timestamp further than ``MAILGUN_WEBHOOK_MAX_AGE_SECONDS`` from now, and
* a token already seen with another body (tokens are kept in ``WebhookToken`` for as
  long as their timestamps could still be accepted, then removed by
  ``webhook_tokens_forget`` in mailings/services/webhook_tokens.py). The ESP's retry of the very same delivery (same token,
  same body) is answered 200 and changes nothing.

The token and the request's events are stored in one transaction: a request that fails
while its events are handled forgets its token with them, so the ESP's retry of that
same delivery is accepted.
"""

from __future__ import annotations

import json

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpResponse

from mailings.services.webhook_tokens import webhook_token_claim

ESP = "mailgun"


def _signature_fields(request) -> tuple[str, str]:
    if request.content_type == "application/json":
        block = json.loads(request.body.decode("utf-8"))["signature"]
        return str(block["token"]), str(block["timestamp"])
    return request.POST["token"], request.POST["timestamp"]


class MailgunTrackingView(MailgunTrackingWebhookView):
    def __init__(self, **kwargs):
        # Anymail would otherwise verify with the API key, refuse every real event and
        # so never suppress a bounce: the signing key is required, never guessed.
        if not (getattr(settings, "ANYMAIL", None) or {}).get("MAILGUN_WEBHOOK_SIGNING_KEY"):
            raise ImproperlyConfigured(
                "MAILGUN_WEBHOOK_SIGNING_KEY must be set to Mailgun's webhook signing key "
                "(Mailgun: Sending > Webhooks) to receive Mailgun tracking events."
            )
        super().__init__(**kwargs)

    def run_validators(self, request):
        super().run_validators(request)  # basic auth, then Mailgun's signature
        try:
            self._token, self._timestamp = _signature_fields(request)
        except (KeyError, ValueError, TypeError, UnicodeDecodeError):
            raise AnymailWebhookValidationFailure("Webhook signature block is malformed.") from None

    def post(self, request, *args, **kwargs):
        self.run_validators(request)
        # The token and the events it carries are stored in one transaction: one commit
        # per webhook, and if handling an event fails the token is forgotten with it, so
        # the ESP's retry of that same delivery is accepted.
        with transaction.atomic():
            fresh = webhook_token_claim(
                esp=ESP, token=self._token, timestamp=self._timestamp, body=request.body
            )
            if not fresh:
                return HttpResponse()  # the ESP retrying a delivery already handled
            for event in self.parse_events(request):
                self.signal.send(sender=self.__class__, event=event, esp_name=self.esp_name)
        return HttpResponse()
