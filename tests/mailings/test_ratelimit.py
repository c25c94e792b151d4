"""The global send rate is booked atomically, so every consumer together keeps to it."""

import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from mailings.ratelimit import DatabaseRateLimiter, RedisRateLimiter, rate_limiter


def book_concurrently(limiter, *, threads: int, each: int) -> list[float]:
    """When each booking may start sending (epoch seconds), in order."""
    slots: list[float] = []
    lock = threading.Lock()

    def book():
        try:
            before = time.time()
            wait = limiter.reserve(each)
            after = time.time()
            with lock:
                slots.append((before + after) / 2 + wait)
        finally:
            connection.close()

    workers = [threading.Thread(target=book) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(slots)


def assert_spaced(slots: list[float], step: float) -> None:
    """Bookings are handed out back to back, ``step`` seconds apart."""
    gaps = [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)]
    assert gaps == [pytest.approx(step, abs=step * 0.5)] * len(gaps)


def database_limiter():
    return DatabaseRateLimiter(key="test-db-limiter", rate=100.0)


def redis_limiter():
    return RedisRateLimiter(key=f"test-{uuid.uuid4().hex}", rate=100.0, url=settings.REDIS_URL)


# The Redis limiter is exercised whenever the suite runs with REDIS_URL (as CI does).
LIMITERS = [database_limiter] + ([redis_limiter] if settings.REDIS_URL else [])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("make_limiter", LIMITERS)
def test_concurrent_bookings_are_spaced_at_the_rate(make_limiter):
    slots = book_concurrently(make_limiter(), threads=8, each=10)
    assert len(slots) == 8
    assert_spaced(slots, step=0.1)  # 10 messages at 100/s each


def test_the_limiter_follows_redis_url(settings, db):
    settings.EMAIL_SEND_RATE = 123.0
    limiter = rate_limiter(esp="Mailgun")
    expected = RedisRateLimiter if settings.REDIS_URL else DatabaseRateLimiter
    assert isinstance(limiter, expected) and limiter.rate == 123.0
