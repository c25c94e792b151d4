"""The task queue configured by the environment (SqliteHuey or Redis) really runs tasks."""

from django.conf import settings
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

from campaign.tasks import HEARTBEAT_KEY, consumer_heartbeat


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
