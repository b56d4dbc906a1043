"""Structured logs: one JSON object a line, with what a log line is about (request id, tenant,
job, document) taken from the context it was written in, so that a request can be followed
from the API into the worker that made its documents.

    configure("worker")                 # once, at process start
    with bind(job_id=..., document=3):  # everything logged inside carries these fields
        log.info("converted")
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_context", default={})  # noqa: B039 (never mutated)


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    token = push(**fields)
    try:
        yield
    finally:
        pop(token)


def push(**fields: Any) -> contextvars.Token[dict[str, Any]]:
    """``bind`` for a context that opens and closes in separate hooks (a Flask request)."""
    return _CONTEXT.set({**_CONTEXT.get(), **fields})


def pop(token: contextvars.Token[dict[str, Any]]) -> None:
    _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _CONTEXT.get().items():
            setattr(record, name, value)
        return True


def configure(service: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process (root logger)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
            json_ensure_ascii=False,
        )
    )
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
