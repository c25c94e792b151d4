"""The global send rate: messages per second across every consumer and process.

Both implementations are a GCRA ("virtual scheduling") limiter sharing one number,
the time the next message may leave. ``reserve(n)`` books ``n`` messages and returns
how long the caller must wait before sending them; bookings are atomic, so any
number of threads, processes and machines together keep to the rate. A caller that
books and then does not send (a paused drive) only wastes its slot: the limiter
errs on the side of sending slower, never faster.

Redis (a Lua script using Redis's own clock) is used when ``REDIS_URL`` is set;
otherwise a row in the database, locked for the instant of the booking.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction

from mailings.models import SendRateState

# Bookings further ahead than this are forgotten (nobody waits that long).
_EXPIRE_SECONDS = 3600


class RateLimiter(Protocol):
    def reserve(self, n: int) -> float:
        """Book ``n`` messages; seconds to wait before sending them."""
        ...


class DatabaseRateLimiter:
    def __init__(self, *, key: str, rate: float):
        self.key = key
        self.rate = rate

    def reserve(self, n: int) -> float:
        for _ in range(100):
            try:
                with transaction.atomic():
                    state = SendRateState.objects.select_for_update().filter(key=self.key).first()
                    if state is None:
                        state = SendRateState.objects.create(key=self.key, next_free=0.0)
                    now = time.time()
                    start = max(now, state.next_free)
                    SendRateState.objects.filter(pk=state.pk).update(
                        next_free=start + n / self.rate
                    )
                    return start - now
            except IntegrityError:
                # Two processes created the row at once; the loser books on the winner's.
                continue
            except OperationalError as exc:
                # SQLite's shared-cache databases report contention at once instead of
                # waiting for the busy timeout; try again shortly.
                if "locked" not in str(exc):
                    raise
                time.sleep(0.01)
        raise RuntimeError("Could not book the send rate.")


_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
redis.call('SET', KEYS[1], string.format('%.6f', start + tonumber(ARGV[1])), 'EX', ARGV[2])
return string.format('%.6f', start - now)
"""


class RedisRateLimiter:
    def __init__(self, *, key: str, rate: float, url: str):
        import redis

        self.key = f"turnout:{key}"
        self.rate = rate
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_LUA)

    def reserve(self, n: int) -> float:
        return float(self.script(keys=[self.key], args=[n / self.rate, _EXPIRE_SECONDS]))


@cache
def _limiter(key: str, rate: float, redis_url: str | None) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(key=key, rate=rate, url=redis_url)
    return DatabaseRateLimiter(key=key, rate=rate)


def rate_limiter(*, esp: str) -> RateLimiter:
    """The limiter for one ESP at ``EMAIL_SEND_RATE`` messages per second."""
    key = f"{settings.HUEY_NAME}:send-rate:{esp}"
    return _limiter(key, float(settings.EMAIL_SEND_RATE), settings.REDIS_URL)
