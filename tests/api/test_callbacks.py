"""What POST /v1/jobs checks about a callback_url before it accepts the job."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
import redis

from api import create_app
from docrender.settings import Settings
from tests.helpers.clients import Tenant, tenant_jobs
from tests.helpers.documents import make_docx


def tenant_app(settings: Settings, **overrides: Any) -> Tenant:
    name = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(dataclasses.replace(settings, api_keys={f"key-{name}": name}, **overrides))
    return Tenant(app.test_client(), f"key-{name}")


def submit(tenant: Tenant, callback_url: object) -> object:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    return tenant.post(
        "/v1/jobs",
        json={
            "template": template,
            "documents": [{"data": {"unit": "甲"}}],
            "callback_url": callback_url,
        },
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        # IPv6 forms that carry an IPv4 address: NAT64, 6to4, IPv4-compatible; site-local.
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[2002:7f00:1::]/hook",
        "http://[2002:c0a8:101::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[fec0::1]/hook",
    ],
)
def test_private_callback_urls_are_refused_without_the_opt_in(
    settings: Settings, redis_client: redis.Redis, url: str
) -> None:
    tenant = tenant_app(settings, webhook_allow_private=False, webhook_secrets={"any": "s"})
    response = submit(tenant, url)
    assert response.status_code == 422  # type: ignore[attr-defined]
    error = response.get_json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "callback_url_refused"
    assert "not a public address" in error["message"]
    assert tenant_jobs(tenant) == []  # nothing recorded, nothing queued


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/x", "/relative/hook", "http://user:pw@example.org/", 42, ""],
)
def test_malformed_callback_urls_are_422(settings: Settings, url: object) -> None:
    response = submit(tenant_app(settings), url)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.get_json()["error"]["code"] in (  # type: ignore[attr-defined]
        "callback_url_refused",
        "validation_failed",
    )


def test_a_tenant_without_a_webhook_secret_is_told_how_to_get_one(settings: Settings) -> None:
    response = submit(tenant_app(settings, webhook_allow_private=True), "http://127.0.0.1:9/h")
    assert response.status_code == 422  # type: ignore[attr-defined]
    error = response.get_json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "webhook_secret_missing"
    assert "docrender keys create" in error["message"]


def test_a_secret_from_the_environment_is_enough(settings: Settings) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(
        dataclasses.replace(
            settings,
            api_keys={"k": name},
            webhook_secrets={name: "s3cret"},
            webhook_allow_private=True,
        )
    )
    response = submit(Tenant(app.test_client(), "k"), "http://127.0.0.1:9/hook")
    assert response.status_code == 202  # type: ignore[attr-defined]
    assert response.get_json()["callback"]["status"] == "pending"  # type: ignore[attr-defined]


def test_a_job_without_callback_shows_none(tenant: Tenant) -> None:
    assert submit_plain(tenant)["callback"] is None


def submit_plain(tenant: Tenant) -> dict[str, object]:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    return tenant.submit(template, [{"data": {"unit": "甲"}}]).get_json()
