"""The objects the permission matrix (test_permission_matrix.py) builds URLs from: two
districts with a school, a supporter, a drive, a pack, an import batch and signed links
each, plus one of everything else the URLconf takes an id of."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaign.links import VOTED, signed_token
from campaign.models import AuditEvent, CanvassPack, TeamMember
from campaign.services import audit_record
from contacts.models import EmailChange, GotvEvent, ImportBatch, Suppression, Tag
from mailings.models import Mailing, Recipient
from mailings.services.unsubscribe import unsubscribe_url
from tests.admin_helpers import admin_form_data
from tests.campaign.matrix_runner import RoleClients


@dataclass(frozen=True)
class Route:
    route: str  # as written in the URLconf, prefixes joined: "contacts/<int:pk>/"
    name: str | None
    is_regex: bool


def url_routes() -> list[Route]:
    """Every URL pattern in the URLconf, admin and included apps too, depth first."""

    def walk(resolver, prefix: str, namespace: str | None, regex: bool):
        for entry in resolver.url_patterns:
            is_regex = regex or type(entry.pattern).__name__ == "RegexPattern"
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry, prefix + str(entry.pattern), inner, is_regex)
            elif isinstance(entry, URLPattern):
                name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
                yield Route(prefix + str(entry.pattern), name, is_regex)

    return list(walk(get_resolver(), "", None, False))


_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def concrete_path(route: str, value: Any) -> str:
    """Fill each <converter:name> of a route with the named value (an object's pk, or
    an entry of a dict of values)."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if isinstance(value, dict):
            return str(value[name])
        return str(value.pk)

    return "/" + _PARAM.sub(fill, route)


