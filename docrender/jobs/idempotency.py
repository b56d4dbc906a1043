"""Idempotency keys for job submissions: a client that retries a POST after a timeout gets the
job its first attempt made, not a second one.

A key belongs to one tenant and lives as long as jobs do. It is claimed atomically (SET NX)
with the request's fingerprint and the id the new job will have, before anything is written,
so of two identical requests racing, exactly one creates the job; the other waits for it and
returns it. A request that fails before its job exists releases the claim, so a corrected
retry can use the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import redis

from docrender.data.strict_json import JSONValue

# Deletes the claim only if it is still this request's (its job id), never a later owner's.
_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).job_id == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ``job_id`` is the job this request must create (when
    ``owner``), or the job an earlier request with this key created or is creating."""

    owner: bool
    job_id: str
    same_request: bool


class IdempotencyKeys:
    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._release = client.register_script(_RELEASE)

    def claim(self, tenant: str, key: str, fingerprint: str, job_id: str) -> Claim:
        stored = json.dumps({"fingerprint": fingerprint, "job_id": job_id})
        redis_key = self._key(tenant, key)
        for _ in range(3):  # a claim released between SET and GET is claimed again
            if self.redis.set(redis_key, stored, nx=True, ex=self.retention_seconds):
                return Claim(owner=True, job_id=job_id, same_request=True)
            raw = self.redis.get(redis_key)
            if raw is not None:
                earlier = json.loads(raw)
                same = earlier["fingerprint"] == fingerprint
                return Claim(owner=False, job_id=earlier["job_id"], same_request=same)
        raise RuntimeError("idempotency key claimed and released repeatedly")

    def release(self, tenant: str, key: str, job_id: str) -> None:
        self._release(keys=[self._key(tenant, key)], args=[job_id])

    def still_claimed(self, tenant: str, key: str, job_id: str) -> bool:
        raw = self.redis.get(self._key(tenant, key))
        return raw is not None and json.loads(raw)["job_id"] == job_id

    @staticmethod
    def _key(tenant: str, key: str) -> str:
        # Hashed: the client's key may hold anything; the tenant scopes it.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"docrender:idempotency:{tenant}:{digest}"


def fingerprint(body: JSONValue) -> str:
    """The same job request gives the same fingerprint, however its JSON was laid out (or,
    for a multipart upload, whatever boundary the client's library picked)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
