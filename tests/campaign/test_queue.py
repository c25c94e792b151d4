"""The task queue configured by the environment (SqliteHuey or Redis) really runs tasks."""

import pytest
from django.conf import settings
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from campaign.queue import queue_list_to_priority
from campaign.tasks import (
    HEARTBEAT_KEY,
    canvass_pack_task,
    consumer_heartbeat,
    gotv_ballot_closed_task,
)
from mailings.tasks import mailing_batch_task


def test_queue_storage_follows_redis_url():
    expected = RedisStorage if settings.REDIS_URL else SqliteStorage
    assert isinstance(HUEY.storage, expected)


def test_a_task_goes_through_the_queue_and_healthz_reports_the_consumer(client_for, organiser):
    # The details are for organisers (tests/campaign/test_security_headers.py).
    client = client_for(organiser)
    HUEY.flush()
    assert client.get("/healthz").json()["consumer_seen_seconds_ago"] is None

    consumer_heartbeat()  # enqueues; a consumer would pick it up
    assert HUEY.pending_count() == 1
    task = HUEY.dequeue()
    HUEY.execute(task)

    health = client.get("/healthz").json()
    assert health["ok"] is True
    assert health["queue"] == type(HUEY.storage).__name__
    assert 0 <= health["consumer_seen_seconds_ago"] < 60
    HUEY.delete(HEARTBEAT_KEY)


def test_a_drives_batches_give_way_to_every_other_task_queued_behind_them():
    HUEY.flush()
    for batch in range(3):
        mailing_batch_task(1, batch)
    canvass_pack_task(7)  # a lead waiting for a district pack
    gotv_ballot_closed_task()  # the periodic check that stops drives when the ballot closes

    order = [HUEY.dequeue() for _ in range(5)]

    assert [task.name.rsplit(".", 1)[-1] for task in order] == [
        "canvass_pack_task",
        "gotv_ballot_closed_task",
        "mailing_batch_task",
        "mailing_batch_task",
        "mailing_batch_task",
    ]
    assert [task.args for task in order[2:]] == [(1, 0), (1, 1), (1, 2)]  # in order
    assert HUEY.dequeue() is None


@pytest.mark.topology  # Redis only: deselected on the embedded default, run in CI's second pass
def test_tasks_queued_on_redis_before_priorities_are_moved_into_the_priority_queue():
    HUEY.flush()
    storage = HUEY.storage
    before = [mailing_batch_task.s(1, batch) for batch in range(3)]
    for task in before:  # as RedisHuey queued them: LPUSH onto a list
        storage.conn.lpush(storage.queue_key, HUEY.serialize_task(task))

    assert queue_list_to_priority(huey=HUEY) == 3
    assert queue_list_to_priority(huey=HUEY) == 0  # already moved
    canvass_pack_task(7)

    order = [HUEY.dequeue() for _ in range(4)]
    assert order[0].name.endswith("canvass_pack_task")
    assert [task.id for task in order[1:]] == [task.id for task in before]
