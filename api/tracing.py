"""X-Request-ID: taken from the caller (so its own traces line up with ours) or made here,
echoed on every response, recorded with the job and bound to every log line of the request."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from docrender.monitoring import logs

HEADER = "X-Request-ID"
# What we accept from a caller: short, and safe to write into logs and headers as it is.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def register(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_echo)
    app.teardown_request(_end)


def request_id() -> str:
    return str(g.request_id)


def _start() -> None:
    given = request.headers.get(HEADER, "")
    # An unusable id is replaced rather than refused: tracing must never fail a request.
    g.request_id = given if _ACCEPTABLE.match(given) else uuid.uuid4().hex
    g.log_token = logs.push(request_id=g.request_id)


def _echo(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id", "")
    return response


def _end(_: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        logs.pop(token)
