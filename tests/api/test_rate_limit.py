"""Per-tenant request rate through Redis: 429 in the contract's shape with Retry-After, counted
across API processes, one tenant's burst never slowing another."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from api import create_app
from docrender.settings import Settings, SettingsError
from tests.helpers.clients import Tenant


def api_process(settings: Settings, keys: dict[str, str]) -> Tenant:
    """A separate app, as another gunicorn process would be, sharing the same Redis."""
    app = create_app(
        dataclasses.replace(
            settings, api_keys=keys, rate_limit="5/minute", read_rate_limit="5/minute"
        )
    )
    return Tenant(app.test_client(), next(iter(keys)))


def test_over_the_rate_is_429_with_retry_after_across_processes(settings: Settings) -> None:
    busy, calm = f"t{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
    keys = {f"key-{busy}": busy, f"key-{calm}": calm}
    first, second = api_process(settings, keys), api_process(settings, keys)
    answers = [(first if i % 2 else second).get("/v1/templates").status_code for i in range(5)]
    assert answers == [200] * 5
    refused = first.get("/v1/templates")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited" and "5 per 1 minute" in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another tenant, and the health checks, are not slowed by it.
    other = Tenant(first.client, f"key-{calm}")
    assert other.get("/v1/templates").status_code == 200
    assert first.client.get("/healthz").status_code == 200


def test_a_rate_that_is_not_one_stops_the_settings() -> None:
    with pytest.raises(SettingsError, match="DOCRENDER_RATE_LIMIT"):
        Settings.from_env({"DOCRENDER_RATE_LIMIT": "lots"})
    with pytest.raises(SettingsError, match="DOCRENDER_READ_RATE_LIMIT"):
        Settings.from_env({"DOCRENDER_READ_RATE_LIMIT": "lots"})


def test_reads_and_submissions_have_budgets_of_their_own(settings: Settings) -> None:
    """A client fetching its results right after a job is not refused its next submission,
    and one that submits a lot can still read what it made."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(
        dataclasses.replace(
            settings, api_keys={"key-b": tenant}, rate_limit="3/minute", read_rate_limit="50/minute"
        )
    )
    client = Tenant(app.test_client(), "key-b")
    assert all(client.get("/v1/templates").status_code == 200 for _ in range(20))
    answers = [client.post("/v1/jobs", json={}).status_code for _ in range(4)]
    assert answers == [422, 422, 422, 429]  # the fourth submission is over its budget
    assert client.get("/v1/templates").status_code == 200  # reads go on
