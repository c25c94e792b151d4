"""Seeing a drive before it goes: preview as a contact, test send to yourself."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.formats import date_format

from campaign.links import preview_url
from campaign.selectors import campaign_active
from contacts.models import Contact
from mailings.merge import Template, render
from mailings.models import Mailing
from mailings.services.compose import mailing_validate
from mailings.services.messages import ONE_CLICK_HEADER


def _values(contact: Contact) -> dict[str, str]:
    campaign = campaign_active()
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "school": contact.school.name if contact.school_id else "",
        "district": contact.district.name if contact.district_id else "",
        "candidate": campaign.candidate if campaign else "",
        "ballot_closes": date_format(timezone.localtime(campaign.ballot_closes), "l j F Y, H:i")
        if campaign
        else "",
        # A preview is not a send: its links name nobody and do nothing, so a volunteer
        # previewing a drive cannot unsubscribe a supporter or record their vote.
        "unsubscribe_url": preview_url("u"),
        "voted_url": preview_url("voted"),
    }


def mailing_preview(*, mailing: Mailing, contact: Contact) -> Template:
    """The drive as ``contact`` would get it (the caller has checked the contact is
    in the audience and visible)."""
    return render(mailing_validate(subject=mailing.subject, body=mailing.body), _values(contact))


def mailing_test_send(*, actor, mailing: Mailing, contact: Contact) -> str:
    """Send the preview for ``contact`` to the actor's own address; returns it."""
    if not Mailing.objects.visible_to(actor).filter(pk=mailing.pk).exists():
        raise PermissionDenied("You cannot see this drive.")
    if not actor.email:
        raise ValidationError("Your account has no email address to send the test to.")
    rendered = mailing_preview(mailing=mailing, contact=contact)
    campaign = campaign_active()
    message = EmailMultiAlternatives(
        subject=f"[TEST] {rendered.subject}",
        body=rendered.text,
        from_email=campaign.from_email if campaign else settings.DEFAULT_FROM_EMAIL,
        to=[actor.email],
        # As a real send carries them (the preview link does nothing when followed).
        headers={**ONE_CLICK_HEADER, "List-Unsubscribe": f"<{preview_url('u')}>"},
    )
    message.attach_alternative(rendered.html, "text/html")
    message.tags = [f"drive-{mailing.pk}", "test"]
    message.metadata = {"mailing_id": str(mailing.pk), "test": "1"}
    message.send()
    return actor.email
