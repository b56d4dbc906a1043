"""How many bytes each tenant keeps in storage, and the quota on it.

Counted where files are written, not by walking storage (which an object store makes slow):
``MeteredStorage`` (docrender/storage/__init__.py) wraps whichever Storage the settings chose and
*claims* the size of every file before it writes it, under its key, in Redis. One Lua script
checks the quota and counts the file in the same step, so parallel requests cannot all pass a
check that only one of them fits (six parallel 6 MB jobs on a 20 MB quota were all accepted
when the check and the write were apart). A file written again replaces its old size (a
re-delivered task, a retried job), a file deleted takes its size off, and the retention purge
takes off whole jobs. A job's files are counted to the tenant named when the job was started
(``start_job``, before its first file), and so is its data, which Redis keeps as long as the job
(``claim``, with no file behind it).

Past ``DOCRENDER_TENANT_STORAGE`` a claim is refused (StorageQuotaExceeded): a template upload or
a job is a 413, a document whose output would not fit fails alone with
``storage_quota_exceeded``. A job's archive and merged volume are copies of its documents, each
already within the quota: they are counted, never refused (refusing them would leave a finished
job without the files it promises), so what a tenant keeps is bounded by the quota plus the
bundles of its jobs.
"""

from __future__ import annotations

import redis

from docrender.errors import StorageQuotaExceeded
from docrender.i18n import _

# Claims the size ARGV[2] (0 to forget it) for file ARGV[1] in the hash KEYS[1], whose
# "tenant" field names the tenant; the tenant's total moves by the difference, unless it would
# pass ARGV[3] (-1: no limit). Returns {1, old size}, or {0, total} when refused.
_CLAIM = """
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if not tenant then return {1, 0} end
local total_key = 'docrender:tenant:' .. tenant .. ':stored_bytes'
local old = tonumber(redis.call('HGET', KEYS[1], 'file:' .. ARGV[1]) or '0')
local new = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local total = tonumber(redis.call('GET', total_key) or '0')
if limit >= 0 and new > old and total + new - old > limit then return {0, total} end
if new > 0 then
  redis.call('HSET', KEYS[1], 'file:' .. ARGV[1], new)
else
  redis.call('HDEL', KEYS[1], 'file:' .. ARGV[1])
end
redis.call('INCRBY', total_key, new - old)
return {1, old}
"""

# Takes a whole job's files off its tenant's total.
_FORGET = """
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if not tenant then return 0 end
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 5) == 'file:' then total = total + tonumber(fields[i + 1]) end
end
redis.call('DECRBY', 'docrender:tenant:' .. tenant .. ':stored_bytes', total)
redis.call('DEL', KEYS[1])
return total
"""


class Usage:
    def __init__(self, client: redis.Redis, quota: int) -> None:
        self.redis = client
        self.quota = quota
        self._claim = client.register_script(_CLAIM)
        self._forget = client.register_script(_FORGET)

    def used(self, tenant: str) -> int:
        return int(self.redis.get(self._total_key(tenant)) or 0)

    def check(self, tenant: str, incoming: int) -> None:
        """Refuse early, before any work, ``incoming`` more bytes that would take ``tenant``
        past the quota (the claim at the write is what holds)."""
        used = self.used(tenant)
        if used + incoming > self.quota:
            raise self._exceeded(used, incoming)

    def start_job(self, job_id: str, tenant: str) -> None:
        """Name the tenant whose quota the job's files count against (before the first)."""
        self.redis.hset(self._job_key(job_id), "tenant", tenant)

    def claim(self, key: str, size: int, refusable: bool = True) -> int:
        """Count ``size`` bytes for storage key ``key`` (instead of what it counted before),
        and return what it counted before. Raises StorageQuotaExceeded, counting nothing, when
        ``refusable`` and the tenant's total would pass the quota."""
        owner = self._owner_key(key)
        if owner is None:
            return 0
        limit = self.quota if refusable else -1
        granted, value = self._claim(keys=[owner], args=[key, size, limit])
        if not granted:
            raise self._exceeded(int(value), size)
        return int(value)

    def counted(self, key: str) -> int:
        """The bytes counted for storage key ``key`` now."""
        owner = self._owner_key(key)
        return 0 if owner is None else int(self.redis.hget(owner, f"file:{key}") or 0)

    def record(self, key: str, size: int) -> None:
        """Count ``size`` bytes for ``key`` whatever the quota (a deletion, a rollback)."""
        self.claim(key, size, refusable=False)

    def forget_job(self, job_id: str) -> None:
        self._forget(keys=[self._job_key(job_id)])

    def _exceeded(self, used: int, incoming: int) -> StorageQuotaExceeded:
        return StorageQuotaExceeded(
            _(
                "Your templates and jobs keep %(used)s bytes in storage; %(incoming)s more "
                "would pass the %(limit)s a tenant may keep. Delete templates you no longer "
                "use, or wait for old jobs to expire.",
                used=used,
                incoming=incoming,
                limit=self.quota,
            ),
            {"limit": self.quota, "used": used, "incoming": incoming},
        )

    def _owner_key(self, key: str) -> str | None:
        """The hash that counts a storage key: its job's, or its tenant's templates'."""
        parts = key.split("/")
        if parts[0] == "jobs" and len(parts) > 2:
            return self._job_key(parts[1])
        if parts[0] == "templates" and len(parts) > 2:
            templates = f"docrender:usage:templates:{parts[1]}"
            self.redis.hsetnx(templates, "tenant", parts[1])
            return templates
        return None

    @staticmethod
    def _job_key(job_id: str) -> str:
        return f"docrender:usage:job:{job_id}"

    @staticmethod
    def _total_key(tenant: str) -> str:
        return f"docrender:tenant:{tenant}:stored_bytes"
