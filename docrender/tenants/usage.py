"""How many bytes each tenant keeps in storage, and the quota on it.

Counted where files are written, not by walking storage (which an object store makes slow):
``MeteredStorage`` (docrender/storage/__init__.py) wraps whichever Storage the settings chose and
records the size of every file it writes, under its key, in Redis. A Lua script keeps the tenant's
total in step: a file written again replaces its old size (a re-delivered task, a retried job), a
file deleted takes its size off, and the retention purge takes off whole jobs. A job's files are
counted to the tenant named when the job was started (``start_job``, before its first file).

The API checks the total before it stores anything new (``check``): a template upload or a job
that would take the tenant past ``DOCRENDER_TENANT_STORAGE`` is a 413. Outputs are made later,
so a tenant can end a little above the quota; its next upload is then refused until retention
or deletion frees room.
"""

from __future__ import annotations

import redis

from docrender.errors import StorageQuotaExceeded
from docrender.i18n import _

# Records the size (ARGV[2], 0 to forget it) of file ARGV[1] in the hash KEYS[1], whose
# "tenant" field names the tenant; the tenant's total moves by the difference.
_RECORD = """
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if not tenant then return 0 end
local old = tonumber(redis.call('HGET', KEYS[1], 'file:' .. ARGV[1]) or '0')
local new = tonumber(ARGV[2])
if new > 0 then
  redis.call('HSET', KEYS[1], 'file:' .. ARGV[1], new)
else
  redis.call('HDEL', KEYS[1], 'file:' .. ARGV[1])
end
redis.call('INCRBY', 'docrender:tenant:' .. tenant .. ':stored_bytes', new - old)
return new - old
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
        self._record = client.register_script(_RECORD)
        self._forget = client.register_script(_FORGET)

    def used(self, tenant: str) -> int:
        return int(self.redis.get(self._total_key(tenant)) or 0)

    def check(self, tenant: str, incoming: int) -> None:
        """Refuse ``incoming`` more bytes that would take ``tenant`` past the quota."""
        used = self.used(tenant)
        if used + incoming > self.quota:
            raise StorageQuotaExceeded(
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

    def start_job(self, job_id: str, tenant: str) -> None:
        """Name the tenant whose quota the job's files count against (before the first)."""
        self.redis.hset(self._job_key(job_id), "tenant", tenant)

    def record(self, key: str, size: int) -> None:
        owner = self._owner_key(key)
        if owner is not None:
            self._record(keys=[owner], args=[key, size])

    def forget_job(self, job_id: str) -> None:
        self._forget(keys=[self._job_key(job_id)])

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
