"""Campaign-wide background tasks."""

import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, periodic_task

HEARTBEAT_KEY = "consumer-heartbeat"


@HUEY.on_startup()
def queue_upgrade() -> None:
    from campaign.queue import queue_list_to_priority

    queue_list_to_priority(huey=HUEY)


@periodic_task(crontab(minute="*"))
def consumer_heartbeat() -> None:
    """Record that a consumer is running, so /healthz can tell operators if none is."""
    HUEY.put(HEARTBEAT_KEY, time.time())


def consumer_last_seen() -> float | None:
    """Seconds since a consumer last ran the heartbeat, or None if never."""
    stamp = HUEY.get(HEARTBEAT_KEY, peek=True)
    return None if stamp is None else max(0.0, time.time() - stamp)


# --- Canvass packs and GOTV rules ----------------------------------------------------


@db_task(retries=2, retry_delay=30)
def canvass_pack_task(pack_id: int) -> None:
    """Build one district pack (the service claims it, so a duplicate does nothing)."""
    from campaign.canvass.services import canvass_pack_build

    canvass_pack_build(pack_id=pack_id)


@db_periodic_task(crontab(minute="*/15"))
def canvass_packs_expire_task() -> None:
    from campaign.canvass.services import canvass_packs_expire

    canvass_packs_expire()


@db_periodic_task(crontab(minute="*"))
def canvass_packs_stale_task() -> None:
    """Fail packs whose build stopped making progress (its consumer died)."""
    from campaign.canvass.services import canvass_packs_fail_stale

    canvass_packs_fail_stale()


@db_periodic_task(crontab(minute="*"))
def gotv_ballot_closed_task() -> None:
    """After the ballot closes, no GOTV drive may still go out."""
    from campaign.gotv import gotv_drives_cancel_after_close

    gotv_drives_cancel_after_close()
