"""X-Request-ID: accepted from the caller or made, echoed on the response, kept with the job."""

from __future__ import annotations

import re

import redis

from docrender.jobs.store import JobStore
from tests.helpers.clients import Tenant, upload


def test_a_callers_request_id_is_echoed_and_kept_with_its_job(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    template = upload(tenant, "{{ unit }}")
    response = tenant.post(
        "/v1/jobs",
        json={"template": template, "documents": [{"data": {"unit": "甲"}}]},
        headers={"X-Request-ID": "erp-run-42:step-7"},
    )
    assert response.headers["X-Request-ID"] == "erp-run-42:step-7"
    work = JobStore(redis_client, 3600).start_document(response.get_json()["id"], 0)
    assert work is not None and work.request_id == "erp-run-42:step-7"
    assert work.tenant == tenant.name


def test_a_missing_or_unusable_request_id_is_replaced_by_one_of_ours(tenant: Tenant) -> None:
    made = tenant.get("/v1/templates").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    unusable = tenant.get("/v1/templates", headers={"X-Request-ID": "spaces and " + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", unusable.headers["X-Request-ID"])
    # Errors carry it too, so a failed call can be found in the logs.
    assert tenant.get("/v1/jobs/nope").headers["X-Request-ID"]
