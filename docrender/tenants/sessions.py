"""The pages' sign-ins, kept in Redis so that signing out ends them everywhere.

A page session's cookie is signed, and a copy captured before Sign out (from a shared
computer, a proxy's log) would otherwise keep working until the signature's 31 days ran out.
So signing in starts a session here, named by a random id the cookie carries; every request
checks it and keeps it alive; signing out deletes it, and a session left alone lapses after
``SESSION_SECONDS`` without a request.

Layout:
    docrender:web:sessions:<id>   string: the tenant, expiring SESSION_SECONDS after last use
"""

from __future__ import annotations

import secrets

import redis

SESSION_SECONDS = 12 * 3600  # a working day, and a long lunch
_KEY = "docrender:web:sessions:{}"


class PageSessions:
    def __init__(self, client: redis.Redis, seconds: int = SESSION_SECONDS) -> None:
        self.redis = client
        self.seconds = seconds

    def start(self, tenant: str) -> str:
        """A new session of ``tenant``: its id, for the cookie."""
        session_id = secrets.token_urlsafe(24)
        self.redis.set(_KEY.format(session_id), tenant, ex=self.seconds)
        return session_id

    def tenant_of(self, session_id: str) -> str | None:
        """The tenant of a live session, which this use keeps alive; None once it ended."""
        key = _KEY.format(session_id)
        with self.redis.pipeline() as pipe:
            pipe.get(key)
            pipe.expire(key, self.seconds)
            tenant, _alive = pipe.execute()
        return tenant if isinstance(tenant, str) else None

    def end(self, session_id: str) -> None:
        self.redis.delete(_KEY.format(session_id))
