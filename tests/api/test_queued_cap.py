"""The cap on a tenant's unfinished documents: 429 with Retry-After past it, room again as
documents finish or are cancelled."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import kombu.exceptions
import pytest
import redis

from api import create_app
from api.services import ApiServices
from docrender.jobs.store import DocumentStatus, JobStore
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.fakes import HeldQueue


def capped_tenant(settings: Settings, cap: int, held: bool = False) -> Tenant:
    name = f"t{uuid.uuid4().hex[:8]}"
    capped = dataclasses.replace(settings, api_keys={f"key-{name}": name}, max_queued_documents=cap)
    services = ApiServices.from_settings(capped)
    if held:
        services = dataclasses.replace(services, queue=HeldQueue())
    return Tenant(create_app(capped, services).test_client(), f"key-{name}")


def submit(tenant: Tenant, count: int) -> object:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    return tenant.submit(template, [{"data": {"unit": str(i)}} for i in range(count)])


def test_past_the_cap_is_429_and_a_cancel_makes_room(settings: Settings) -> None:
    tenant = capped_tenant(settings, cap=3, held=True)
    first = submit(tenant, 2)
    assert first.status_code == 202  # type: ignore[attr-defined]
    refused = submit(tenant, 2)
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert refused.headers["Retry-After"].isdigit()  # type: ignore[attr-defined]
    error = refused.get_json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "too_many_queued_documents"
    assert error["details"] == {"limit": 3, "documents": 2}
    assert submit(tenant, 1).status_code == 202  # type: ignore[attr-defined]  # exactly 3

    job_id = first.get_json()["id"]  # type: ignore[attr-defined]
    cancelled = tenant.post(f"/v1/jobs/{job_id}/cancel")  # its two queued documents
    assert cancelled.status_code == 200, cancelled.get_json()
    assert {d["status"] for d in cancelled.get_json()["documents"]} == {"cancelled"}
    assert submit(tenant, 2).status_code == 202  # type: ignore[attr-defined]


def test_the_cap_is_per_tenant(settings: Settings) -> None:
    one, two = capped_tenant(settings, cap=1, held=True), capped_tenant(settings, cap=1, held=True)
    assert submit(one, 1).status_code == 202  # type: ignore[attr-defined]
    assert submit(one, 1).status_code == 429  # type: ignore[attr-defined]  # one is full...
    assert submit(two, 1).status_code == 202  # type: ignore[attr-defined]  # ...two is not


@pytest.mark.usefixtures("worker")
def test_finished_and_failed_documents_make_room(settings: Settings) -> None:
    tenant = capped_tenant(settings, cap=2)
    template = tenant.upload(make_docx("{{ unit }}{{ 1 / n }}")).get_json()["id"]
    job = tenant.submit(
        template, [{"data": {"unit": "甲", "n": 1}}, {"data": {"unit": "乙", "n": 0}}], strict=False
    )
    assert job.status_code == 202
    finished = tenant.wait_for(job.get_json()["id"])
    assert finished["progress"] == {"total": 2, "succeeded": 1, "failed": 1}
    again = tenant.submit(template, [{"data": {"unit": "丙", "n": 1}}] * 2)
    assert again.status_code == 202, again.get_json()


FAILED = DocumentStatus.FAILED


class BrokenQueue(HeldQueue):
    """A broker that refuses every task."""

    def enqueue(self, job_id: str, indexes: Sequence[int], urgent: bool = False) -> None:
        raise kombu.exceptions.OperationalError("broker down")


def failed_job(settings: Settings, tenant: Tenant, codes: list[str]) -> str:
    """A job of the tenant whose documents all failed, with these error codes."""
    job_id = submit(tenant, len(codes)).get_json()["id"]  # type: ignore[attr-defined]
    store = JobStore(redis.Redis.from_url(settings.require_redis_url(), decode_responses=True), 60)
    for index, code in enumerate(codes):
        store.start_document(job_id, index)
        store.finish_document(job_id, index, FAILED, {"code": code, "message": code})
    store.finish(job_id)  # its end handled: nothing succeeded, no files to store
    return job_id


def test_a_retry_counts_against_the_cap_like_a_submission(settings: Settings) -> None:
    tenant = capped_tenant(settings, cap=3, held=True)
    failed = failed_job(settings, tenant, ["render_failed", "render_failed"])
    other = submit(tenant, 2).get_json()["id"]  # type: ignore[attr-defined]
    refused = tenant.post(f"/v1/jobs/{failed}/retry")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["details"] == {"limit": 3, "documents": 2}
    job = tenant.get(f"/v1/jobs/{failed}").get_json()
    assert job["status"] == "failed" and job["finished_at"] is not None  # nothing changed

    assert tenant.post(f"/v1/jobs/{other}/cancel").status_code == 200
    retried = tenant.post(f"/v1/jobs/{failed}/retry")
    assert retried.status_code == 200
    assert [d["status"] for d in retried.get_json()["documents"]] == ["queued", "queued"]
    assert submit(tenant, 2).status_code == 429  # type: ignore[attr-defined]  # 2 of 3 held


def test_a_retry_leaves_quarantined_documents_failed(settings: Settings) -> None:
    tenant = capped_tenant(settings, cap=10, held=True)
    job_id = failed_job(settings, tenant, ["quarantined", "render_failed"])
    job = tenant.post(f"/v1/jobs/{job_id}/retry").get_json()
    assert [d["status"] for d in job["documents"]] == ["failed", "queued"]
    assert job["documents"][0]["error"]["code"] == "quarantined"


def test_a_retry_the_broker_refuses_changes_nothing(settings: Settings) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    broken = dataclasses.replace(settings, api_keys={f"key-{name}": name})
    held = ApiServices.from_settings(broken)
    tenant = Tenant(
        create_app(broken, dataclasses.replace(held, queue=HeldQueue())).test_client(),
        f"key-{name}",
    )
    job_id = failed_job(settings, tenant, ["render_failed", "render_failed"])
    before = tenant.get(f"/v1/jobs/{job_id}").get_json()
    refusing = Tenant(
        create_app(broken, dataclasses.replace(held, queue=BrokenQueue())).test_client(),
        f"key-{name}",
    )
    answer = refusing.post(f"/v1/jobs/{job_id}/retry")
    assert answer.status_code == 503
    assert tenant.get(f"/v1/jobs/{job_id}").get_json() == before  # failed, same errors, finished
    # ...and the documents' room is given back: a cap of two is free for two new ones.
    assert tenant.post(f"/v1/jobs/{job_id}/retry").status_code == 200
