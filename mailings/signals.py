"""Anymail's tracking signal, connected in MailingsConfig.ready().

Every ESP's events come through it but Mailgun's ordinary ones (delivered, opened,
clicked) on PostgreSQL, which mailings/webhooks.py stores itself, with the webhook's
one-time token, in one statement."""

from anymail.signals import tracking
from django.dispatch import receiver

from mailings.services.tracking import tracking_event_record


@receiver(tracking, dispatch_uid="mailings.tracking")
def on_tracking(sender, event, esp_name, **kwargs) -> None:
    # Handled inside the webhook request: a failure answers 500 and the ESP retries,
    # and the unique event key makes the retry safe.
    tracking_event_record(event=event, esp_name=esp_name)
