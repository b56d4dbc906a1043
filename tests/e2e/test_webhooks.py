"""Webhooks through the real stack: a receiver on loopback gets one signed POST per finished
job, verifies it the way docs/api.md shows, and a receiver that fails twice gets a third
attempt. The job shows every attempt."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import redis

from docrender.settings import PROJECT_ROOT
from docrender.tenants.keys import KeyStore
from tests.helpers.clients import Receiver, Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text
from tests.helpers.processes import no_webhook_pending, wait_until

pytestmark = pytest.mark.usefixtures("worker")


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The verification function docs/api.md gives receivers, run as it is printed there."""
    readme = (PROJECT_ROOT / "docs" / "api.md").read_text()
    block = next(
        code for code in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify(" in code
    )
    namespace: dict[str, Any] = {}
    exec(block, namespace)
    return namespace["verify"]


verify = readme_verify()


def submit_with_callback(tenant: Tenant, url: str) -> dict[str, Any]:
    template = tenant.upload(make_docx("單位：{{ unit }}")).get_json()["id"]
    response = tenant.post(
        "/v1/jobs",
        json={
            "template": template,
            "documents": [{"data": {"unit": "沙灣五小"}}],
            "callback_url": url,
        },
        headers={"X-Request-ID": "req-webhook-1"},
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_a_finished_job_is_posted_once_signed(
    tenant: Tenant, receiver: Receiver, redis_client: redis.Redis
) -> None:
    secret = KeyStore(redis_client).ensure_webhook_secret(tenant.name)
    job = submit_with_callback(tenant, receiver.url)
    assert job["callback"] == {
        "url": receiver.url,
        "status": "pending",
        "attempts": 0,
        "last_error": None,
    }

    wait_until(lambda: len(receiver.calls) == 1, timeout=120)
    wait_until(
        lambda: tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]["status"] == "succeeded"
    )
    wait_until(lambda: no_webhook_pending(redis_client, job["id"]))  # no second POST can follow
    assert len(receiver.calls) == 1

    call = receiver.calls[0]
    assert verify(secret, call.headers["X-Docrender-Signature"], call.body)
    assert not verify("another secret", call.headers["X-Docrender-Signature"], call.body)
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.headers["X-Request-ID"] == "req-webhook-1"
    assert call.headers["X-Docrender-Event"] == "job.finished"
    posted = json.loads(call.body)
    assert posted["id"] == job["id"] and posted["status"] == "succeeded"
    # The receiver can fetch the document the POST names, with its own key.
    pdf = tenant.get(posted["documents"][0]["url"])
    assert "沙灣五小" in pdf_text(pdf.data)

    shown = tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]
    assert shown == {"url": receiver.url, "status": "succeeded", "attempts": 1, "last_error": None}


def test_a_receiver_failing_twice_gets_a_third_attempt(
    tenant: Tenant, receiver: Receiver, redis_client: redis.Redis
) -> None:
    secret = KeyStore(redis_client).ensure_webhook_secret(tenant.name)
    receiver.statuses = [503, 500]
    job = submit_with_callback(tenant, receiver.url)

    wait_until(lambda: len(receiver.calls) == 3, timeout=120)
    wait_until(
        lambda: tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]["status"] == "succeeded"
    )
    wait_until(lambda: no_webhook_pending(redis_client, job["id"]))
    assert len(receiver.calls) == 3
    # One delivery: the same id on each attempt, each freshly signed.
    assert len({call.headers["X-Docrender-Delivery"] for call in receiver.calls}) == 1
    assert all(verify(secret, c.headers["X-Docrender-Signature"], c.body) for c in receiver.calls)
    callback = tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]
    assert callback["attempts"] == 3 and callback["last_error"] is None


def test_a_receiver_that_refuses_is_not_retried(
    tenant: Tenant, receiver: Receiver, redis_client: redis.Redis
) -> None:
    KeyStore(redis_client).ensure_webhook_secret(tenant.name)
    receiver.statuses = [410]
    job = submit_with_callback(tenant, receiver.url)

    wait_until(
        lambda: tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]["status"] == "failed",
        timeout=120,
    )
    wait_until(lambda: no_webhook_pending(redis_client, job["id"]))
    assert len(receiver.calls) == 1
    callback = tenant.get(f"/v1/jobs/{job['id']}").get_json()["callback"]
    assert callback["attempts"] == 1
    assert "410" in callback["last_error"]


def test_a_cancelled_job_is_posted_too(
    tenant: Tenant, receiver: Receiver, redis_client: redis.Redis
) -> None:
    KeyStore(redis_client).ensure_webhook_secret(tenant.name)
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.post(
        "/v1/jobs",
        json={
            "template": template,
            "documents": [{"data": {"unit": str(i)}} for i in range(60)],
            "callback_url": receiver.url,
        },
    ).get_json()
    tenant.post(f"/v1/jobs/{job['id']}/cancel")

    wait_until(lambda: len(receiver.calls) == 1, timeout=120)
    posted = json.loads(receiver.calls[0].body)
    final = tenant.get(f"/v1/jobs/{job['id']}").get_json()
    # 60 documents cannot all be made between the submission and the cancel a moment later.
    assert posted["status"] == final["status"] == "cancelled"
    assert posted["finished_at"] == final["finished_at"] is not None
