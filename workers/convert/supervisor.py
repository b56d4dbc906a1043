"""A supervisor for one long-running helper process (a LibreOffice instance): it starts the
process on first use, runs one task at a time on it, replaces it when a task finds it broken,
and recycles it after a number of tasks to bound its memory. The process type itself only
starts, stops and tells whether it lives (workers/convert/libreoffice.py), as in Gotenberg's split
of ``supervisor.go`` and its LibreOffice module.

Replacing a broken process is left to the next task (or the idle probe): starting it at once
would lengthen the failing task, which its retry does not need.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from docrender.errors import ConverterUnavailable
from docrender.i18n import _

log = logging.getLogger(__name__)


class Supervised(Protocol):
    def start(self) -> None: ...
    def stop(self, graceful: bool = True) -> None: ...
    def alive(self) -> bool: ...


P = TypeVar("P", bound=Supervised)
T = TypeVar("T")


class ProcessBroken(Exception):
    """Raised by a task whose process must be replaced (it died or hangs). The supervisor
    stops the process, logs ``reason`` and raises ``error`` to the task's caller: what is
    logged is kept apart from what the caller is told."""

    def __init__(self, reason: str, error: Exception, hung: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.hung = hung


class Supervisor(Generic[P]):
    def __init__(
        self,
        process: P,
        recycle_after: int,
        on_restart: Callable[[str], None] = lambda reason: None,
        on_round_trip: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_round_trip`` is told each time a task succeeded (a health signal)."""
        self.process = process
        self.recycle_after = recycle_after
        # Told why each new process replaces the last: "crash", "hang" or "recycle".
        self.on_restart = on_restart
        self._restart_reason: str | None = None
        self.on_round_trip = on_round_trip
        self.tasks = 0  # since the process started
        self._last_round_trip = float("-inf")
        self._lock = threading.Lock()
        self._closed = False
        self._started_once = False

    def run(self, task: Callable[[P], T], last: bool = False) -> T:
        """Run ``task`` on a live process, alone. ``last``: the process is stopped once the
        task is over, however it ended, and the next task starts a new one (what the task
        brought into it must reach no other)."""
        with self._lock:
            if self._closed:  # the worker process is shutting down: start nothing new
                raise ConverterUnavailable(
                    _("The converter is shutting down; retrying elsewhere"),
                )
            self._ensure_running()
            try:
                result = task(self.process)
            except ProcessBroken as broken:
                self._replace_later(broken.reason, hung=broken.hung)
                raise broken.error from None
            finally:
                if last and self.process.alive():
                    self._replace_later("its task must not leave anything behind", recycle=True)
            self.tasks += 1
            self._last_round_trip = time.monotonic()
            self.on_round_trip()
            return result

    def seconds_since_round_trip(self) -> float:
        return time.monotonic() - self._last_round_trip

    def close(self) -> None:
        """Stop the process for good (waiting for a task under way to end)."""
        with self._lock:
            self._closed = True
            self.process.stop()

    def _ensure_running(self) -> None:
        if self.process.alive() and self.tasks >= self.recycle_after:
            self._replace_later(f"recycled after {self.tasks} tasks", recycle=True)
        if not self.process.alive():
            if self._started_once:
                log.warning("%s is gone; starting a new one", type(self.process).__name__)
                self.on_restart(self._restart_reason or "crash")
                self._restart_reason = None
            self.process.stop()  # whatever is left of it
            self.process.start()
            self._started_once = True
            self.tasks = 0

    def _replace_later(self, reason: str, hung: bool = False, recycle: bool = False) -> None:
        """Stop the process; the next task starts a new one. Not ``graceful`` for one that
        hangs: it would only spend the grace period ignoring SIGTERM."""
        log.warning("stopping %s: %s", type(self.process).__name__, reason)
        self._restart_reason = "hang" if hung else "recycle" if recycle else "crash"
        self.process.stop(graceful=not hung)
        self.tasks = 0
