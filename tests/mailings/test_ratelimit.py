"""The global send rate is booked atomically, so every consumer together keeps to it."""

import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from mailings.ratelimit import DatabaseRateLimiter, RedisRateLimiter, rate_limiter


def book_concurrently(limiter, *, threads: int, each: int) -> list[tuple[float, float]]:
    """When each booking may start sending, as the (earliest, latest) epoch seconds the
    booking can mean: the limiter's "now" falls somewhere inside the reserve() call, so
    its slot lies between call start + wait and call end + wait. Sorted by slot."""
    slots: list[tuple[float, float]] = []
    lock = threading.Lock()

    def book():
        try:
            before = time.time()
            wait = limiter.reserve(each)
            after = time.time()
            with lock:
                slots.append((before + wait, after + wait))
        finally:
            connection.close()

    workers = [threading.Thread(target=book) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(slots, key=lambda slot: slot[0] + slot[1])


def assert_spaced(slots: list[tuple[float, float]], step: float) -> None:
    """Bookings are handed out back to back, ``step`` seconds apart: every gap between
    consecutive slots must be consistent with ``step`` given when each call ran (on a
    busy machine a call can take longer than a step, which widens the bounds rather
    than failing the test), and the slots span (n - 1) steps overall."""
    slack = 0.01
    for (lo_a, hi_a), (lo_b, hi_b) in zip(slots, slots[1:], strict=False):
        assert lo_b - hi_a - slack <= step <= hi_b - lo_a + slack, (slots, step)
    span_lo = slots[-1][0] - slots[0][1] - slack
    span_hi = slots[-1][1] - slots[0][0] + slack
    assert span_lo <= step * (len(slots) - 1) <= span_hi, (slots, step)


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
