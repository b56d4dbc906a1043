"""Jobs and their documents' states, in Redis.

Layout, every key expiring with the job's retention:
    docrender:job:<id>        hash: tenant, template, template_name, template_key, options
                               (the JobOptions as JSON), created_at, finished_at, total,
                               done, request_id, warnings (JSON), kind (absent: a batch)
    docrender:job:<id>:docs   hash: index -> {"name", "status", "error", "warnings",
                               "language", "pages_in"} (JSON)
    docrender:job:<id>:data   hash: index -> the document's data (JSON), read by workers only
(Webhook deliveries keep their state beside it: docrender/webhooks/store.py.)

State changes of a document are Lua scripts, so that a re-delivered task can neither count a
document twice nor move a finished document back to running.

A job *ends* when its last document is final, and *finishes* when what follows its end is
done: its archive and merged volume stored (workers/pdf/bundle.py). Only then does it get its
``finished_at``, its final status and its webhook, so every file a finished job promises can be
downloaded. The script that ends a job also adds it to ``docrender:jobs:ending`` (a sorted set,
the time it ended), in the same step; the job leaves it once its end is handled, and a sweeper
hands out the ones left there too long (``claim_endings``), so no crash loses a job's end.

Two kinds of job are not batches (``JobKind``): a *preview* (the pages' first document of a
batch, made to be looked at) and a *check* (every document filled as the render fills it, none
converted: the dry run that says which documents would fail for their data). Each goes through
the workers as a batch does, so it shows what the batch will do; but it is not in its tenant's
list, lives SHORT_RETENTION_SECONDS at most (its caller discards it once read), and gets no
archive, merged volume or webhook.

A job counts its documents by final state in its own hash (``succeeded``, ``failed``,
``cancelled``, and ``started`` once one has started), kept by the same scripts that change a
document, so that a list of jobs reads one hash a job, not every document's state. A tenant's
jobs are indexed newest first (``docrender:tenant:<tenant>:jobs``), and again by state: the
finished by their final status (``...:jobs:failed``...), the others in ``...:jobs:unfinished``;
the scripts that finish a job or open it again move it between them. A status filter walks its
own index, not every job the tenant has.

Per tenant, ``docrender:tenant:<tenant>:unfinished`` counts its documents accepted and not yet
finished (the cap on queued documents). The scripts that finish, cancel or re-queue documents
keep it in step; they build its key from the job's tenant, which a standalone Redis allows.
"""

from __future__ import annotations

import builtins
import enum
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from docrender.clock import utcnow_iso
from docrender.errors import ConversionTimedOut, DocumentQuarantined
from docrender.i18n import StoredMessage, StoredWarning, _
from docrender.jobs.options import JobOptions

SHORT_RETENTION_SECONDS = 15 * 60


class JobKind(enum.StrEnum):
    """What a job is for (module docstring)."""

    BATCH = "batch"
    PREVIEW = "preview"
    CHECK = "check"


class DocumentStatus(enum.StrEnum):
    """A document's state. The Lua scripts below spell the same words."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({DocumentStatus.SUCCEEDED, DocumentStatus.FAILED, DocumentStatus.CANCELLED})


def _counts(fields: dict[str, str]) -> Counts:
    return Counts(
        total=int(fields["total"]),
        succeeded=int(fields.get("succeeded") or 0),
        failed=int(fields.get("failed") or 0),
        cancelled=int(fields.get("cancelled") or 0),
        started=fields.get("started") == "1",
    )


class JobStatus(enum.StrEnum):
    """A job's state, derived from its documents' (``Job.status``)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, some documents failed
    FAILED = "failed"
    CANCELLED = "cancelled"


# Lua shared by the scripts that finish a job or open it again: its final status from its
# counts, and its place in its tenant's indexes by state (the module docstring).
_INDEXES = """
local function final_status(job)
  local c = redis.call('HMGET', job, 'succeeded', 'failed', 'cancelled')
  if tonumber(c[3] or '0') > 0 then return 'cancelled' end
  if tonumber(c[1] or '0') == 0 then return 'failed' end
  if tonumber(c[2] or '0') > 0 then return 'partial' end
  return 'succeeded'
end
local function indexed(job, id)
  local f = redis.call('HMGET', job, 'tenant', 'counted')
  if not f[1] or not f[2] then return nil end
  local base = 'docrender:tenant:' .. f[1] .. ':jobs'
  local score = redis.call('ZSCORE', base, id)
  if not score then return nil end
  return base, score
end
local function index_finished(job, id)
  local base, score = indexed(job, id)
  if not base then return end
  local key = base .. ':' .. final_status(job)
  redis.call('ZADD', key, score, id)
  local ttl = redis.call('TTL', base)
  if ttl > 0 then redis.call('EXPIRE', key, ttl) end
  redis.call('ZREM', base .. ':unfinished', id)
end
local function index_unfinished(job, id)
  local base, score = indexed(job, id)
  if not base then return end
  for _, status in ipairs({'succeeded', 'partial', 'failed', 'cancelled'}) do
    redis.call('ZREM', base .. ':' .. status, id)
  end
  redis.call('ZADD', base .. ':unfinished', score, id)
  local ttl = redis.call('TTL', base)
  if ttl > 0 then redis.call('EXPIRE', base .. ':unfinished', ttl) end
end
"""

