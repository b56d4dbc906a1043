"""The HTTP API: validates and records jobs, serves their results. It never touches
LibreOffice: work reaches the workers only as Celery tasks sent by name."""

from __future__ import annotations

import sys

from flask import Flask, g
from flask_babel import Babel

import web
from api import errors, health, jobs, metrics, openapi, templates, tracing
from api.services import ApiServices
from docrender.i18n import CATALOGS, TRANSLATIONS
from docrender.monitoring import logs
from docrender.settings import Settings, SettingsError


def create_app(settings: Settings, services: ApiServices | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["docrender"] = services or ApiServices.from_settings(settings)

    errors.register(app)
    # Flask-Babel: the pages' templates read their words from the catalogs, in the language
    # the page settled on (web/pages.py) or the request asks for.
    Babel(
        app,
        locale_selector=lambda: CATALOGS.get(g.get("language") or errors.request_language(), "en"),
        default_translation_directories=str(TRANSLATIONS),
    )
    tracing.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    # Every /v1 blueprint checks the API key before its routes run.
    app.register_blueprint(templates.bp, url_prefix="/v1")
    app.register_blueprint(jobs.bp, url_prefix="/v1")
    openapi.register(app)
    web.register(app, app.extensions["docrender"].redis, settings.secret_key)
    return app


def create_app_from_env() -> Flask:
    """Entry point for gunicorn: ``gunicorn 'api:create_app_from_env()'``. A configuration
    error (a setting, or the object store's bucket or credentials) ends start-up with one
    line naming the variable."""
    logs.configure("api")
    try:
        return create_app(Settings.from_env())
    except SettingsError as exc:
        sys.exit(f"docrender api: configuration error: {exc}")
