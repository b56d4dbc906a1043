"""API keys and webhook secrets kept in Redis, managed with ``docrender keys``.

An API key is shown once, when it is created, and stored only as its SHA-256: a key is 256
random bits, so a fast hash is as safe as a slow one here, and checking it costs nothing next to
the request. A key reads ``drk_<key id>_<secret>``: the id finds the record in one lookup, the
secret's hash is compared in constant time. Revoking deletes the hash, so the very next request
with that key is refused (nothing caches keys).

A tenant's webhook secret must be readable to sign with, so it is stored as it is.

Layout:
    docrender:api-keys          hash: key id -> {"tenant", "sha256", "created_at", "revoked_at"}
    docrender:webhook-secrets   hash: tenant -> secret
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import redis

from docrender.clock import utcnow_iso

KEY_PREFIX = "drk"
_KEYS = "docrender:api-keys"
_WEBHOOK_SECRETS = "docrender:webhook-secrets"


@dataclass(frozen=True)
class KeyRecord:
    id: str
    tenant: str
    created_at: str
    revoked_at: str | None


class KeyStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def create(self, tenant: str) -> tuple[KeyRecord, str]:
        """A new key for ``tenant``: its record and the key itself, which is never stored."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = KeyRecord(key_id, tenant, utcnow_iso(), None)
        entry = {"tenant": tenant, "sha256": _digest(secret), "created_at": record.created_at}
        if not self.redis.hsetnx(_KEYS, key_id, json.dumps(entry)):
            return self.create(tenant)  # a 48-bit id collided: draw again
        return record, f"{KEY_PREFIX}_{key_id}_{secret}"

    def tenant_for(self, presented: str) -> str | None:
        """The tenant of a live key, or None."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        raw = self.redis.hget(_KEYS, key_id)
        if raw is None:
            return None
        entry = json.loads(raw)
        if entry.get("revoked_at") or not hmac.compare_digest(entry["sha256"], _digest(secret)):
            return None
        return str(entry["tenant"])

    def identify(self, presented: str) -> str | None:
        """The id of the live key ``presented`` is, or None (for a signed-in page's session,
        which keeps the id, never the key)."""
        if self.tenant_for(presented) is None:
            return None
        return presented.partition("_")[2].partition("_")[0]

    def tenant_of_id(self, key_id: str) -> str | None:
        """The tenant of key ``key_id`` while it is live (not revoked)."""
        raw = self.redis.hget(_KEYS, key_id)
        if raw is None:
            return None
        entry = json.loads(raw)
        return None if entry.get("revoked_at") else str(entry["tenant"])

    def revoke(self, key_id: str) -> bool:
        """Revoke a key at once; False when there is no such live key. The record stays, so
        ``list`` shows when it was revoked."""
        raw = self.redis.hget(_KEYS, key_id)
        if raw is None:
            return False
        entry = json.loads(raw)
        if entry.get("revoked_at"):
            return False
        entry.update(sha256="", revoked_at=utcnow_iso())
        self.redis.hset(_KEYS, key_id, json.dumps(entry))
        return True

    def list(self) -> list[KeyRecord]:
        records = [
            KeyRecord(str(key_id), entry["tenant"], entry["created_at"], entry.get("revoked_at"))
            for key_id, entry in (
                (key_id, json.loads(raw)) for key_id, raw in self.redis.hgetall(_KEYS).items()
            )
        ]
        return sorted(records, key=lambda record: (record.tenant, record.created_at))

    def webhook_secret(self, tenant: str) -> str | None:
        return self.redis.hget(_WEBHOOK_SECRETS, tenant)  # type: ignore[return-value]

    def ensure_webhook_secret(self, tenant: str) -> str:
        """The tenant's webhook secret, made on first use (a tenant keeps one secret across
        its keys, so rotating a key does not break its receivers)."""
        self.redis.hsetnx(_WEBHOOK_SECRETS, tenant, f"whsec_{secrets.token_urlsafe(32)}")
        return self.redis.hget(_WEBHOOK_SECRETS, tenant)  # type: ignore[return-value]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
