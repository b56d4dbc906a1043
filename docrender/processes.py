"""Plumbing for starting local processes: a free loopback port to give one, and a poll of a
real round trip until it answers (never a fixed sleep). Used by the stack runner, the
LibreOffice supervisor and the tests alike."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll_until(
    check: Callable[[], T],
    seconds: float,
    *,
    interval: float = 0.1,
    give_up: Callable[[], str | None] = lambda: None,
) -> T | None:
    """Call ``check`` until it returns something truthy, and return that; None when
    ``seconds`` passed first. ``give_up`` is asked between tries and may end the wait early
    with a reason (a process that died), raised as RuntimeError."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if (reason := give_up()) is not None:
            raise RuntimeError(reason)
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
