"""The task queue's order: a drive's batch tasks give way to every other task.

A union-wide drive queues thousands of batch tasks, and at the ESP's rate each holds a
consumer worker while it waits for its turn to send. In one first-in-first-out queue a
lead's canvass pack, an organiser's import, the listing of the rest of the drive, the
consumer's heartbeat and the ballot-close check would wait behind all of them (hours,
for a throttled drive). With priorities they wait for one worker to finish its
current batch. SqliteHuey orders by priority itself; on Redis it takes
``PriorityRedisHuey``, whose queue is a sorted set.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Below the default (0) of every other task, periodic ones included.
BATCH_PRIORITY = -10


def queue_list_to_priority(*, huey) -> int:
    """Move tasks queued on Redis before priorities (a plain list under the queue's
    key) into the priority queue, oldest first, each at its task's priority: a consumer
    started on the old list would fail on every dequeue. The list is renamed first, so
    of several workers starting at once one moves it. Returns how many tasks moved."""
    from redis.exceptions import ResponseError

    storage = huey.storage
    if not getattr(storage, "priority", False) or not hasattr(storage, "conn"):
        return 0
    key = storage.queue_key
    if storage.conn.type(key) != b"list":
        return 0
    moving = f"{key}.moving-to-priority"
    try:
        storage.conn.rename(key, moving)
    except ResponseError:  # another worker renamed it first
        return 0
    # LPUSH puts the newest at the head: the oldest is at the tail.
    items = storage.conn.lrange(moving, 0, -1)[::-1]
    for data in items:
        storage.enqueue(data, huey.deserialize_task(data).priority)
    storage.conn.delete(moving)
    logger.warning("Moved %d queued tasks into the priority queue %s.", len(items), key)
    return len(items)
