"""Campaign-wide background tasks."""

import time

from huey import crontab
from huey.contrib.djhuey import HUEY, periodic_task

HEARTBEAT_KEY = "consumer-heartbeat"


@periodic_task(crontab(minute="*"))
def consumer_heartbeat() -> None:
    """Record that a consumer is running, so /healthz can tell operators if none is."""
    HUEY.put(HEARTBEAT_KEY, time.time())


def consumer_last_seen() -> float | None:
    """Seconds since a consumer last ran the heartbeat, or None if never."""
    stamp = HUEY.get(HEARTBEAT_KEY, peek=True)
    return None if stamp is None else max(0.0, time.time() - stamp)
