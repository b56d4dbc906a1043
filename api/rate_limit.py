"""Per-tenant request rate, shared by every API process through Redis (the `limits` library,
fixed windows: one counter a window), so one caller's runaway loop cannot crowd out others."""

from __future__ import annotations

import math
import time

import limits
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from docrender.errors import RateLimited


class TenantRateLimit:
    def __init__(self, redis_url: str, rate: str) -> None:
        self.rate = limits.parse(rate)  # "50/second", "3000/minute"...
        self._limiter = FixedWindowRateLimiter(storage_from_string(redis_url))

    def check(self, tenant: str) -> None:
        """Count one request of ``tenant``; RateLimited (429) once over the rate."""
        if self._limiter.hit(self.rate, "docrender-tenant", tenant):
            return
        reset = self._limiter.get_window_stats(self.rate, "docrender-tenant", tenant).reset_time
        raise RateLimited(
            f"Over this key's request rate ({self.rate}); slow down and retry after the "
            "Retry-After seconds.",
            {"limit": str(self.rate)},
            retry_after=max(1, math.ceil(reset - time.time())),
            zh=f"超过此密钥的请求速率（{self.rate}）；请放慢速度，等 Retry-After 秒后重试。",
        )
