"""Each audit event as a sentence an organiser can read ("lead_a printed the sheet of
St Mary's RC Primary (6 supporters)"), for the audit page and its CSV export. Every
action has a phrasing here; a test holds that to every AuditEvent.Action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from campaign.models import AuditEvent

A = AuditEvent.Action
ROLE_WORDS = {"organiser": "organiser", "volunteer": "volunteer", "lead": "district lead"}
SETTING_WORDS = {
    "name": "name",
    "candidate": "candidate",
    "ballot_opens": "ballot opens",
    "ballot_closes": "ballot closes",
    "sender_name": "sender name",
    "sender_email": "sender address",
    "reply_to": "reply-to address",
}


def _n(count: Any, one: str, many: str | None = None) -> str:
    try:
        number = int(count or 0)
    except (TypeError, ValueError):
        number = 0
    return f"{number:,} {one if number == 1 else (many or one + 's')}"


def _when(value: Any) -> str:
    """An ISO date-time from the trail in local time; anything else as it is."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value or "(blank)"
        if timezone.is_aware(parsed):
            parsed = timezone.localtime(parsed)
        return parsed.strftime("%-d %b %Y %H:%M")
    return "(blank)" if value in (None, "") else str(value)


def _role(state: dict | None) -> str:
    if not state or not state.get("role"):
        return "no role"
    words = ROLE_WORDS.get(state["role"], state["role"])
    if state.get("all_districts"):
        return f"{words} (every district)"
    districts = state.get("districts") or []
    return f"{words} ({', '.join(districts)})" if districts else words


def _import(e: AuditEvent, who: str) -> str:
    c = e.counts
    if e.detail.get("what") == "canvass sheet upload":
        return (
            f"{who} uploaded the ticked canvass sheet of {e.target_label} "
            f"({_n(c.get('applied'), 'result')} applied, {_n(c.get('errors'), 'error')})"
        )
    rejected = sum(int(c.get(k, 0) or 0) for k in c if k.startswith("rejected_"))
    mapped = e.detail.get("districts_mapped", 0) + e.detail.get("schools_mapped", 0)
    tail = f"; {_n(mapped, 'new place')} mapped onto existing ones" if mapped else ""
    return (
        f"{who} imported {e.detail.get('file_name') or e.target_label} "
        f"({_n(c.get('created'), 'supporter')} added, {c.get('updated', 0):,} updated, "
        f"{rejected:,} rejected{tail})"
    )


def _import_undo(e: AuditEvent, who: str) -> str:
    c = e.counts
    return (
        f"{who} undid the import {e.target_label} ({_n(c.get('contacts_removed'), 'supporter')} "
        f"removed, {c.get('contacts_restored', 0):,} restored, "
        f"{int(c.get('contacts_kept', 0) or 0) + int(c.get('changes_kept', 0) or 0):,} kept)"
    )


def _drive_start(e: AuditEvent, who: str) -> str:
    if "requeued_unknown" in e.counts:
        return (
            f"{who} re-sent {_n(e.counts['requeued_unknown'], 'unconfirmed message')} of the "
            f"drive {e.target_label}"
        )
    approved = e.detail.get("approved_by")
    return (
        f"{who} started the drive {e.target_label} ({_n(e.counts.get('recipients'), 'recipient')}"
        + (f", approved by {approved})" if approved else ")")
    )


def _canvass_print(e: AuditEvent, who: str) -> str:
    rows = _n(e.counts.get("rows"), "supporter")
    email = ", with email addresses" if e.detail.get("with_email") else ""
    if e.detail.get("pack"):
        pages = _n(e.counts.get("pages"), "page")
        return f"{who} printed the canvass pack of {e.target_label} ({rows}, {pages}{email})"
    if e.detail.get("no_school"):
        return f"{who} printed the sheet of supporters with no school in {e.target_label} ({rows}{email})"
    return f"{who} printed the sheet of {e.target_label} ({rows}{email})"


def _export(e: AuditEvent, who: str) -> str:
    what = e.detail.get("what", "data")
    of = f" of {e.target_label}" if e.target_label else ""
    fmt = str(e.detail.get("format", "")).upper()
    return (
        f"{who} exported {what}{of} ({_n(e.counts.get('rows'), 'row')}{', ' + fmt if fmt else ''})"
    )


def _role_change(e: AuditEvent, who: str) -> str:
    before, after = e.detail.get("before"), e.detail.get("after")
    if not after or not after.get("role"):
        return f"{who} removed {e.target_label} from the team (was {_role(before)})"
    if not before or not before.get("role"):
        return f"{who} made {e.target_label} {_role(after)}"
    return f"{who} changed {e.target_label} from {_role(before)} to {_role(after)}"


def _account_change(e: AuditEvent, who: str) -> str:
    d = e.detail
    if d.get("created"):
        return f"{who} created the account {e.target_label}"
    changed = d.get("changed", [])
    if "is_active" in changed and isinstance(d.get("is_active"), dict):
        verb = "reactivated" if d["is_active"].get("after") else "deactivated"
        return f"{who} {verb} the account {e.target_label}"
    if "password" in changed:
        return f"{who} changed the password of {e.target_label}"
    names = ", ".join(str(name).replace("_", " ") for name in changed) or "details"
    return f"{who} changed the {names} of the account {e.target_label}"


def _second_factor(e: AuditEvent, who: str) -> str:
    if "removed" in e.detail:
        return (
            f"{who} removed the second factor \u201c{e.detail['removed']}\u201d of {e.target_label}"
        )
    return f"{who} set up a second factor for {e.target_label}"


