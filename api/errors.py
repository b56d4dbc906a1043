"""Every error leaves as the contract's JSON body: never an HTML page, never a traceback."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis.exceptions
from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from docrender.errors import DocrenderError, ServiceUnavailable
from docrender.i18n import Language, _, negotiate
from docrender.monitoring import metrics

log = logging.getLogger(__name__)

# Werkzeug's own errors (unknown route, wrong method, body too large) in the contract's codes.
_HTTP_CODES = {
    400: ("malformed_request", _("The request could not be read.")),
    404: ("not_found", _("There is no such resource; check the URL.")),
    405: ("method_not_allowed", _("This URL does not accept that method.")),
    413: ("payload_too_large", _("The request body is larger than the server accepts.")),
    415: ("unsupported_file_type", _("The request's content type is not supported.")),
}


def request_language(default: Language | None = None) -> Language:
    """The language the request asks for (Accept-Language), else ``default`` (a job's own
    ``messages``), else English."""
    if not has_request_context():
        return default or "en"
    return negotiate(tag for tag, _quality in request.accept_languages) or default or "en"


def error_response(error: DocrenderError) -> Response:
    if error.status in (413, 429):
        metrics.REJECTIONS.labels(error.code).inc()
    response = jsonify({"error": error.to_dict(request_language())})
    response.status_code = error.status
    if error.status in (409, 429, 503) and (retry_after := getattr(error, "retry_after", None)):
        response.headers["Retry-After"] = str(retry_after)
    return response


def register(app: Flask) -> None:
    @app.errorhandler(DocrenderError)
    def handle_docrender_error(error: DocrenderError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        code, text = _HTTP_CODES.get(status, ("http_error", None))
        if status == 413:  # a body over the size limit, refused before it was read
            metrics.REJECTIONS.labels(code).inc()
        message = text.render(request_language()) if text else error.description or ""
        response = jsonify({"error": {"code": code, "message": message, "details": None}})
        response.status_code = status
        return response

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    @app.errorhandler(kombu.exceptions.OperationalError)
    def handle_redis_down(error: Exception) -> Response:
        log.warning("dependency unavailable: %s", error)
        return error_response(
            ServiceUnavailable(
                _("The job store is unavailable; retry shortly."),
                {"redis": "down"},
            )
        )

    @app.errorhandler(redis.exceptions.OutOfMemoryError)
    def handle_redis_full(error: Exception) -> Response:
        log.error("the job store is full (Redis maxmemory): %s", error)
        return error_response(
            ServiceUnavailable(
                _("The job store is full; retry later, when finished jobs have expired."),
                {"redis": "full"},
            )
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        response = jsonify(
            {
                "error": {
                    "code": "internal_error",
                    "message": _("Something went wrong on our side; it has been logged.").render(
                        request_language()
                    ),
                    "details": None,
                }
            }
        )
        response.status_code = 500
        return response
