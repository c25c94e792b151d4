"""Mailgun's tracking webhook, refusing replays.

Mailgun signs only ``timestamp + token``, not the event, so a captured signature block
could carry a forged event (a permanent failure for someone else's address, which
would suppress them). Anymail checks the signature; this view also refuses

* a timestamp further than ``MAILGUN_WEBHOOK_MAX_AGE_SECONDS`` from now, and
* a token already seen with another body (tokens are kept in ``WebhookToken`` for as
  long as their timestamps could still be accepted, then removed by
  ``webhook_tokens_forget`` in mailings/services/webhook_tokens.py). The ESP's retry of the very same delivery (same token,
  same body) is answered 200 and changes nothing.

The token and the request's events are stored together: a request that fails while its
events are handled forgets its token with them, so the ESP's retry of that same
delivery is accepted. An ordinary event (delivered, opened, clicked) on PostgreSQL is
stored with its token in ONE statement, in autocommit (``tracking_event_record_claimed``
in mailings/services/tracking.py), without going through Anymail's tracking signal;
anything else (a bounce, a complaint, a token seen before, a row left "unknown",
SQLite) claims the token and dispatches the signal in one transaction.
"""

from __future__ import annotations

import json

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpResponse

from mailings.services.tracking import tracking_event_record_claimed
from mailings.services.webhook_tokens import webhook_claim_make, webhook_claim_store

ESP = "mailgun"


def _signature_fields(request) -> tuple[dict | None, str, str]:
    """(the JSON body, or None for a form-encoded one; token; timestamp)."""
    if request.content_type == "application/json":
        payload = json.loads(request.body.decode("utf-8"))
        block = payload["signature"]
        return payload, str(block["token"]), str(block["timestamp"])
    return None, request.POST["token"], request.POST["timestamp"]


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
            self._payload, self._token, self._timestamp = _signature_fields(request)
        except (KeyError, ValueError, TypeError, UnicodeDecodeError):
            raise AnymailWebhookValidationFailure("Webhook signature block is malformed.") from None

    def parse_events(self, request):
        if self._payload is not None:  # parsed once already, with the signature block
            return [self.esp_to_anymail_event(self._payload)]
        return super().parse_events(request)

    def post(self, request, *args, **kwargs):
        self.run_validators(request)
        claim = webhook_claim_make(
            esp=ESP, token=self._token, timestamp=self._timestamp, body=request.body
        )
        events = self.parse_events(request)
        if len(events) == 1:
            done = tracking_event_record_claimed(
                event=events[0], esp_name=self.esp_name, claim=claim
            )
            if done is not None:
                return HttpResponse()
        # The token and the events it carries are stored in one transaction: one commit
        # per webhook, and if handling an event fails the token is forgotten with it, so
        # the ESP's retry of that same delivery is accepted.
        with transaction.atomic():
            if not webhook_claim_store(claim=claim):
                return HttpResponse()  # the ESP retrying a delivery already handled
            for event in events:
                self.signal.send(sender=self.__class__, event=event, esp_name=self.esp_name)
        return HttpResponse()