def _campaign_change(e: AuditEvent, who: str) -> str:
    before, after = e.detail.get("before", {}), e.detail.get("after", {})
    if e.detail.get("created"):
        return f"{who} created the campaign {e.target_label}"
    parts = [
        f"{SETTING_WORDS.get(name, name)} from {_when(before.get(name))} to {_when(after.get(name))}"
        for name in e.detail.get("fields", sorted(after))
    ]
    return f"{who} changed the campaign settings of {e.target_label}: " + "; ".join(parts)


def _invitation_send(e: AuditEvent, who: str) -> str:
    d = e.detail
    role = _role({"role": d.get("role"), "districts": d.get("districts", [])})
    return f"{who} invited {d.get('email', e.target_label)} as {role}"


def _drive_did(
    what: str, *, reason: str | None = None, comment: str | None = None
) -> Callable[[AuditEvent, str], str]:
    """A drive action's sentence: ``what`` names the drive as {drive}; a reason from the
    detail follows in brackets, a comment in quotes."""

    def phrase(e: AuditEvent, who: str) -> str:
        text = f"{who} {what.format(drive=e.target_label)}"
        if reason and e.detail.get(reason):
            text += f" ({e.detail[reason]})"
        if comment and e.detail.get(comment):
            text += f": “{e.detail[comment]}”"
        return text

    return phrase


PHRASES: dict[str, Callable[[AuditEvent, str], str]] = {
    A.IMPORT: _import,
    A.IMPORT_UNDO: _import_undo,
    A.DRIVE_START: _drive_start,
    A.DRIVE_APPROVE: lambda e, who: (
        f"{who} approved the drive {e.target_label} "
        f"({_n(e.counts.get('audience'), 'supporter')} to email)"
    ),
    A.DRIVE_APPROVAL_REQUEST: lambda e, who: (
        f"{who} asked organisers to approve the drive {e.target_label} "
        f"({_n(e.counts.get('audience'), 'supporter')} to email)"
    ),
    A.DRIVE_SEND_BACK: _drive_did("sent the drive {drive} back for changes", comment="comment"),
    A.DRIVE_PAUSE: _drive_did("paused the drive {drive}", reason="reason"),
    A.DRIVE_RESUME: _drive_did("resumed the drive {drive}"),
    A.DRIVE_CANCEL: _drive_did("cancelled the drive {drive}", reason="reason"),
    A.DRIVE_RECONCILE: lambda e, who: (
        f"{who} asked the ESP about the unknown rows of {e.target_label}: "
        f"{_n(e.counts.get('proven_sent'), 'proven sent', 'proven sent')}, "
        f"{_n(e.counts.get('proven_not_sent'), 'proven not sent', 'proven not sent')}, "
        f"{_n(e.counts.get('still_unknown'), 'still unknown', 'still unknown')}"
    ),
    A.CANVASS_PRINT: _canvass_print,
    A.EXPORT: _export,
    A.ROLE_CHANGE: _role_change,
    A.CONSENT_WITHDRAW: lambda e, who: (
        f"{who} recorded {_n(e.counts.get('consent_records'), 'withdrawal')} of consent"
        + (f" ({str(e.detail['how']).replace('_', ' ')})" if e.detail.get("how") else "")
    ),
    A.CONTACT_CHANGE: lambda e, who: (
        f"{who} changed the "
        + (", ".join(f.replace("_", " ") for f in e.detail.get("fields", [])) or "details")
        + f" of {e.target_label}"
    ),
    A.SEED: lambda e, who: (
        f"{who} seeded demo data ({_n(e.counts.get('contacts'), 'supporter')}, "
        f"{_n(e.counts.get('schools'), 'school')})"
    ),
    A.SCHOOLS_SPLIT: lambda e, who: (
        f"{who} split merged schools ({_n(e.counts.get('schools_created'), 'school')} created, "
        f"{_n(e.counts.get('contacts_moved'), 'supporter')} moved)"
    ),
    A.ACCOUNT_CHANGE: _account_change,
    A.SECOND_FACTOR: _second_factor,
    A.SIGN_IN_UNLOCK: lambda e, who: (
        f"{who} lifted the sign-in lockout of {e.detail.get('username', 'an account')} "
        f"({_n(e.detail.get('failures'), 'failed attempt')})"
    ),
    A.SUBJECT_ACCESS: lambda e, who: (
        f"{who} made a subject access copy of {e.target_label} "
        f"({str(e.detail.get('format', '')).upper() or 'file'})"
    ),
    A.ERASURE: lambda e, who: (
        f"{who} erased {e.target_label}"
        + (f" ({str(e.detail['why']).replace('_', ' ')})" if e.detail.get("why") else "")
    ),
    A.RETENTION: lambda e, who: (
        f"{who} erased supporters kept past the retention period "
        f"({_n(e.counts.get('supporters'), 'supporter')})"
    ),
    A.EMAIL_CHANGE: lambda e, who: (
        f"{who} {e.detail.get('state', 'recorded')} a change of address for {e.target_label}"
    ),
    A.INVITATION_SEND: _invitation_send,
    A.INVITATION_ACCEPT: lambda e, who: (
        f"{e.target_label} accepted their invitation and set a password"
    ),
    A.CAMPAIGN_CHANGE: _campaign_change,
}


def audit_sentence(event: AuditEvent) -> str:
    who = event.actor_label or "The system"
    phrase = PHRASES.get(event.action)
    if phrase is None:
        return f"{who}: {event.get_action_display()} {event.target_label}".strip()
    return phrase(event, who)
