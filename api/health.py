"""Liveness and readiness (no key needed)."""

from __future__ import annotations

import redis.exceptions
from flask import Blueprint, Response, jsonify

from api.errors import error_response
from api.openapi import documented
from api.schemas import Health, Readiness
from api.services import services
from docrender.errors import ServiceUnavailable
from docrender.i18n import _

bp = Blueprint("health", __name__)

# A converter counts as ready if it finished a real conversion this recently. Workers probe
# idle instances every 20 s, so a healthy one is never older than this.
CONVERTER_FRESHNESS_SECONDS = 60


@bp.get("/healthz")
@documented(operation_id="getHealth", tags=("health",), ok={200: Health}, public=True)
def healthz() -> Response:
    """Liveness: 200 while the process lives."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@documented(operation_id="getReadiness", tags=("health",), ok={200: Readiness}, public=True)
def readyz() -> Response:
    """Readiness: Redis answers and a converter made a real conversion recently; which
    LibreOffice they convert with.

    503 names what is down in ``details``."""
    down: dict[str, str] = {}
    converters: list[str] = []
    try:
        services().redis.ping()
        converters = services().heartbeats.recent(CONVERTER_FRESHNESS_SECONDS)
        if not converters:
            down["converters"] = (
                f"no converter finished a conversion in the last {CONVERTER_FRESHNESS_SECONDS}s"
            )
    except redis.exceptions.RedisError as exc:
        down["redis"] = f"{exc.__class__.__name__}: {exc}"
    if down:
        return error_response(
            ServiceUnavailable(
                _("Not ready: %(reasons)s", reasons="; ".join(down.values())),
                down,
            )
        )
    versions = services().heartbeats.versions(converters)
    return jsonify({"status": "ready", "converters": len(converters), "libreoffice": versions})
