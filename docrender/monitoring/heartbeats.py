"""Converters report each real round trip here; /readyz reads it.

A sorted set of converter name -> time of its last successful conversion. Workers also probe an
idle converter now and then, so a quiet service still shows as ready. Beside it, each converter's
LibreOffice version, so /readyz says which LibreOffice the service converts with (during a
rolling upgrade, more than one).
"""

from __future__ import annotations

import time

import redis

_KEY = "docrender:converters"
_VERSIONS = "docrender:converters:versions"


class ConverterHeartbeats:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def beat(self, converter: str) -> None:
        self.redis.zadd(_KEY, {converter: time.time()})

    def announce(self, converter: str, libreoffice_version: str) -> None:
        self.redis.hset(_VERSIONS, converter, libreoffice_version)

    def forget(self, converter: str) -> None:
        self.redis.zrem(_KEY, converter)
        self.redis.hdel(_VERSIONS, converter)

    def recent(self, within_seconds: float) -> list[str]:
        """Converters that answered a real round trip in the last ``within_seconds``."""
        cutoff = time.time() - within_seconds
        self.redis.zremrangebyscore(_KEY, "-inf", cutoff - 86400)  # forget the long dead
        return [str(name) for name in self.redis.zrangebyscore(_KEY, cutoff, "+inf")]

    def versions(self, converters: list[str]) -> list[str]:
        """The LibreOffice versions of ``converters``, each once."""
        said = self.redis.hmget(_VERSIONS, converters) if converters else []
        return sorted({str(version) for version in said if version})
