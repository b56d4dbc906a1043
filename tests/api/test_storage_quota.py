"""A tenant's storage quota holds however its requests are timed: each file is claimed and
counted in one step before it is written, a job's data counts as long as Redis keeps it, and
what a refused job stored is taken back. And a full Redis is a 503, not a 500."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from api import create_app
from api.services import ApiServices
from cli.processes import start_redis
from docrender.jobs.store import SET_ASIDE, DocumentStatus, JobStore
from docrender.processes import free_port
from docrender.settings import Settings
from docrender.storage import LocalStorage, MeteredStorage
from docrender.tenants.usage import Usage
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.fakes import HeldQueue, RefusingQueue

MB = 1024 * 1024


def quota_tenant(settings: Settings, quota: int, **services: Any) -> tuple[Any, str, Usage]:
    """An app whose one tenant may keep ``quota`` bytes; the tenant's name and its Usage."""
    name = f"t{uuid.uuid4().hex[:8]}"
    configured = dataclasses.replace(
        settings, api_keys={f"key-{name}": name}, tenant_storage_bytes=quota
    )
    built = ApiServices.from_settings(configured)
    app = create_app(configured, dataclasses.replace(built, **services))
    return app, name, built.usage


def submit_with_upload(app: Any, name: str, template: str, upload: bytes) -> Any:
    rows = [{"unit": "甲", "seal": {"type": "image", "file": "seal.png"}}]
    return Tenant(app.test_client(), f"key-{name}").post(
        "/v1/jobs",
        data={
            "template": template,
            "data": (io.BytesIO(json.dumps(rows).encode()), "units.json"),
            "files": (io.BytesIO(upload), "seal.png"),
        },
    )


class SlowStorage(LocalStorage):
    """Local files that take a while to write, as an object store's do."""

    def put(self, key: str, data: bytes) -> None:
        time.sleep(0.3)
        super().put(key, data)


def test_parallel_jobs_cannot_all_pass_the_quota(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """Six parallel 6 MB jobs on a 20 MB quota were all accepted (36 MB kept): the check and
    the write were apart. Now three fit, and the others are 413."""
    usage = Usage(redis_client, 20 * MB)
    slow = MeteredStorage(SlowStorage(settings.data_dir / "files"), usage)
    app, name, _usage = quota_tenant(settings, 20 * MB, storage=slow, usage=usage)
    template = (
        Tenant(app.test_client(), f"key-{name}")
        .upload(make_docx("{{ unit }}{{ seal }}"))
        .get_json()["id"]
    )
    upload = b"\x89PNG" + bytes(6 * MB)
    start = threading.Barrier(6)
    answers: list[int] = []

    def submit() -> None:
        start.wait()
        answers.append(submit_with_upload(app, name, template, upload).status_code)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202, 202, 202, 413, 413, 413], answers
    assert usage.used(name) <= 20 * MB


def test_a_job_the_broker_refuses_gives_its_bytes_back(settings: Settings) -> None:
    """Every retry during a broker outage stored another copy of the template and uploads."""
    app, name, usage = quota_tenant(settings, 100 * MB, queue=RefusingQueue())
    template = (
        Tenant(app.test_client(), f"key-{name}")
        .upload(make_docx("{{ unit }}{{ seal }}"))
        .get_json()["id"]
    )
    before = usage.used(name)
    jobs = settings.data_dir / "files" / "jobs"
    stored = set(jobs.rglob("*.*"))
    for _ in range(3):
        assert submit_with_upload(app, name, template, b"\x89PNG" + bytes(MB)).status_code == 503
    assert usage.used(name) == before
    assert set(jobs.rglob("*.*")) == stored  # no template copy, no upload left behind


def test_a_jobs_data_counts_against_the_quota(settings: Settings) -> None:
    """Job data stays in Redis as long as the job, uncounted before: 15 MB jobs on a 20 MB
    quota went through one after another."""
    app, name, usage = quota_tenant(settings, 20 * MB)
    tenant = Tenant(app.test_client(), f"key-{name}")
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    documents = [{"data": {"unit": "甲", "note": "字" * 1_000_000}} for _ in range(4)]  # ~12 MB
    assert tenant.submit(template, documents).status_code == 202
    refused = tenant.submit(template, documents)
    assert refused.status_code == 413
    assert refused.get_json()["error"]["code"] == "storage_quota_exceeded"
    assert usage.used(name) > 10 * MB


def test_corrected_data_counts_against_the_quota(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """Retrying failed documents with corrected data replaces the data Redis keeps: it was
    not counted, so a job of small failing rows could be grown past the quota row by row
    (up to 16 MB a document, 1,000 documents a job). Now the job's data is counted as it
    changes: a correction replaces its document's bytes, and one that does not fit is a 413
    that changes nothing."""
    # The tasks are held: a worker on the same broker would make the retried documents.
    app, name, usage = quota_tenant(settings, 4 * MB, queue=HeldQueue())
    tenant = Tenant(app.test_client(), f"key-{name}")
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    units = [{"data": {"unit": unit}} for unit in ("甲", "乙", "丙")]
    job = tenant.submit(template, units).get_json()
    store = JobStore(redis_client, 3600)

    def fail(index: int, code: str = "render_failed") -> None:
        store.start_document(job["id"], index)
        store.finish_document(
            job["id"], index, DocumentStatus.FAILED, {"code": code, "message": "x"}
        )

    def retry(index: int, note: str) -> Any:
        body = {"documents": [{"index": index, "data": {"unit": "甲", "note": note}}]}
        return tenant.post(f"/v1/jobs/{job['id']}/retry", json=body)

    fail(0)
    fail(1)
    fail(2, SET_ASIDE[0])  # quarantined: it killed its worker again and again
    before = usage.used(name)
    assert retry(0, "字" * MB).status_code == 200  # 3 MB
    assert 3 * MB < usage.used(name) - before < 3 * MB + 100
    fail(0)
    assert retry(0, "文" * MB).status_code == 200  # replaces its own 3 MB
    assert 3 * MB < usage.used(name) - before < 3 * MB + 100
    used = usage.used(name)
    refused = retry(1, "字" * MB)
    assert refused.status_code == 413
    assert refused.get_json()["error"]["code"] == "storage_quota_exceeded"
    assert usage.used(name) == used
    assert tenant.get(f"/v1/jobs/{job['id']}").get_json()["documents"][1]["status"] == "failed"
    kept = redis_client.hget(f"{JobStore.key(job['id'])}:data", "1")
    assert kept is not None and json.loads(kept) == {"unit": "乙"}  # its data as it was
    # A document set aside is not retried and keeps its data: its correction counts nothing.
    assert retry(2, "字" * 100_000).status_code == 200
    assert usage.used(name) == used


@pytest.fixture
def small_redis(tmp_path: Path) -> Any:
    process, url = start_redis(tmp_path, free_port(), max_memory=64 * MB)
    yield url
    process.stop(grace_seconds=5)


def test_a_full_job_store_is_a_503_saying_so(settings: Settings, small_redis: str) -> None:
    configured = dataclasses.replace(settings, redis_url=small_redis, api_keys={"k": "full"})
    tenant = Tenant(create_app(configured).test_client(), "k")
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    client = redis.Redis.from_url(small_redis)
    used = client.info("memory")["used_memory"]
    client.config_set("maxmemory", used // 2)  # full: noeviction refuses every write
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("one-more", "x")
    answer = tenant.submit(template, [{"data": {"unit": "甲"}}])
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["error"]["details"] == {"redis": "full"}
    assert "full" in answer.get_json()["error"]["message"]