# Returns the document's status after the call: "running" when the caller may work on it,
# a final status when it is already done (a re-delivered task), nil when the job expired, or
# "quarantine" when deliveries of it keep dying (ARGV[2] times found still running: each time
# the worker died while making it), and the caller must fail it instead.
_START_DOCUMENT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local doc = cjson.decode(raw)
if doc.status == 'running' then
  doc.crashes = (doc.crashes or 0) + 1
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
  if doc.crashes >= tonumber(ARGV[2]) then return 'quarantine' end
elseif doc.status == 'queued' then
  doc.status = 'running'
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
  redis.call('HSET', KEYS[2], 'started', 1)
end
return doc.status
"""

# Counts a timed-out conversion on each of these documents (ARGV) that is still running.
# Returns the indexes that have now timed out ARGV[1] times or more.
_NOTE_TIMEOUT = """
local reached = {}
for i = 2, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local doc = cjson.decode(raw)
    if doc.status == 'running' then
      doc.timeouts = (doc.timeouts or 0) + 1
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(doc))
      if doc.timeouts >= tonumber(ARGV[1]) then table.insert(reached, tonumber(ARGV[i])) end
    end
  end
end
return reached
"""

# A transient failure hands the document back to the queue until its retry starts it again.
_RETURN_TO_QUEUE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
if doc.status ~= 'running' then return 0 end
doc.status = 'queued'
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(doc))
return 1
"""

# Marks a document finished once; the last one to finish ends the job (it joins the set of
# endings to handle, KEYS[3]). Returns 2 when this ended the job, 1 when it only recorded the
# document, 0 when the document was already final, -1 when the job is gone.
_FINISH_DOCUMENT = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return -1 end
local doc = cjson.decode(raw)
if doc.status == 'succeeded' or doc.status == 'failed' or doc.status == 'cancelled' then
  return 0
end
doc.status = ARGV[2]
doc.error = cjson.decode(ARGV[3])
if ARGV[5] ~= '' then
  for key, value in pairs(cjson.decode(ARGV[5])) do doc[key] = value end
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(doc))
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if tenant then redis.call('DECR', 'docrender:tenant:' .. tenant .. ':unfinished') end
local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
if done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
  return 2
end
return 1
"""

# Cancels every queued document (running ones finish); a job that ends so joins the endings
# to handle. Returns how many were cancelled.
_CANCEL_QUEUED = """
local docs = redis.call('HGETALL', KEYS[2])
local cancelled = 0
for i = 1, #docs, 2 do
  local doc = cjson.decode(docs[i + 1])
  if doc.status == 'queued' then
    doc.status = 'cancelled'
    redis.call('HSET', KEYS[2], docs[i], cjson.encode(doc))
    cancelled = cancelled + 1
  end
end
if cancelled > 0 then
  redis.call('HINCRBY', KEYS[1], 'cancelled', cancelled)
  local tenant = redis.call('HGET', KEYS[1], 'tenant')
  if tenant then
    redis.call('DECRBY', 'docrender:tenant:' .. tenant .. ':unfinished', cancelled)
  end
  local done = redis.call('HINCRBY', KEYS[1], 'done', cancelled)
  if done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
    redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
  end
end
return cancelled
"""

# Puts the failed documents back in the queue, except those set aside (their error code is one
# of ARGV[4..]: documents that kill or hang whatever makes them would only do it again), unless
# that would take the tenant past its cap on unfinished documents (ARGV[1]). ARGV[3], JSON
# {index: data as JSON}, when not empty, limits it to those documents and gives each its
# corrected data (KEYS[4]). The job is unfinished again (no longer an ending to handle: ARGV[2]
# in KEYS[3]) and its bundle, if any, is stale. Returns JSON: the indexes re-queued and what an undo needs ({"again", "errors",
# "finished_at"}), or {"over_cap": n} with nothing changed.
_RETRY_FAILED = (
    _INDEXES
    + """
