"""Converters report each real round trip here; /readyz reads it.

A sorted set of converter name -> time of its last successful conversion. Workers also probe an
idle converter now and then, so a quiet service still shows as ready.
"""

from __future__ import annotations

import time

import redis

_KEY = "docrender:converters"


class ConverterHeartbeats:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def beat(self, converter: str) -> None:
        self.redis.zadd(_KEY, {converter: time.time()})

    def forget(self, converter: str) -> None:
        self.redis.zrem(_KEY, converter)

    def recent(self, within_seconds: float) -> list[str]:
        """Converters that answered a real round trip in the last ``within_seconds``."""
        cutoff = time.time() - within_seconds
        self.redis.zremrangebyscore(_KEY, "-inf", cutoff - 86400)  # forget the long dead
        return [str(name) for name in self.redis.zrangebyscore(_KEY, cutoff, "+inf")]
