"""Untrusted bytes parsed in a child process that cannot hold the API.

Parsers of what tenants send can take time or memory out of all proportion to the bytes:
docxtpl's tag rewriting is quadratic in a run of braces, openpyxl pads every row of a sheet to
the width its ``<dimension>`` claims, a spreadsheet number format costs time quadratic in its
length, a package's XML can expand 189 to 1. None of that can be interrupted inside a request
thread (a signal reaches only the main thread, and C code does not look). So templates,
sub-documents and data files are parsed here: in a pebble process pool whose children run under
an address-space limit and are killed at their deadline. The children are forked from a clean
forkserver, never from the threaded server, and the pool is made on first use in each API
process. A tenant has one child at a time per API process (another request is refused at
once), so one tenant cannot take every child, nor every API thread waiting on one. What comes
back is the result, or the typed error the work raised (docrender/errors.py errors cross
processes whole).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import pebble

from docrender.errors import DocrenderError, TooManyUploads
from docrender.i18n import Message, _

T = TypeVar("T")

CHILD_MEMORY = 1 << 30  # bytes of address space for a child
# Two at a time per API process, so one slow parse does not queue every other behind it.
CHILDREN = 2
# The modules whose functions run in the children, imported once by the forkserver.
_PRELOAD = [
    "docrender.templates.inspection",
    "docrender.templates.tags",
    "docrender.templates.fill_in_sheet",
    "docrender.data.files",
]


class Overran(Exception):
    """The work ran past its deadline ("time") or its memory ("memory") and was killed."""

    def __init__(self, limit: Literal["time", "memory"], seconds: float) -> None:
        super().__init__(limit)
        self.limit = limit
        self.text: Message = (
            _("%(seconds)s seconds", seconds=int(seconds))
            if limit == "time"
            else _("%(mib)s MiB of memory", mib=CHILD_MEMORY >> 20)
        )


def run_in_child(tenant: str, seconds: float, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` (a module-level function: it is pickled by name) in a child, for
    ``tenant``. Raises what it raised, Overran past ``seconds`` or CHILD_MEMORY, and
    TooManyUploads (429) when ``tenant`` has work running here already."""
    with _lock:
        if tenant in _running:
            raise TooManyUploads(
                _("Your previous upload is still being read; send one at a time."),
                {"limit": "1 at a time"},
                retry_after=5,
            )
        _running.add(tenant)
    try:
        future = _pool().schedule(_call, args=(function, args), timeout=seconds)
        try:
            return future.result()  # type: ignore[no-any-return]
        except concurrent.futures.TimeoutError:
            raise Overran("time", seconds) from None
        except (MemoryError, pebble.ProcessExpired):
            raise Overran("memory", seconds) from None
    finally:
        with _lock:
            _running.discard(tenant)


def _call(function: Callable[..., T], args: tuple[Any, ...]) -> T:
    """In the child: the work, and what it raised as something that crosses back whole (a
    parser's own exceptions may not pickle: lxml's carry their error log)."""
    try:
        return function(*args)
    except (DocrenderError, MemoryError):
        raise
    except Exception as exc:
        # libxml2 (lxml, openpyxl) running into the address-space limit says so this way.
        if "Memory allocation failed" in str(exc) or "NO_MEMORY" in str(
            getattr(exc, "error_log", "")
        ):
            raise MemoryError(str(exc)) from None
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


_lock = threading.Lock()
_pools: dict[int, pebble.ProcessPool] = {}  # by process id: a forked process makes its own
_running: set[str] = set()  # tenants with work running in a child of this process


def _stop(pool: pebble.ProcessPool) -> None:
    pool.stop()  # type: ignore[no-untyped-call]
    pool.join(timeout=5)


def _pool() -> pebble.ProcessPool:
    with _lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            pool = pebble.ProcessPool(
                max_workers=CHILDREN, initializer=_limit_memory, context=context
            )
            atexit.register(_stop, pool)
            _pools[os.getpid()] = pool
        return pool
