"""Campaign-wide get-out-the-vote rules, driven by the active campaign's ballot window.

* Before the ballot opens nobody can have a ballot paper or have voted: only pledges
  (pledged, won't vote, back to unknown) can be recorded.
* Once it has closed, no GOTV drive may still go out: unfinished drives are cancelled
  by a periodic task.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from campaign.models import Campaign, ChaseResult, ChaseState, GotvTap
from campaign.selectors import campaign_active
from contacts.models import Contact, GotvEvent

logger = logging.getLogger(__name__)

PLEDGE_STATUSES = frozenset({Contact.Gotv.UNKNOWN, Contact.Gotv.PLEDGED, Contact.Gotv.WONT_VOTE})


class GotvRuleError(ValidationError):
    """A GOTV status that the campaign's ballot window does not allow right now."""


def ballot_window_check(
    *, status: str, at: datetime | None = None, campaign: Campaign | None = None
) -> None:
    """Raise GotvRuleError if ``status`` may not be recorded at ``at``."""
    if status not in Contact.Gotv.values:
        raise GotvRuleError(
            f"{status!r} is not a GOTV status; use one of {', '.join(Contact.Gotv.values)}."
        )
    campaign = campaign or campaign_active()
    at = at or timezone.now()
    if campaign is not None and at < campaign.ballot_opens and status not in PLEDGE_STATUSES:
        opens = date_format(timezone.localtime(campaign.ballot_opens), "j F Y, H:i")
        raise GotvRuleError(
            f"The ballot opens on {opens}: until then only pledges can be recorded "
            f"(pledged, won't vote or unknown), not {Contact.Gotv(status).label.lower()}."
        )


def ballot_closed(*, at: datetime | None = None, campaign: Campaign | None = None) -> bool:
    campaign = campaign or campaign_active()
    return campaign is not None and (at or timezone.now()) >= campaign.ballot_closes


def gotv_drives_cancel_after_close(*, now: datetime | None = None) -> int:
    """Once the ballot has closed, stop every drive that has not finished: scheduled,
    awaiting approval, sending or paused. A "go and vote" email after the close is
    wrong, and the drives' own start-due task could launch a drive scheduled for later.
    """
    from mailings.models import Mailing
    from mailings.services import mailing_cancel

    if not ballot_closed(at=now):
        return 0
    unfinished = (
        Mailing.Status.SCHEDULED,
        Mailing.Status.AWAITING_APPROVAL,
        Mailing.Status.SENDING,
        Mailing.Status.PAUSED,
    )
    cancelled = 0
    for mailing in Mailing.objects.filter(status__in=unfinished):
        try:
            mailing_cancel(
                actor=None,
                mailing=mailing,
                reason="Cancelled automatically: the ballot has closed.",
            )
        except ValidationError:
            continue  # finished or cancelled meanwhile
        cancelled += 1
    if cancelled:
        logger.info("Cancelled %s unfinished drive(s): the ballot has closed.", cancelled)
    return cancelled


# --- what a lead may tap now ---------------------------------------------------------


@dataclass(frozen=True)
class ResultButton:
    value: str
    label: str
    allowed: bool
    reason: str = ""


def result_buttons(
    *,
    values: list[tuple[str, str]],
    at: datetime | None = None,
    campaign: Campaign | None = None,
) -> list[ResultButton]:
    """The result buttons to draw, each allowed or not by the ballot window right now,
    with the reason when not: a page never offers a tap the server would refuse."""
    campaign = campaign or campaign_active()
    at = at or timezone.now()
    buttons = []
    for value, label in values:
        if value == ChaseResult.NOT_REACHED:
            buttons.append(ResultButton(value, label, True))
            continue
        try:
            ballot_window_check(status=value, at=at, campaign=campaign)
        except GotvRuleError:
            opens = date_format(timezone.localtime(campaign.ballot_opens), "j F, H:i")
            buttons.append(ResultButton(value, label, False, f"once voting opens on {opens}"))
        else:
            buttons.append(ResultButton(value, label, True))
    return buttons


# --- taps: one result for one supporter, applied once ---------------------------------

