"""Idempotency-Key on POST /v1/jobs: a retried request gets the first request's job back, a
changed request under the same key is refused, and racing duplicates make one job."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import redis

from tests.helpers.clients import Tenant, count_jobs, upload


def post(tenant: Tenant, key: str, body: dict[str, Any] | str) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return tenant.post("/v1/jobs", data=raw.encode(), content_type="application/json",
                       headers={"Idempotency-Key": key})  # fmt: skip


def test_a_retry_with_the_same_key_and_body_gets_the_first_job(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    body = {"template": upload(tenant, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    key, before = str(uuid.uuid4()), count_jobs(redis_client)
    first = post(tenant, key, body)
    # The same request again, laid out differently: same job, 200 instead of 202.
    again = post(tenant, key, json.dumps(body, indent=2, ensure_ascii=True))
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert count_jobs(redis_client) == before + 1


def test_the_same_key_with_a_different_body_is_a_conflict(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    key = str(uuid.uuid4())
    assert (
        post(
            tenant, key, {"template": template, "documents": [{"data": {"unit": "甲"}}]}
        ).status_code
        == 202
    )
    changed = post(tenant, key, {"template": template, "documents": [{"data": {"unit": "乙"}}]})
    assert changed.status_code == 409
    assert changed.get_json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_per_tenant(tenants: tuple[Tenant, Tenant]) -> None:
    one, two = tenants
    key = str(uuid.uuid4())
    first = post(
        one, key, {"template": upload(one, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    )
    other = post(
        two, key, {"template": upload(two, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    )
    assert first.status_code == other.status_code == 202
    assert first.get_json()["id"] != other.get_json()["id"]


def test_concurrent_duplicates_make_one_job(tenant: Tenant, redis_client: redis.Redis) -> None:
    body = {"template": upload(tenant, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    key, before = str(uuid.uuid4()), count_jobs(redis_client)
    start, answers = threading.Barrier(8), []

    def submit() -> None:
        client = Tenant(tenant.client.application.test_client(), tenant.key)  # one per thread
        start.wait()
        answers.append(post(client, key, body))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert count_jobs(redis_client) == before + 1


def test_a_refused_request_does_not_use_up_its_key(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    key = str(uuid.uuid4())
    refused = post(tenant, key, {"template": template, "documents": [{"data": {}}]})
    assert refused.status_code == 422  # strict: unit is missing
    fixed = post(tenant, key, {"template": template, "documents": [{"data": {"unit": "甲"}}]})
    assert fixed.status_code == 202


def test_an_unusable_key_is_a_clear_400(tenant: Tenant) -> None:
    body = {"template": upload(tenant, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    response = post(tenant, "x" * 300, body)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["message"]
