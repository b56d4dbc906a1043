"""Template inspection at upload, in a child process that cannot hold the API.

docxtpl rewrites a template's tags with regular expressions before Jinja parses them, and
some inputs make that slow beyond reason (a run of 20,000 ``{`` costs 19 s of CPU, growing with
the square of the run) or blow the stack (RecursionError). The API does not inspect in its
own threads: a pebble process pool runs the inspection (tags and fonts) in a child with an
address-space limit, and kills the child at the deadline. The children are forked from a clean
forkserver, never from the threaded server, and the pool is made on first use in each API
process. A tenant has one inspection at a time per API process (another is a 429 at once), so
one tenant's uploads cannot take every inspector, nor every API thread waiting on one. What comes
back is the inspection, or the typed error it raised (docrender/errors.py errors cross processes
whole).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import resource
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pebble

from docrender.errors import TemplateTooComplex, TooManyUploads
from docrender.fonts.template import font_report
from docrender.i18n import _
from docrender.templates.tags import TemplateInspection, inspect_template

INSPECT_SECONDS = 15
INSPECT_MEMORY = 1 << 30  # bytes of address space for a child
# Two at a time per API process, so one slow upload does not queue every other behind it.
INSPECTORS = 2


@dataclass(frozen=True)
class Inspected:
    inspection: TemplateInspection
    fonts: list[dict[str, Any]]  # the font report (docrender/fonts/template.py)


def inspect_upload(data: bytes, tenant: str, fonts_dir: Path | None = None) -> Inspected:
    """Inspect ``tenant``'s template in a child process. Raises the inspection's typed errors,
    TemplateTooComplex when it ran past INSPECT_SECONDS or INSPECT_MEMORY, TooManyUploads when
    the tenant's previous upload is still being inspected here."""
    with _lock:
        if tenant in _inspecting:
            raise TooManyUploads(
                _("Your previous template is still being inspected; upload one at a time."),
                {"limit": "1 at a time"},
                retry_after=5,
            )
        _inspecting.add(tenant)
    try:
        return _inspect_in_child(data, fonts_dir)
    finally:
        with _lock:
            _inspecting.discard(tenant)


def _inspect_in_child(data: bytes, fonts_dir: Path | None) -> Inspected:
    future = _pool().schedule(_inspect, args=(data, fonts_dir), timeout=INSPECT_SECONDS)
    try:
        return future.result()
    except concurrent.futures.TimeoutError:
        limit = _("%(seconds)s seconds", seconds=INSPECT_SECONDS)
    except (MemoryError, pebble.ProcessExpired):
        limit = _("%(mib)s MiB of memory", mib=INSPECT_MEMORY >> 20)
    raise TemplateTooComplex(
        _(
            "Reading this template's tags took more than %(limit)s; a Word template needs far "
            "less. Look for very long runs of braces or deeply nested tags.",
            limit=limit,
        ),
        {"limit": str(limit)},
    )


def inspect_here(data: bytes, tenant: str, fonts_dir: Path | None = None) -> Inspected:
    """The same inspection in this process: for templates docrender ships (the sample)."""
    return _inspect(data, fonts_dir)


def _inspect(data: bytes, fonts_dir: Path | None) -> Inspected:
    inspection = inspect_template(data)  # first: it refuses what is no safe DOCX
    return Inspected(inspection, [use.to_dict() for use in font_report(data, fonts_dir)])


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (INSPECT_MEMORY, INSPECT_MEMORY))


_lock = threading.Lock()
_pools: dict[int, pebble.ProcessPool] = {}  # by process id: a forked process makes its own
_inspecting: set[str] = set()  # tenants with an inspection running in this process


def _stop(pool: pebble.ProcessPool) -> None:
    pool.stop()
    pool.join(timeout=5)


def _pool() -> pebble.ProcessPool:
    with _lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["docrender.templates.inspection"])
            pool = pebble.ProcessPool(
                max_workers=INSPECTORS, initializer=_limit_memory, context=context
            )
            atexit.register(_stop, pool)
            _pools[os.getpid()] = pool
        return pool
