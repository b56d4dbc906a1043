"""Per-tenant request rates, shared by every API process through Redis (the `limits` library),
so one caller's runaway loop cannot crowd out others. Moving windows: "100/second" means any
second, not each clock second (a fixed window let 200 through across a second's edge), and
the rate is the same whenever a client starts.
Reads (status polls, downloads of the tenant's own results) have a budget of their own, so a
client fetching its hundred PDFs right after a job is not refused its next submission, and
the other way round."""

from __future__ import annotations

import math
import time

import limits
from limits.storage import RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from docrender.errors import RateLimited
from docrender.i18n import _


class TenantRateLimit:
    def __init__(self, storage: Storage, rate: str, read_rate: str) -> None:
        self.rate = limits.parse(rate)  # "50/second", "3000/minute"...
        self.read_rate = limits.parse(read_rate)
        self._limiter = MovingWindowRateLimiter(storage)

    def check(self, tenant: str, read: bool = False) -> None:
        """Count one request of ``tenant`` (``read``: one that only reads); RateLimited (429)
        once over its rate."""
        rate, kind = (
            (self.read_rate, "docrender-tenant-reads") if read else (self.rate, "docrender-tenant")
        )
        if self._limiter.hit(rate, kind, tenant):
            return
        reset = self._limiter.get_window_stats(rate, kind, tenant).reset_time
        raise RateLimited(
            _(
                "Over this key's request rate (%(rate)s); slow down and retry after the "
                "Retry-After seconds.",
                rate=rate,
            ),
            {"limit": str(rate)},
            retry_after=max(1, math.ceil(reset - time.time())),
        )


class FailedSignIns:
    """Wrong keys tried on the pages' sign-in form, counted per client address (moving window,
    shared through Redis): past ``rate`` the form answers 429 without trying the key, so
    guessing keys through it is as slow as the rate says. (300 wrong keys in 1.4 s met no
    limit before.) Behind a proxy every client has its address: one guesser can then lock the
    form for everyone behind it, for the window's length."""

    def __init__(self, storage: Storage, rate: str) -> None:
        self.rate = limits.parse(rate)
        self._limiter = MovingWindowRateLimiter(storage)

    def check(self, address: str) -> None:
        """RateLimited (429) while ``address`` is past its failed sign-ins."""
        if self._limiter.test(self.rate, "docrender-sign-in", address):
            return
        reset = self._limiter.get_window_stats(self.rate, "docrender-sign-in", address).reset_time
        raise RateLimited(
            _(
                "Too many wrong keys from this address (%(rate)s); try again in %(seconds)s "
                "seconds.",
                rate=self.rate,
                seconds=max(1, math.ceil(reset - time.time())),
            ),
            {"limit": str(self.rate)},
            retry_after=max(1, math.ceil(reset - time.time())),
        )

    def failed(self, address: str) -> None:
        self._limiter.hit(self.rate, "docrender-sign-in", address)


def limits_storage(redis_url: str) -> Storage:
    """The Redis that both limits count in (one connection pool for the two)."""
    return RedisStorage(redis_url)
