from __future__ import annotations

import dataclasses

from api import create_app
from docrender.processes import free_port
from docrender.settings import Settings


def test_readyz_is_503_without_a_recent_converter(settings: Settings) -> None:
    # Database 9 of the test Redis: reachable, but no converter ever reported there.
    empty = settings.require_redis_url().rsplit("/", 1)[0] + "/9"
    client = create_app(dataclasses.replace(settings, redis_url=empty)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "converters" in response.get_json()["error"]["details"]


def test_redis_down_is_503_with_retry_after_not_500(settings: Settings) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(dataclasses.replace(settings, redis_url=closed, api_keys={"k": "t"}))
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "redis" in ready.get_json()["error"]["details"]
    response = client.get("/v1/templates", headers={"Authorization": "Bearer k"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "service_unavailable"