def build_world(
    *,
    district_a,
    district_b,
    school_a,
    school_b,
    contact_a,
    contact_b,
    organiser,
    volunteer,
    lead_a,
    lead_b,
    campaign,
    outbox_dir,
) -> dict[str, Any]:
    drive_a = Mailing.objects.create(name="Drive A", subject="Hi", body="Hi", created_by=volunteer)
    drive_a.districts.set([district_a])
    drive_b = Mailing.objects.create(name="Drive B", subject="Hi", body="Hi", created_by=organiser)
    drive_b.districts.set([district_b])
    recipient_a = Recipient.objects.create(
        mailing=drive_a, contact=contact_a, email=contact_a.email, email_hash="a" * 64
    )
    recipient_b = Recipient.objects.create(
        mailing=drive_b, contact=contact_b, email=contact_b.email, email_hash="b" * 64
    )
    pack_a = CanvassPack.objects.create(district=district_a, requested_by=lead_a)
    pack_b = CanvassPack.objects.create(district=district_b, requested_by=lead_b)
    failed = CanvassPack.Status.FAILED
    pack_a_failed = CanvassPack.objects.create(
        district=district_a, requested_by=lead_a, status=failed
    )
    pack_b_failed = CanvassPack.objects.create(
        district=district_b, requested_by=lead_b, status=failed
    )
    awaiting = Mailing.Status.AWAITING_APPROVAL
    drive_a_awaiting = Mailing.objects.create(
        name="Drive A (big)", subject="Hi", body="Hi", created_by=volunteer, status=awaiting
    )
    drive_a_awaiting.districts.set([district_a])
    drive_b_awaiting = Mailing.objects.create(
        name="Drive B (big)", subject="Hi", body="Hi", created_by=organiser, status=awaiting
    )
    drive_b_awaiting.districts.set([district_b])
    email_change = EmailChange.objects.create(
        contact=contact_a, new_email="new-address-a@example.net", requested_by=lead_a
    )
    batch = ImportBatch.objects.create(
        created_by=organiser, file_name="supporters.csv", sha256="0" * 64, status="done"
    )
    gotv_a = GotvEvent.objects.create(contact=contact_a, status="pledged", method="web")
    gotv_b = GotvEvent.objects.create(contact=contact_b, status="pledged", method="web")
    audit = audit_record(actor=organiser, action=AuditEvent.Action.EXPORT, detail={"x": 1})
    attempt = AccessAttempt.objects.create(
        username="someone",
        ip_address="192.0.2.1",
        user_agent="test",
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    device = TOTPDevice.objects.create(user=organiser, name="phone", confirmed=True)
    message = EmailMultiAlternatives(
        "Your ballot",
        "text",
        "turnout@example.org",
        [contact_a.email],
        connection=get_connection("campaign.email.outbox.OutboxBackend", outbox_dir=outbox_dir),
    )
    message.attach_alternative("<p>html</p>", "text/html")
    message.send()
    return {
        "-": {},
        "district_a": district_a,
        "district_b": district_b,
        "school_a": school_a,
        "school_b": school_b,
        "contact_a": contact_a,
        "contact_b": contact_b,
        "consent_a": contact_a.consents.first(),
        "consent_b": contact_b.consents.first(),
        "drive_a": drive_a,
        "drive_b": drive_b,
        "recipient_a": recipient_a,
        "recipient_b": recipient_b,
        "pack_a": pack_a,
        "pack_b": pack_b,
        "pack_a_failed": pack_a_failed,
        "pack_b_failed": pack_b_failed,
        "drive_a_awaiting": drive_a_awaiting,
        "drive_b_awaiting": drive_b_awaiting,
        "email_change": email_change,
        "access_a_json": {"pk": contact_a.pk, "fmt": "json"},
        "access_a_pdf": {"pk": contact_a.pk, "fmt": "pdf"},
        "access_b_json": {"pk": contact_b.pk, "fmt": "json"},
        "access_a_exe": {"pk": contact_a.pk, "fmt": "exe"},
        "batch": batch,
        "batch_csv": {"pk": batch.pk, "file_format": "csv"},
        "rejected_csv": {"file_format": "csv"},
        "gotv_a": gotv_a,
        "gotv_b": gotv_b,
        "audit": audit,
        "campaign": campaign,
        "member_lead_a": TeamMember.objects.get(user=lead_a),
        "user_lead_a": lead_a,
        "user_organiser": organiser,
        "group": _group(),
        "tag": Tag.objects.create(name="rep"),
        "suppression": Suppression.objects.create(address_hash="c" * 64, reason="manual"),
        "attempt": attempt,
        "device": device,
        "message": {"message_id": message.anymail_status.message_id},
        "unsubscribe_a": {"token": unsubscribe_url(recipient_id=recipient_a.pk).split("/")[-2]},
        "voted_a": {"token": signed_token(purpose=VOTED, value=contact_a.pk)},
        "bad_token": {"token": "not-a-token"},
        "reset_link": {
            "uidb64": urlsafe_base64_encode(force_bytes(lead_a.pk)),
            "token": default_token_generator.make_token(lead_a),
        },
        "contact_a_on_site": {
            "content_type_id": ContentType.objects.get_for_model(contact_a).pk,
            "object_id": contact_a.pk,
        },
    }


def _group():
    from django.contrib.auth.models import Group

    return Group.objects.create(name="Readers")


# Admin change forms whose rendered data the matrix's POST bodies start from.
FORMS = {
    "contact_a": ("admin:contacts_contact_change", "contact_a"),
    "contact_b": ("admin:contacts_contact_change", "contact_b"),
    "drive_a": ("admin:mailings_mailing_change", "drive_a"),
    "member_lead_a": ("admin:campaign_teammember_change", "member_lead_a"),
}


@pytest.fixture
def matrix_world(
    district_a,
    district_b,
    school_a,
    school_b,
    contact_a,
    contact_b,
    organiser,
    volunteer,
    lead_a,
    lead_b,
    campaign,
    settings,
    tmp_path,
):
    settings.OUTBOX_DIR = tmp_path
    objects = build_world(
        district_a=district_a,
        district_b=district_b,
        school_a=school_a,
        school_b=school_b,
        contact_a=contact_a,
        contact_b=contact_b,
        organiser=organiser,
        volunteer=volunteer,
        lead_a=lead_a,
        lead_b=lead_b,
        campaign=campaign,
        outbox_dir=tmp_path,
    )
    clients = RoleClients(
        {"organiser": organiser, "volunteer": volunteer, "lead_a": lead_a, "lead_b": lead_b}
    )
    objects["forms"] = {
        name: admin_form_data(
            clients.request("organiser", "GET", reverse(url, args=[objects[obj].pk]))
        )
        for name, (url, obj) in FORMS.items()
    }
    return objects, clients


def stored_rows(world) -> dict[str, dict | None]:
    """Each model object of the world as its row now reads in the database."""
    return {
        name: type(obj)._default_manager.filter(pk=obj.pk).values().first()
        for name, obj in world.items()
        if isinstance(obj, Model)
    }


def target_path(route: str, target: str, world) -> str:
    """``object`` fills the route; ``object?param=name`` adds a query parameter holding
    the id of the world's ``name`` (a district or school filter, say)."""
    if target.startswith("url:"):
        return target[4:]
    target, _, query = target.partition("?")
    path = concrete_path(route, world[target])
    if query:
        param, _, name = query.partition("=")
        path += f"?{param}={world[name].pk}"
    return path


def leaks_of(role: str, response, world, out_of_scope: dict) -> list[str]:
    """Supporters a role may not see whose address or surname is in a page it got."""
    if response.status_code != 200 or role not in out_of_scope:
        return []
    body = b"".join(response) if response.streaming else response.content
    found = []
    for name in out_of_scope[role]:
        contact = world[name]
        if contact.email.encode() in body or contact.last_name.encode() in body:
            found.append(f"{contact.email} (not in {role}'s districts)")
    return found
