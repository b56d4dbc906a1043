"""``GET /metrics``: Prometheus' text format (docrender/monitoring/metrics.py), on only when
``DOCRENDER_METRICS_TOKEN`` is set, and then only for a scraper that sends it as a Bearer
token. Not part of the API's OpenAPI document: it is for operators, not clients."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, request

from api.services import services
from docrender.errors import Unauthorized
from docrender.i18n import _
from docrender.monitoring import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    token = services().settings.metrics_token
    if not token:
        abort(404)
    scheme, _sep, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), token.encode()):
        raise Unauthorized(
            _("Send DOCRENDER_METRICS_TOKEN as 'Authorization: Bearer <token>'."),
        )
    return Response(metrics.exposition(services().redis), content_type=metrics.CONTENT_TYPE)
