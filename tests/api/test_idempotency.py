"""Idempotency-Key on POST /v1/jobs: a retried request gets the first request's job back, a
changed request under the same key is refused, and racing duplicates make one job."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import uuid
from typing import Any

import redis

from api import create_app
from api.services import ApiServices
from docrender.settings import Settings
from docrender.storage import job_file_key
from tests.helpers.clients import Tenant, tenant_jobs, upload
from tests.helpers.documents import picture


def post(tenant: Tenant, key: str, body: dict[str, Any] | str) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return tenant.post(
        "/v1/jobs",
        data=raw.encode(),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def test_a_retry_with_the_same_key_and_body_gets_the_first_job(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    body = {"template": upload(tenant, "{{ unit }}"), "documents": [{"data": {"unit": "甲"}}]}
    key, before = str(uuid.uuid4()), len(tenant_jobs(tenant))
    first = post(tenant, key, body)
    # The same request again, laid out differently: same job, 200 instead of 202.
    again = post(tenant, key, json.dumps(body, indent=2, ensure_ascii=True))
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(tenant_jobs(tenant)) == before + 1


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
    key, before = str(uuid.uuid4()), len(tenant_jobs(tenant))
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
    assert len(tenant_jobs(tenant)) == before + 1


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


class StallingStorage:
    """The real storage, except that copying a job's template waits for ``go`` and then
    fails: a first attempt that dies before its job exists, while a retry waits on it."""

    def __init__(self, storage: Any) -> None:
        self.storage, self.stalled, self.go = storage, threading.Event(), threading.Event()

    def put(self, key: str, data: bytes) -> None:
        if key.endswith("template.docx"):
            self.stalled.set()
            self.go.wait(10)
            raise OSError("disk gone")
        self.storage.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_a_retry_that_takes_over_from_a_failed_attempt_keeps_its_files(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """The retry arrives while the first attempt is still writing; the first then fails and
    lets the key go, and the retry makes the job itself, with the files it was sent (it used
    to resubmit the form without them, and was refused for naming files not uploaded)."""
    name = f"t{uuid.uuid4().hex[:8]}"
    own = dataclasses.replace(settings, api_keys={f"key-{name}": name})
    services = ApiServices.from_settings(own)
    stalling = StallingStorage(services.storage)
    failing = Tenant(
        create_app(own, dataclasses.replace(services, storage=stalling)).test_client(),
        f"key-{name}",
    )
    working = Tenant(create_app(own, services).test_client(), f"key-{name}")
    template = upload(working, "{{ unit }}{{ seal }}")
    seal = picture()
    data = json.dumps([{"unit": "甲", "seal": {"type": "image", "file": "seal.png"}}])

    def send(tenant: Tenant) -> Any:
        return tenant.post(
            "/v1/jobs",
            headers={"Idempotency-Key": "k1"},
            data={
                "template": template,
                "data": (io.BytesIO(data.encode()), "units.json"),
                "files": (io.BytesIO(seal), "seal.png"),
            },
        )

    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(send(failing)))
    first.start()
    assert stalling.stalled.wait(10)
    threading.Timer(0.5, stalling.go.set).start()  # it fails while the retry waits on it
    retry = send(working)
    first.join()
    assert answers[0].status_code >= 500  # its storage failed
    assert retry.status_code in (200, 202), retry.get_json()
    job_id = retry.get_json()["id"]
    assert services.storage.read(job_file_key(job_id, "seal.png")) == seal