TAP_RESULTS = frozenset(Contact.Gotv.values) | {ChaseResult.NOT_REACHED.value}
LEAVES_CHASE = frozenset({Contact.Gotv.VOTED, Contact.Gotv.WONT_VOTE})
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
NOTE_MAX = 200


class TapKeyError(ValidationError):
    """A tap key that is malformed, or already used for a different change."""


@dataclass(frozen=True)
class TapOutcome:
    tap: GotvTap
    # True when this key had been applied before: nothing was done this time.
    replayed: bool

    @property
    def leaves_chase(self) -> bool:
        return self.tap.result in LEAVES_CHASE


def _one_line_note(note: str) -> str:
    return " ".join((note or "").split())[:NOTE_MAX]


@transaction.atomic
def gotv_tap_apply(
    *,
    actor,
    contact: Contact,
    key: str,
    result: str,
    note: str = "",
    at: datetime | None = None,
) -> TapOutcome:
    """Apply one tap from the tick-off page or the chase list, exactly once per key.

    ``key`` is made by the phone for each tap and sent again on every retry, so a
    request that reached the server but whose answer was lost (or an offline queue
    replayed twice) changes nothing the second time. A GOTV status goes through
    ``gotv_set`` (history, ballot window); "not reached" records the attempt only.
    ``contact`` must come from ``visible_to(actor)``. Raises GotvRuleError when the
    ballot window forbids ``result`` (and nothing is stored), TapKeyError for a key
    that is malformed or was used for another change."""
    from contacts.services.gotv import gotv_set

    key = (key or "").strip()
    if not _KEY.fullmatch(key):
        raise TapKeyError("Each change needs its own key (8-64 letters, digits, - or _).")
    if result not in TAP_RESULTS:
        raise GotvRuleError(
            f"{result!r} is not a result; use one of {', '.join(sorted(TAP_RESULTS))}."
        )
    at = at or timezone.now()
    note = _one_line_note(note)
    existing = _tap_with_key(key)
    if existing is not None:
        return _replayed(existing, contact=contact, result=result)
    try:
        with transaction.atomic():
            tap = GotvTap.objects.create(
                key=key,
                contact_id=contact.pk,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                result=result,
                note=note,
                created_at=at,
            )
    except IntegrityError:
        # The same tap arrived twice at once; the other request applied it.
        return _replayed(GotvTap.objects.get(key=key), contact=contact, result=result)
    changed = False
    if result != ChaseResult.NOT_REACHED:
        changed = gotv_set(
            contact=contact, status=result, method=GotvEvent.Method.WEB, actor=actor, at=at
        )
        if changed:
            GotvTap.objects.filter(pk=tap.pk).update(changed=True)
            tap.changed = True
    _chase_state_record(actor=actor, contact=contact, result=result, note=note, at=at)
    return TapOutcome(tap=tap, replayed=False)


def _tap_with_key(key: str) -> GotvTap | None:
    return GotvTap.objects.filter(key=key).first()


def _replayed(tap: GotvTap, *, contact: Contact, result: str) -> TapOutcome:
    if tap.contact_id != contact.pk or tap.result != result:
        raise TapKeyError("This change's key was already used for a different change.")
    return TapOutcome(tap=tap, replayed=True)


def _chase_state_record(*, actor, contact: Contact, result: str, note: str, at) -> None:
    defaults = {
        "last_result": result if result in ChaseResult.values else "",
        "updated_by": actor if getattr(actor, "is_authenticated", False) else None,
        "updated_at": at,
    }
    if note:
        defaults["note"] = note
    ChaseState.objects.update_or_create(contact_id=contact.pk, defaults=defaults)


@transaction.atomic
def chase_flag_set(
    *, actor, contact: Contact, needs_organiser: bool, note: str = "", at: datetime | None = None
) -> ChaseState:
    """Ask an organiser for help with a supporter (or clear that request). Organisers
    see open requests on their dashboard (``chase_flags_for_organisers``)."""
    at = at or timezone.now()
    state, _ = ChaseState.objects.select_for_update().get_or_create(contact_id=contact.pk)
    state.needs_organiser = needs_organiser
    state.flagged_at = at if needs_organiser else None
    if note := _one_line_note(note):
        state.note = note
    state.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    state.updated_at = at
    state.save()
    return state
