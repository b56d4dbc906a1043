"""The clerks' pages, served by the API's own Flask app under /web (web/pages.py), and the
API's reference at /docs, whose Swagger UI files come from the swagger-ui-py package: every
script, style and font is served by docrender itself, so the pages work without internet."""

from __future__ import annotations

import secrets

import redis
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from swagger_ui import api_doc

from web.pages import bp, csrf


class _PageSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, the cookie marked Secure whenever the page came over
    TLS (HttpOnly and SameSite=Strict always), signed with a key read when first needed, so
    that the API starts, and answers 503, while Redis is down."""

    def __init__(self, client: redis.Redis, secret_key: str | None) -> None:
        self.client = client
        self.secret_key = secret_key

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            try:
                app.secret_key = self.secret_key or _shared_secret(self.client)
            except redis.exceptions.RedisError:
                return None  # no session this time: the pages ask to sign in again
        return super().get_signing_serializer(app)


def register(app: Flask, client: redis.Redis, secret_key: str | None) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="docrender_session",
        WTF_CSRF_CHECK_DEFAULT=False,  # the pages check it (web/pages.py); the API has keys
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session
    )
    app.session_interface = _PageSessions(client, secret_key)
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", "root", lambda: app.redirect("/web/"))
    # The page loads the document itself, from beside it (swagger-ui-py puts config_rel_url
    # under its prefix): nothing is fetched server-side.
    app.add_url_rule("/docs/openapi.json", "docs_openapi", app.view_functions["openapi_document"])
    api_doc(app, config_rel_url="/openapi.json", url_prefix="/docs", title="docrender API")


def _shared_secret(client: redis.Redis) -> str:
    """The key that signs session cookies when DOCRENDER_SECRET_KEY is not set: made once and
    kept in Redis, so that every API process (on every host) signs and reads the same. Never
    a stand-in: when Redis keeps none (it lost its data between the two steps), no session is
    signed this time."""
    client.set("docrender:web:secret_key", secrets.token_urlsafe(48), nx=True)
    kept = client.get("docrender:web:secret_key")
    if not isinstance(kept, str) or len(kept) < 32:
        raise redis.exceptions.DataError("no session key in Redis")
    return kept
