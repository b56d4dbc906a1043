"""Webhook deliveries of finished jobs, in Redis beside the job they belong to.

    docrender:job:<id>:callback   hash: delivery, status, attempts, last_error

Made when a finished job's first delivery starts, and expiring with the job. A job retried and
finished again starts a new delivery, which replaces the earlier one: that one's remaining
attempts then find themselves stale and stop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import redis

from docrender.jobs.store import JobStore


class CallbackStatus(enum.StrEnum):
    PENDING = "pending"  # the job has not finished, or its first attempt is under way
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class CallbackState:
    url: str
    status: CallbackStatus
    attempts: int
    last_error: str | None


# Starts delivery ARGV[1] of the job KEYS[1]: it replaces any earlier one, and expires with
# the job. Returns 0 when the job is gone.
_START = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'delivery', ARGV[1], 'status', 'pending', 'attempts', 0,
           'last_error', '')
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""

# Records one attempt of delivery ARGV[1]: its outcome ARGV[2] and error ARGV[3]. Returns 0
# when a newer delivery replaced this one (the caller stops), 1 otherwise.
_RECORD_ATTEMPT = """
if redis.call('HGET', KEYS[1], 'delivery') ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'last_error', ARGV[3])
return 1
"""


class CallbackStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._start = client.register_script(_START)
        self._record = client.register_script(_RECORD_ATTEMPT)

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{JobStore.key(job_id)}:callback"

    def start(self, job_id: str, delivery_id: str) -> bool:
        """Begin delivery ``delivery_id`` of a finished job's webhook; False when the job is
        gone."""
        keys = [JobStore.key(job_id), self._key(job_id)]
        return bool(self._start(keys=keys, args=[delivery_id]))

    def record_attempt(
        self, job_id: str, delivery_id: str, status: CallbackStatus, error: str | None
    ) -> bool:
        """Count an attempt and its outcome; False when a newer delivery replaced this one."""
        return bool(self._record(keys=[self._key(job_id)], args=[delivery_id, status, error or ""]))

    def state(self, job_id: str, url: str) -> CallbackState:
        """Where the delivery to ``url`` stands (pending until the job finished)."""
        fields = self.redis.hgetall(self._key(job_id))
        return CallbackState(
            url=url,
            status=CallbackStatus(str(fields.get("status") or CallbackStatus.PENDING)),
            attempts=int(fields.get("attempts") or 0),
            last_error=str(fields["last_error"]) if fields.get("last_error") else None,
        )
