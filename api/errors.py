"""Every error leaves as the contract's JSON body: never an HTML page, never a traceback."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis.exceptions
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from docrender.errors import DocrenderError, ServiceUnavailable

log = logging.getLogger(__name__)

# Werkzeug's own errors (unknown route, wrong method, body too large) in the contract's codes.
_HTTP_CODES = {
    400: ("malformed_request", "The request could not be read."),
    404: ("not_found", "There is no such resource; check the URL."),
    405: ("method_not_allowed", "This URL does not accept that method."),
    413: ("payload_too_large", "The request body is larger than the server accepts."),
    415: ("unsupported_file_type", "The request's content type is not supported."),
}


def error_response(error: DocrenderError) -> Response:
    response = jsonify({"error": error.to_dict()})
    response.status_code = error.status
    if error.status in (429, 503):
        response.headers["Retry-After"] = str(getattr(error, "retry_after", 5))
    return response


def register(app: Flask) -> None:
    @app.errorhandler(DocrenderError)
    def handle_docrender_error(error: DocrenderError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", error.description or ""))
        response = jsonify({"error": {"code": code, "message": message, "details": None}})
        response.status_code = status
        return response

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    @app.errorhandler(kombu.exceptions.OperationalError)
    def handle_redis_down(error: Exception) -> Response:
        log.warning("dependency unavailable: %s", error)
        return error_response(
            ServiceUnavailable("The job store is unavailable; retry shortly.", {"redis": "down"})
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        response = jsonify(
            {
                "error": {
                    "code": "internal_error",
                    "message": "Something went wrong on our side; it has been logged.",
                    "details": None,
                }
            }
        )
        response.status_code = 500
        return response