local docs = redis.call('HGETALL', KEYS[2])
local fixed = cjson.decode(ARGV[3])
local only = next(fixed) ~= nil
local set_aside = {}
for i = 4, #ARGV do set_aside[ARGV[i]] = true end
local picked = {}
for i = 1, #docs, 2 do
  local doc = cjson.decode(docs[i + 1])
  local code = type(doc.error) == 'table' and doc.error.code or ''
  if doc.status == 'failed' and not set_aside[code] and (not only or fixed[docs[i]]) then
    table.insert(picked, {docs[i], doc})
  end
end
if #picked == 0 then return cjson.encode({again = {}}) end
local tenant = redis.call('HGET', KEYS[1], 'tenant')
local counter = tenant and ('docrender:tenant:' .. tenant .. ':unfinished')
if counter and tonumber(redis.call('GET', counter) or '0') + #picked > tonumber(ARGV[1]) then
  return cjson.encode({over_cap = #picked})
end
local again, errors = {}, {}
for _, item in ipairs(picked) do
  local index, doc = item[1], item[2]
  errors[index] = doc.error
  doc.status = 'queued'
  doc.error = cjson.null
  redis.call('HSET', KEYS[2], index, cjson.encode(doc))
  if only then redis.call('HSET', KEYS[4], index, fixed[index]) end
  table.insert(again, tonumber(index))
end
if counter then redis.call('INCRBY', counter, #again) end
redis.call('HINCRBY', KEYS[1], 'failed', -#again)
if redis.call('HINCRBY', KEYS[1], 'done', -#again) == 0 then
  redis.call('HSET', KEYS[1], 'started', 0)  -- every document waits again
end
local before = redis.call('HGET', KEYS[1], 'finished_at') or ''
redis.call('HSET', KEYS[1], 'finished_at', '')
redis.call('ZREM', KEYS[3], ARGV[2])
index_unfinished(KEYS[1], ARGV[2])
return cjson.encode({again = again, errors = errors, finished_at = before})
"""
)

# Undoes a retry whose tasks could not all be sent: each of its documents still queued is
# failed again with its earlier error; when that ends the job again, its finish time comes
# back, or, where it had not finished, it is an ending to handle again (KEYS[3], at ARGV[2]).
# (A document whose task did go out and started runs on as usual.)
_UNDO_RETRY = (
    _INDEXES
    + """
local retried = cjson.decode(ARGV[1])
local restored = 0
for index, err in pairs(retried.errors) do
  local raw = redis.call('HGET', KEYS[2], index)
  if raw then
    local doc = cjson.decode(raw)
    if doc.status == 'queued' then
      doc.status = 'failed'
      doc.error = err
      redis.call('HSET', KEYS[2], index, cjson.encode(doc))
      restored = restored + 1
    end
  end
end
if restored == 0 then return 0 end
local tenant = redis.call('HGET', KEYS[1], 'tenant')
if tenant then
  redis.call('DECRBY', 'docrender:tenant:' .. tenant .. ':unfinished', restored)
end
redis.call('HINCRBY', KEYS[1], 'failed', restored)
local done = redis.call('HINCRBY', KEYS[1], 'done', restored)
if done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
  redis.call('HSET', KEYS[1], 'finished_at', retried.finished_at)
  if retried.finished_at == '' then
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
  else
    index_finished(KEYS[1], ARGV[3])
  end
end
return restored
"""
)


# Reserves room for ARGV[1] more unfinished documents of a tenant, unless that would pass the
# cap ARGV[2]. Returns 1 when reserved, 0 when over the cap.
_RESERVE_UNFINISHED = """
local unfinished = tonumber(redis.call('GET', KEYS[1]) or '0')
if unfinished + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
"""

# Finishes an ended job whose bundle is stored: its finish time, and long-polling readers are
# told. Returns 1, or 0 when it is gone, finished already, or re-opened (retried) meanwhile.
_FINISH_JOB = (
    _INDEXES
    + """
local fields = redis.call('HMGET', KEYS[1], 'finished_at', 'done', 'total')
if not fields[3] or (fields[1] or '') ~= '' then return 0 end
if tonumber(fields[2]) < tonumber(fields[3]) then return 0 end
redis.call('HSET', KEYS[1], 'finished_at', ARGV[1])
index_finished(KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], 'finished')
return 1
"""
)

# Hands out the endings left unhandled since before ARGV[1] (at most ARGV[3]), each pushed to
# ARGV[2] so that another sweeper does not take it too; a job that expired leaves the set.
_CLAIM_ENDINGS = """
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  if redis.call('EXISTS', 'docrender:job:' .. id) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(claimed, id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
"""


# Failures a retry does not repeat: the document killed its worker again and again, or hung
# LibreOffice twice, and would only do it again.
SET_ASIDE = (DocumentQuarantined.code, ConversionTimedOut.code)


@dataclass(frozen=True)
class PagesIn:
    """Where a made document's pages lie besides its own file: pages ``start`` to ``stop`` of
    the stored combined conversion ``key`` (storage's job_conversion_key). The merged volume
    takes them from there (workers/pdf/bundle.py): the same pages, with the fonts their
    conversion shares, instead of one copy of each font per document."""

    key: str
    start: int
    stop: int


@dataclass(frozen=True)
class DocumentState:
    index: int
    name: str
    status: DocumentStatus
    error: StoredMessage | None
    # Things to check in a succeeded document (missing glyphs...).
    warnings: list[StoredWarning] = field(default_factory=list)
    language: str | None = None  # the Chinese forms it printed with: zh-Hans or zh-Hant
    pages_in: PagesIn | None = None


@dataclass(frozen=True)
class Counts:
    """A job's documents counted by state, as its record keeps them (the module docstring)."""

    total: int
    succeeded: int
    failed: int
    cancelled: int
    started: bool


@dataclass(frozen=True)
class Job:
    id: str
    tenant: str
    template: str
    options: JobOptions
    created_at: str
    finished_at: str | None  # set once its files are stored too: see the module docstring
    documents: list[DocumentState]
    request_id: str = ""
    warnings: list[StoredWarning] = field(default_factory=list)
    template_name: str = ""  # the template's name when the job was submitted
    kind: JobKind = JobKind.BATCH
    # A job as a list reads it: its counts, without its documents (``JobStore.list``).
    counts: Counts | None = None

    @property
    def format(self) -> str:
        return self.options.format

    @property
    def total(self) -> int:
        return self.counts.total if self.counts else len(self.documents)

    @property
    def succeeded(self) -> int:
        if self.counts:
            return self.counts.succeeded
        return sum(doc.status is DocumentStatus.SUCCEEDED for doc in self.documents)

    @property
    def failed(self) -> int:
        if self.counts:
            return self.counts.failed
        return sum(doc.status is DocumentStatus.FAILED for doc in self.documents)

    @property
    def status(self) -> JobStatus:
        if self.counts:
            return self._counted_status(self.counts)
        states = {doc.status for doc in self.documents}
        if states <= _FINAL and self.finished_at is not None:
            if DocumentStatus.CANCELLED in states:  # whatever finished before the cancel
                return JobStatus.CANCELLED
            if DocumentStatus.SUCCEEDED not in states:
                return JobStatus.FAILED
            if DocumentStatus.FAILED in states:
                return JobStatus.PARTIAL
            return JobStatus.SUCCEEDED
        return JobStatus.QUEUED if states == {DocumentStatus.QUEUED} else JobStatus.RUNNING

    def _counted_status(self, counts: Counts) -> JobStatus:
        """``status`` from the counts, as the documents' states give it."""
        if self.finished_at is not None:
            if counts.cancelled:
                return JobStatus.CANCELLED
            if not counts.succeeded:
                return JobStatus.FAILED
            return JobStatus.PARTIAL if counts.failed else JobStatus.SUCCEEDED
        done = counts.succeeded + counts.failed + counts.cancelled
        return JobStatus.QUEUED if not done and not counts.started else JobStatus.RUNNING


_FINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)


@dataclass(frozen=True)
class NewDocument:
    name: str
    data: dict[str, Any]
    # Failed from the start (its data does not fit the template, and the job asked for the
    # others to be made nonetheless): never queued; a retry with corrected data makes it.
    error: StoredMessage | None = None
    # The template's pictures it replaces, by name (workers/fill/pictures.py).
    pictures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewJob:
    """A job as submission accepted it, to be written whole."""

    id: str
    tenant: str
    template: str  # its id
    template_key: str  # the job's own copy of it in storage
    options: JobOptions
    documents: Sequence[NewDocument]
    request_id: str = ""  # of the request that submitted it, for the workers' logs
    # What its submitter should check (columns of its data file no tag reads...).
    warnings: list[StoredWarning] = field(default_factory=list)
    template_name: str = ""
    kind: JobKind = JobKind.BATCH


@dataclass(frozen=True)
class WorkItem:
    """What a worker needs to produce one document."""

    job_id: str
    index: int
    template_key: str
    data: dict[str, Any]
    options: JobOptions
    tenant: str = ""
    request_id: str = ""  # of the request that submitted the job
    name: str = ""  # the document's name (its file's, its title where the template has none)
    kind: JobKind = JobKind.BATCH  # a check's documents are filled, not converted
    pictures: dict[str, Any] = field(default_factory=dict)  # the template's, replaced


class JobStore:
    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._start = client.register_script(_START_DOCUMENT)
        self._finish = client.register_script(_FINISH_DOCUMENT)
        self._cancel = client.register_script(_CANCEL_QUEUED)
        self._return = client.register_script(_RETURN_TO_QUEUE)
        self._retry = client.register_script(_RETRY_FAILED)
        self._undo_retry = client.register_script(_UNDO_RETRY)
        self._note_timeout = client.register_script(_NOTE_TIMEOUT)
        self._finish_job = client.register_script(_FINISH_JOB)
        self._claim_endings = client.register_script(_CLAIM_ENDINGS)
        self._reserve = client.register_script(_RESERVE_UNFINISHED)

    @staticmethod
    def key(job_id: str) -> str:
        """The job record's key; the job's other keys, and its webhook state's, share it as
        their prefix."""
        return f"docrender:job:{job_id}"

    @classmethod
    def _keys(cls, job_id: str) -> tuple[str, str, str]:
        base = cls.key(job_id)
        return base, f"{base}:docs", f"{base}:data"

    @classmethod
    def _pictures_key(cls, job_id: str) -> str:
        """index -> the pictures a document replaces (JSON), for documents that do."""
        return f"{cls.key(job_id)}:pictures"

    # Jobs whose last document is final and whose end is not handled yet (module docstring).
    ENDINGS = "docrender:jobs:ending"

    @staticmethod
    def finished_channel(job_id: str) -> str:
        """Pub/sub channel told when the job finishes (for long polls)."""
        return f"docrender:job:{job_id}:finished"

    def create(self, new: NewJob) -> Job:
        """Write the whole job in one transaction: either all of it exists or none. The
        caller reserved room for its documents (``reserve_unfinished``)."""
        job_key, docs_key, data_key = self._keys(new.id)
        created_at = utcnow_iso()
        states = [
            DocumentState(
                i,
                doc.name,
                DocumentStatus.QUEUED if doc.error is None else DocumentStatus.FAILED,
                doc.error,
            )
            for i, doc in enumerate(new.documents)
        ]
        failed = sum(state.status is DocumentStatus.FAILED for state in states)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            job_key,
            mapping={
                "tenant": new.tenant,
                "template": new.template,
                "template_key": new.template_key,
                "options": new.options.model_dump_json(exclude_defaults=True),
                "created_at": created_at,
                "finished_at": "",
                "total": len(new.documents),
                "done": failed,
                # Counts by state (the module docstring); "counted" says the job keeps them.
                "counted": 1,
                "succeeded": 0,
                "failed": failed,
                "cancelled": 0,
                "started": 0,
                "request_id": new.request_id,
                "warnings": json.dumps(new.warnings, ensure_ascii=False),
                "template_name": new.template_name,
                **({"kind": new.kind} if new.kind is not JobKind.BATCH else {}),
            },
        )
        pipe.hset(docs_key, mapping={str(s.index): _doc_json(s) for s in states})
        pipe.hset(
            data_key,
            mapping={
                str(i): json.dumps(doc.data, ensure_ascii=False)
                for i, doc in enumerate(new.documents)
            },
        )
        if any(doc.pictures for doc in new.documents):
            pipe.hset(
                self._pictures_key(new.id),
                mapping={
                    str(i): json.dumps(doc.pictures, ensure_ascii=False)
                    for i, doc in enumerate(new.documents)
                    if doc.pictures
                },
            )
        retention = self.retention_seconds
        if new.kind is not JobKind.BATCH:
            retention = min(retention, SHORT_RETENTION_SECONDS)
        for key in (job_key, docs_key, data_key, self._pictures_key(new.id)):
            pipe.expire(key, retention)
        if states and failed == len(states):  # ended as it was made: its end is to handle
            pipe.zadd(self.ENDINGS, {new.id: time.time()})
        if new.kind is JobKind.BATCH:
            # The tenant's jobs, newest first (``list``); the index outlives none of them long.
            index = self.tenant_jobs_key(new.tenant)
            score = time.time_ns() // 1000  # microseconds: no two alike
            pipe.zadd(index, {new.id: score})
            pipe.expire(index, self.retention_seconds)
            unfinished = f"{index}:unfinished"
            pipe.zadd(unfinished, {new.id: score})
            pipe.expire(unfinished, self.retention_seconds)
        pipe.execute()
        return Job(
            new.id,
            new.tenant,
            new.template,
            new.options,
            created_at,
            None,
            states,
            request_id=new.request_id,
            warnings=new.warnings,
            template_name=new.template_name,
            kind=new.kind,
        )

    @staticmethod
    def tenant_jobs_key(tenant: str) -> str:
        return f"docrender:tenant:{tenant}:jobs"

    def list(
        self, tenant: str, limit: int, before: float | None = None, status: str | None = None
    ) -> tuple[list[Job], float | None]:
        """The tenant's jobs, newest first: up to ``limit`` created before ``before`` (a
        cursor this returned), of ``status`` if given; and the cursor for the next page
        (None at the end). Each job as its record counts it (``Job.counts``, no documents),
        read a page at a time; a status walks its own index (the module docstring). Jobs
        that expired leave the indexes as they are met."""
        index = self.tenant_jobs_key(tenant)
        if status in _FINAL_STATUSES:
            index = f"{index}:{status}"
        elif status is not None:
            index = f"{index}:unfinished"
        found: list[Job] = []
        upper = f"({before}" if before is not None else "+inf"
        while len(found) < limit:
            batch = cast(  # withscores: (member, score) pairs
                "list[tuple[str, float]]",
                self.redis.zrevrangebyscore(
                    index, upper, "-inf", start=0, num=max(limit, 20), withscores=True
                ),
            )
            if not batch:
                return found, None
            jobs = self._counted([job_id for job_id, _ in batch], tenant)
            for (job_id, score), job in zip(batch, jobs, strict=True):
                upper = f"({score}"
                if job is None:
                    self.redis.zrem(index, job_id)
                elif status is None or job.status == status:
                    found.append(job)
                    if len(found) == limit:
                        return found, score
        return found, None

    def _counted(self, job_ids: Sequence[str], tenant: str) -> builtins.list[Job | None]:
        """The jobs as their records count them, in one round trip; a job recorded before
        the counts were kept is read whole."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(self.key(job_id))
        jobs: builtins.list[Job | None] = []
        for job_id, fields in zip(job_ids, pipe.execute(), strict=True):
            if not fields or fields.get("tenant") != tenant:
                jobs.append(None)
            elif "counted" not in fields:
                jobs.append(self.get(job_id, tenant))
            else:
                jobs.append(self._job(job_id, fields, [], _counts(fields)))
        return jobs

    @staticmethod
    def unfinished_key(tenant: str) -> str:
        return f"docrender:tenant:{tenant}:unfinished"

    def reserve_unfinished(self, tenant: str, count: int, cap: int) -> bool:
        """Count ``count`` more unfinished documents for ``tenant`` unless that passes ``cap``."""
        return bool(self._reserve(keys=[self.unfinished_key(tenant)], args=[count, cap]))

    def release_unfinished(self, tenant: str, count: int) -> None:
        """Give back a reservation whose job was never created."""
        self.redis.decrby(self.unfinished_key(tenant), count)

    def delete(self, job_id: str) -> None:
        """Remove a job that was never queued. (A task of it already sent finds no job and
        does nothing.)"""
        self.redis.delete(*self._keys(job_id), self._pictures_key(job_id))

    def get(self, job_id: str, tenant: str | None) -> Job | None:
        """The job, or None when it does not exist, expired, or belongs to another tenant.
        (``tenant=None`` skips the ownership check: for workers, never for requests.)"""
        job_key, docs_key, _ = self._keys(job_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(job_key)
        pipe.hgetall(docs_key)
        fields, docs = pipe.execute()
        if not fields or (tenant is not None and fields.get("tenant") != tenant):
            return None
        documents = [
            _document_state(int(index), raw)
            for index, raw in sorted(docs.items(), key=lambda item: int(item[0]))
        ]
        return self._job(job_id, fields, documents)

    def document(
        self, job_id: str, index: int, tenant: str
    ) -> tuple[JobOptions, DocumentState | None] | None:
        """One document's state and its job's options, or None as ``get`` answers None: a
        download reads one document, not all of a job's (a thousand downloads of a
        thousand-document job would read a million)."""
        job_key, docs_key, _ = self._keys(job_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(job_key, ["tenant", "options"])
        pipe.hget(docs_key, str(index))
        (owner, options), raw = pipe.execute()
        if owner is None or owner != tenant:
            return None
        state = _document_state(index, raw) if raw is not None else None
        return JobOptions.model_validate_json(options), state

    @staticmethod
    def _job(
        job_id: str,
        fields: dict[str, str],
        documents: builtins.list[DocumentState],
        counts: Counts | None = None,
    ) -> Job:
        return Job(
            id=job_id,
            tenant=fields["tenant"],
            template=fields["template"],
            options=JobOptions.model_validate_json(fields["options"]),
            created_at=fields["created_at"],
            finished_at=fields.get("finished_at") or None,
            documents=documents,
            request_id=fields.get("request_id", ""),
            warnings=json.loads(fields.get("warnings") or "[]"),
            template_name=fields.get("template_name", ""),
            kind=JobKind(fields.get("kind") or JobKind.BATCH),
            counts=counts,
        )

    def options(self, job_id: str) -> JobOptions | None:
        """The job's options alone (None when it is gone): one field, not the whole job."""
        raw = self.redis.hget(self.key(job_id), "options")
        return None if raw is None else JobOptions.model_validate_json(raw)

    def interrupted(self, job_id: str, indexes: Sequence[int]) -> bool:
        """Whether any of these documents is "running" before its task started it (a delivery
        that made it died mid-work) or has had a conversion time out: they are then made one
        at a time, so that what happens next is counted on the document that causes it."""
        raws = self.redis.hmget(self._keys(job_id)[1], [str(index) for index in indexes])
        docs = [json.loads(raw) for raw in raws if raw]
        return any(doc["status"] == DocumentStatus.RUNNING or doc.get("timeouts") for doc in docs)

    def note_timeout(self, job_id: str, indexes: Sequence[int], limit: int) -> builtins.list[int]:
        """Count a timed-out conversion on these documents; return those that have now
        timed out ``limit`` times (the caller fails them)."""
        docs_key = self._keys(job_id)[1]
        reached = self._note_timeout(keys=[docs_key], args=[limit, *map(str, indexes)])
        return [int(index) for index in reached]

    def start_document(self, job_id: str, index: int, max_crashes: int = 3) -> WorkItem | None:
        """Mark a document running and return its work, or None when there is nothing to do
        (the job expired, or a re-delivered task finds the document already finished).
        Raises DocumentQuarantined when ``max_crashes`` deliveries of it died mid-work."""
        job_key, docs_key, data_key = self._keys(job_id)
        status = self._start(keys=[docs_key, job_key], args=[str(index), str(max_crashes)])
        if status == "quarantine":
            raise DocumentQuarantined(
                _(
                    "The worker died %(max_crashes)s times while making this document, so it is "
                    "set aside instead of tried again; check the template and data for what makes "
                    "rendering or LibreOffice crash.",
                    max_crashes=max_crashes,
                ),
            )
        if status != DocumentStatus.RUNNING:
            return None
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(job_key, ["options", "template_key", "tenant", "request_id", "kind"])
        pipe.hget(data_key, str(index))
        pipe.hget(docs_key, str(index))
        pipe.hget(self._pictures_key(job_id), str(index))
        (options, template_key, tenant, request_id, kind), data, state, pictures = pipe.execute()
        if options is None or data is None:
            return None
        return WorkItem(
            job_id,
            index,
            template_key,
            json.loads(data),
            JobOptions.model_validate_json(options),
            tenant,
            request_id or "",
            json.loads(state or "{}").get("name", ""),
            JobKind(kind or JobKind.BATCH),
            json.loads(pictures or "{}"),
        )

    def finish_document(
        self,
        job_id: str,
        index: int,
        status: DocumentStatus,
        error: StoredMessage | None = None,
        warnings: builtins.list[StoredWarning] | None = None,
        language: str | None = None,
        pages_in: PagesIn | None = None,
    ) -> Finish:
        """Record a document's final state (once: a second call changes nothing), with what
        to check in it, the Chinese forms it printed with, and where else its pages lie."""
        if not status.final:
            raise ValueError(f"{status!r} is not a final document state")
        job_key, docs_key, _ = self._keys(job_id)
        # Only what is there: Lua's cjson would store an empty list as {}.
        details: dict[str, object] = {
            k: v for k, v in (("warnings", warnings), ("language", language)) if v
        }
        if pages_in is not None:
            details["pages_in"] = [pages_in.key, pages_in.start, pages_in.stop]
        outcome = self._finish(
            keys=[job_key, docs_key, self.ENDINGS],
            args=[
                str(index),
                status,
                json.dumps(error, ensure_ascii=False),
                time.time(),
                json.dumps(details, ensure_ascii=False) if details else "",
                job_id,
            ],
        )
        return Finish(max(int(outcome), 0))

    def return_to_queue(self, job_id: str, index: int) -> None:
        self._return(keys=[self._keys(job_id)[1]], args=[str(index)])

    def cancel_queued(self, job_id: str) -> int:
        job_key, docs_key, _ = self._keys(job_id)
        return int(self._cancel(keys=[job_key, docs_key, self.ENDINGS], args=[time.time(), job_id]))

    def requeue_failed(
        self, job_id: str, cap: int, fixed: Mapping[int, dict[str, Any]] | None = None
    ) -> Retried:
        """Put the job's failed documents back in the queue, except those set aside (see
        SET_ASIDE), and unless that would take its tenant past ``cap`` unfinished documents
        (then nothing changes and ``over_cap`` says how many would have been). With
        ``fixed``, only those of its documents, each with its corrected data, in the same
        step. (An undone retry fails them again; their corrected data stays.)"""
        job_key, docs_key, data_key = self._keys(job_id)
        corrected = {
            str(index): json.dumps(data, ensure_ascii=False)
            for index, data in (fixed or {}).items()
        }
        raw = self._retry(
            keys=[job_key, docs_key, self.ENDINGS, data_key],
            args=[cap, job_id, json.dumps(corrected, ensure_ascii=False), *SET_ASIDE],
        )
        retried = json.loads(raw)
        # Lua's cjson writes an empty table as {}: "again" may come back as a dict.
        again = sorted(int(i) for i in (retried.get("again") or []))
        return Retried(job_id, again, int(retried.get("over_cap", 0)), raw)

    def data_sizes(self, job_id: str, indexes: Iterable[int]) -> dict[int, int]:
        """The bytes the data of each of the job's documents ``indexes`` takes, as stored
        (UTF-8 JSON)."""
        wanted = list(indexes)
        pipe = self.redis.pipeline(transaction=False)
        for index in wanted:
            pipe.hstrlen(self._keys(job_id)[2], str(index))
        return dict(zip(wanted, map(int, pipe.execute()), strict=True))

    def undo_retry(self, retried: Retried) -> int:
        """Fail again, with their earlier errors, the retried documents still queued: for a
        retry whose tasks could not be sent. Returns how many were."""
        job_key, docs_key, _ = self._keys(retried.job_id)
        return int(
            self._undo_retry(
                keys=[job_key, docs_key, self.ENDINGS],
                args=[retried.undo, time.time(), retried.job_id],
            )
        )

    def ended(self, job_id: str) -> bool:
        """Whether every document of the job is final (whatever is left of its end to do)."""
        done, total = self.redis.hmget(self.key(job_id), ["done", "total"])
        return total is not None and int(done or 0) >= int(total)

    def finish(self, job_id: str) -> bool:
        """Finish an ended job whose files are stored: its finish time, its final status, and
        long polls answered. False when it is gone, finished already, or was re-opened
        (retried) meanwhile."""
        return bool(
            self._finish_job(
                keys=[self.key(job_id), self.finished_channel(job_id)],
                args=[utcnow_iso(), job_id],
            )
        )

    def end_handled(self, job_id: str) -> bool:
        """Take the job off the endings to handle; False when it was not on them (another
        delivery of its end task handled it)."""
        return bool(self.redis.zrem(self.ENDINGS, job_id))

    def claim_endings(self, older_than: float, limit: int = 100) -> builtins.list[str]:
        """The jobs whose end is still unhandled ``older_than`` seconds after it (a task lost
        or failed for good), each claimed for another ``older_than`` seconds."""
        now = time.time()
        claimed = self._claim_endings(keys=[self.ENDINGS], args=[now - older_than, now, limit])
        return [str(job_id) for job_id in claimed]


@dataclass(frozen=True)
class Retried:
    """What a retry did: the documents re-queued, or how many would have passed the cap."""

    job_id: str
    again: list[int]
    over_cap: int
    undo: str  # the earlier state, for undo_retry


class Finish(enum.IntEnum):
    UNCHANGED = 0  # already final, or the job is gone
    RECORDED = 1
    JOB_ENDED = 2  # this was the job's last document: what follows its end is due


def _document_state(index: int, raw: str) -> DocumentState:
    doc = json.loads(raw)
    pages_in = doc.get("pages_in")
    return DocumentState(
        index,
        doc["name"],
        DocumentStatus(doc["status"]),
        doc["error"],
        doc.get("warnings") or [],
        doc.get("language"),
        PagesIn(*pages_in) if pages_in else None,
    )


def _doc_json(state: DocumentState) -> str:
    return json.dumps(
        {"name": state.name, "status": state.status, "error": state.error}, ensure_ascii=False
    )
