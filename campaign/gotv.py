"""Campaign-wide get-out-the-vote rules, driven by the active campaign's ballot window.

* Before the ballot opens nobody can have a ballot paper or have voted: only pledges
  (pledged, won't vote, back to unknown) can be recorded.
* Once it has closed, no GOTV drive may still go out: unfinished drives are cancelled
  by a periodic task.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from campaign.models import Campaign
from campaign.selectors import campaign_active
from contacts.models import Contact

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
