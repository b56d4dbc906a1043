"""Job submission and lookup through the API, without needing the workers to run."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
import uuid

import redis

from api import create_app
from api.services import ApiServices
from docrender.i18n import StoredMessage
from docrender.jobs.store import DocumentStatus, JobStore, NewDocument
from docrender.settings import Settings
from tests.helpers.clients import Tenant, record_job, tenant_jobs, upload
from tests.helpers.documents import make_docx
from tests.helpers.fakes import RefusingQueue
from tests.helpers.processes import wait_until


def test_accepted_job_is_202_with_location_and_contract_shape(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    response = tenant.submit(
        template,
        [{"data": {"unit": "沙灣五小"}, "name": "沙灣五小-匯報材料"}, {"data": {"unit": "b"}}],
    )
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert set(job) == {
        "id",
        "title",
        "status",
        "template",
        "template_name",
        "format",
        "created_at",
        "finished_at",
        "progress",
        "documents",
        "callback",
        "warnings",
    }
    assert job["status"] == "queued" and job["format"] == "pdf" and job["template"] == template
    assert job["progress"] == {"total": 2, "succeeded": 0, "failed": 0}
    assert [d["name"] for d in job["documents"]] == [
        "沙灣五小-匯報材料",
        "b",
    ]  # its first text value
    assert job["documents"][0] == {
        "index": 0,
        "name": "沙灣五小-匯報材料",
        "status": "queued",
        "error": None,
        "warnings": [],
        "language": None,
        "url": None,
    }
    assert tenant.get(f"/v1/jobs/{job['id']}").get_json()["id"] == job["id"]


def test_missing_variables_lists_every_document_and_queues_nothing(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    template = upload(
        tenant, "{{ unit }} {{ date }}", "{%p for h in honours %}", "{{ h }}", "{%p endfor %}"
    )
    response = tenant.submit(
        template,
        [
            {"data": {"unit": "a", "date": "2012", "honours": []}},
            {"data": {"unit": "b"}},
            {"data": {}},
        ],
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "missing_variables"
    assert error["details"] == [
        {"document": 1, "missing": ["date", "honours"]},
        {"document": 2, "missing": ["date", "honours", "unit"]},
    ]
    assert tenant_jobs(tenant) == []  # nothing recorded, so nothing queued


def test_not_strict_accepts_missing_values(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    response = tenant.submit(template, [{"data": {}}], strict=False, format="docx")
    assert response.status_code == 202
    assert response.get_json()["format"] == "docx"


def test_malformed_and_invalid_bodies(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    not_json = tenant.post(
        "/v1/jobs",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.get_json()["error"]["code"] == "malformed_request"
    cases = [
        ({"template": template, "documents": []}, "documents"),
        ({"template": template, "documents": [{"data": {"unit": 1}}], "stirct": False}, "stirct"),
        ({"template": template, "documents": [{"data": {"unit": 1}}], "format": "odt"}, "format"),
        ({"template": template, "documents": [{"data": "text"}]}, "documents.0.data"),
        ({"documents": [{"data": {}}]}, "template"),
    ]
    for body, field in cases:
        response = tenant.post("/v1/jobs", json=body)
        assert response.status_code == 422, body
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed"
        assert field in [problem["field"] for problem in error["details"]], error


def test_unknown_template_is_422(tenant: Tenant) -> None:
    response = tenant.submit("no-such-template", [{"data": {}}])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_template"


def test_another_tenants_template_cannot_be_used(tenants: tuple[Tenant, Tenant]) -> None:
    owner, other = tenants
    template = upload(owner, "{{ unit }}")
    assert other.submit(template, [{"data": {"unit": "x"}}]).status_code == 422


def test_unknown_and_foreign_jobs_are_404(tenants: tuple[Tenant, Tenant]) -> None:
    owner, other = tenants
    job = owner.submit(upload(owner, "{{ unit }}"), [{"data": {"unit": "x"}}]).get_json()
    for url in (
        f"/v1/jobs/{job['id']}",
        f"/v1/jobs/{job['id']}/documents/0",
        f"/v1/jobs/{job['id']}/archive",
    ):
        response = other.get(url)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"
    assert owner.get("/v1/jobs/does-not-exist").status_code == 404
    assert owner.get(f"/v1/jobs/{job['id']}/documents/5").status_code == 404


def test_names_are_made_safe_for_file_systems(tenant: Tenant) -> None:
    template = upload(tenant, "{{ unit }}")
    job = tenant.submit(
        template,
        [{"data": {"unit": "x"}, "name": "../報告/一\x00二"}, {"data": {"unit": "y"}, "name": " "}],
    ).get_json()
    assert [d["name"] for d in job["documents"]] == ["_報告_一_二", "document-1"]


def test_unfinished_document_and_archive_are_409(tenant: Tenant, redis_client: redis.Redis) -> None:
    # Recorded straight in the job store and never queued, so it stays unfinished.
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, tenant.name, [NewDocument("a", {})])
    store.start_document(job_id, 0)
    for url in (f"/v1/jobs/{job_id}/documents/0", f"/v1/jobs/{job_id}/archive"):
        response = tenant.get(url)
        assert response.status_code == 409, url
        assert response.get_json()["error"]["code"] == "not_ready"
        assert response.headers["Retry-After"] == "2", url  # when to ask again
    assert tenant.get(f"/v1/jobs/{job_id}").get_json()["status"] == "running"


def test_a_job_whose_documents_ended_is_not_finished_before_its_files_are_stored(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    """Its last document is final, but its end (archive, merged volume) is not handled: it is
    still running, and its archive answers 409, so a client never fetches a file too early."""
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, tenant.name, [NewDocument("a", {})])
    store.start_document(job_id, 0)
    store.finish_document(job_id, 0, DocumentStatus.SUCCEEDED)
    job = tenant.get(f"/v1/jobs/{job_id}").get_json()
    assert (job["status"], job["finished_at"]) == ("running", None)
    assert job["progress"]["succeeded"] == 1
    assert tenant.get(f"/v1/jobs/{job_id}/archive").status_code == 409
    store.finish(job_id)  # as workers/ending.py does once the files are stored
    assert tenant.get(f"/v1/jobs/{job_id}").get_json()["status"] == "succeeded"


def test_attachment_header_carries_utf8_names_with_a_readable_fallback() -> None:
    from api.jobs import attachment

    assert attachment("report.pdf", "document-0.pdf") == 'attachment; filename="report.pdf"'
    chinese = attachment("沙灣五小-匯報材料.pdf", "document-0.pdf")
    assert chinese.startswith("attachment; filename=\"document-0.pdf\"; filename*=UTF-8''")
    assert "%E6%B2%99%E7%81%A3" in chinese  # 沙灣
    assert attachment('a"b.pdf', "document-1.pdf").count('"') == 2  # no broken quoting


def test_limits_answer_413(settings: Settings) -> None:
    small = dataclasses.replace(
        settings, api_keys={"k": "limits"}, max_request_bytes=2000, max_documents_per_job=2
    )
    client = create_app(small).test_client()
    auth = {"Authorization": "Bearer k"}
    template = client.post(
        "/v1/templates", headers=auth, data={"file": (io.BytesIO(make_docx("{{ a }}")), "t.docx")}
    )
    assert template.status_code == 413  # the template alone is over the 2000-byte body limit
    assert template.get_json()["error"]["code"] == "payload_too_large"
    huge = client.post(
        "/v1/jobs",
        headers=auth,
        json={"template": "x", "documents": [{"data": {"a": "字" * 1000}}]},
    )
    assert huge.status_code == 413
    many = client.post(
        "/v1/jobs",
        headers=auth,
        json={"template": "x", "documents": [{"data": {}}, {"data": {}}, {"data": {}}]},
    )
    assert many.status_code == 413
    assert many.get_json()["error"]["details"] == {"limit": 2, "documents": 3}


def test_a_json_array_is_not_a_job(tenant: Tenant) -> None:
    response = tenant.post("/v1/jobs", json=[1, 2])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_a_job_the_broker_refuses_is_taken_back(
    settings: Settings, redis_client: redis.Redis
) -> None:
    tenant_name = f"t{uuid.uuid4().hex[:8]}"
    configured = dataclasses.replace(settings, api_keys={"k": tenant_name})
    services = ApiServices.from_settings(configured)
    down = create_app(configured, dataclasses.replace(services, queue=RefusingQueue()))
    tenant = Tenant(down.test_client(), "k")
    template = upload(tenant, "{{ unit }}")
    response = tenant.post(
        "/v1/jobs",
        json={"template": template, "documents": [{"data": {"unit": "甲"}}]},
        headers={"Idempotency-Key": "broker-down-1"},
    )
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert tenant_jobs(tenant) == []  # nothing accepted (its files: test_storage_quota.py)
    assert int(redis_client.get(JobStore.unfinished_key(tenant_name)) or 0) == 0

    # The broker is back: the client's retry, same key, makes a job that runs.
    up = Tenant(create_app(configured, services).test_client(), "k")
    again = up.post(
        "/v1/jobs",
        json={"template": template, "documents": [{"data": {"unit": "甲"}}]},
        headers={"Idempotency-Key": "broker-down-1"},
    )
    assert again.status_code == 202


def test_the_job_list_is_newest_first_paged_and_filtered(
    tenants: tuple[Tenant, Tenant], redis_client: redis.Redis
) -> None:
    tenant, other = tenants
    store = JobStore(redis_client, 3600)
    made = [record_job(store, tenant.name, [NewDocument("a", {})]) for _ in range(5)]
    store.finish_document(made[1], 0, DocumentStatus.FAILED, {"code": "x", "message": "y"})
    store.finish(made[1])  # its end handled: no files to bundle
    first = tenant.get("/v1/jobs?limit=2").get_json()
    assert [job["id"] for job in first["jobs"]] == made[:-3:-1]  # the two newest
    assert set(first["jobs"][0]) == {
        "id",
        "title",
        "status",
        "template",
        "template_name",
        "format",
        "created_at",
        "finished_at",
        "progress",
    }
    second = tenant.get(f"/v1/jobs?limit=2&cursor={first['next_cursor']}").get_json()
    third = tenant.get(f"/v1/jobs?limit=2&cursor={second['next_cursor']}").get_json()
    assert [job["id"] for job in second["jobs"] + third["jobs"]] == made[2::-1]
    assert third["next_cursor"] is None
    failed = tenant.get("/v1/jobs?status=failed").get_json()
    assert [job["id"] for job in failed["jobs"]] == [made[1]]
    # Another tenant sees none of them; bad parameters are a 400.
    assert other.get("/v1/jobs").get_json() == {"jobs": [], "next_cursor": None}
    assert tenant.get("/v1/jobs?status=lost").status_code == 400
    assert tenant.get("/v1/jobs?limit=0").status_code == 400
    for cursor in ("abc", "nan", "inf", "-1", "1e999"):  # nan, inf were 500s
        refused = tenant.get(f"/v1/jobs?cursor={cursor}")
        assert refused.status_code == 400, cursor
        assert refused.get_json()["error"]["code"] == "malformed_request"


def test_a_job_has_the_title_it_was_given_on_one_line_and_its_template_s_name(
    tenant: Tenant,
) -> None:
    template = tenant.upload(make_docx("{{ unit }}"), "基本情況表.docx").get_json()["id"]
    titled = tenant.submit(template, [{"data": {"unit": "甲"}}], title=" 十二月\n\t匯報\x00 ")
    assert titled.status_code == 202, titled.get_json()
    plain = tenant.submit(template, [{"data": {"unit": "乙"}}]).get_json()
    listed = {job["id"]: job for job in tenant.get("/v1/jobs").get_json()["jobs"]}
    assert listed[titled.get_json()["id"]]["title"] == "十二月 匯報"
    assert listed[plain["id"]]["title"] is None
    assert {job["template_name"] for job in listed.values()} == {"基本情況表"}
    for title in ("x" * 201, 5):
        refused = tenant.submit(template, [{"data": {"unit": "丙"}}], title=title)
        assert refused.status_code == 422, title
        assert refused.get_json()["error"]["details"][0]["field"] == "title"


def test_long_polls_are_capped_per_tenant(settings: Settings, redis_client: redis.Redis) -> None:
    """One tenant's long polls cannot take every API thread: past its cap a long poll is a
    429 at once, while plain polls, and the other tenants' long polls, still answer."""
    busy, calm = f"t{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
    app = create_app(
        dataclasses.replace(
            settings, api_keys={f"key-{busy}": busy, f"key-{calm}": calm}, max_long_polls=1
        )
    )
    tenant, other = (
        Tenant(app.test_client(), f"key-{busy}"),
        Tenant(app.test_client(), f"key-{calm}"),
    )
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, busy, [NewDocument("a", {})])  # never queued: stays unfinished
    holding = threading.Thread(target=lambda: tenant.get(f"/v1/jobs/{job_id}?wait=3"))
    holding.start()
    key = f"docrender:tenant:{busy}:long_poll_slots"
    wait_until(lambda: redis_client.zcard(key) == 1)
    refused = tenant.get(f"/v1/jobs/{job_id}?wait=3")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_long_polls"
    assert int(refused.headers["Retry-After"]) >= 1
    assert tenant.get(f"/v1/jobs/{job_id}").status_code == 200  # a plain poll answers
    other_job = record_job(store, calm, [NewDocument("a", {})])
    assert other.get(f"/v1/jobs/{other_job}?wait=0.1").status_code == 200  # another tenant
    holding.join()
    assert redis_client.zcard(key) == 0  # every slot given back


def test_a_long_poll_slot_left_by_a_killed_process_lapses_while_the_tenant_polls(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """A process killed mid-wait never gives its slot back; the slot lapses on its own even
    while the tenant keeps polling (a shared counter's expiry was refreshed by every poll)."""
    busy = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(
        dataclasses.replace(settings, api_keys={f"key-{busy}": busy}, max_long_polls=1)
    )
    tenant = Tenant(app.test_client(), f"key-{busy}")
    job_id = record_job(JobStore(redis_client, 3600), busy, [NewDocument("a", {})])
    key = f"docrender:tenant:{busy}:long_poll_slots"
    redis_client.zadd(key, {"killed-process": time.time() + 1})  # its slot, lapsing in 1 s
    assert tenant.get(f"/v1/jobs/{job_id}?wait=0.1").status_code == 429
    wait_until(lambda: tenant.get(f"/v1/jobs/{job_id}?wait=0.1").status_code == 200, 5)


def test_a_failed_documents_corrected_data_is_made_again_in_its_job(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    """Retry with a body: only the documents it lists, each with its corrected data, checked
    as a submission is; a succeeded or unknown document cannot be corrected."""
    template = upload(tenant, "{{ unit }} {{ day }}")
    job = tenant.submit(
        template, [{"data": {"unit": "甲", "day": "1"}}, {"data": {"unit": "乙", "day": "x"}}]
    ).get_json()
    store = JobStore(redis_client, 3600)
    for index, status in ((0, DocumentStatus.SUCCEEDED), (1, DocumentStatus.FAILED)):
        store.start_document(job["id"], index)
        error: StoredMessage | None = {"code": "render_failed", "message": "bad"} if index else None
        store.finish_document(job["id"], index, status, error)
    store.finish(job["id"])
    retry = f"/v1/jobs/{job['id']}/retry"
    for body, code in (
        ({"documents": [{"index": 0, "data": {"unit": "甲", "day": "2"}}]}, "validation_failed"),
        ({"documents": [{"index": 9, "data": {"unit": "丙", "day": "2"}}]}, "validation_failed"),
        ({"documents": [{"index": 1, "data": {"unit": "乙"}}]}, "missing_variables"),
        ({"documents": [{"index": "one", "data": {}}]}, "validation_failed"),
    ):
        refused = tenant.post(retry, json=body)
        assert refused.status_code == 422, body
        assert refused.get_json()["error"]["code"] == code, body
    assert tenant.get(f"/v1/jobs/{job['id']}").get_json()["status"] == "partial"  # unchanged
    fixed = tenant.post(
        retry, json={"documents": [{"index": 1, "data": {"unit": "乙", "day": "2"}}]}
    )
    assert fixed.status_code == 200, fixed.get_json()
    assert [d["status"] for d in fixed.get_json()["documents"]] == ["succeeded", "queued"]
    data = redis_client.hgetall(f"{JobStore.key(job['id'])}:data")
    assert json.loads(data["1"]) == {"unit": "乙", "day": "2"}
    assert json.loads(data["0"]) == {"unit": "甲", "day": "1"}


def test_with_fail_alone_a_document_that_does_not_fit_fails_and_the_others_are_made(
    tenant: Tenant, redis_client: redis.Redis
) -> None:
    template = upload(tenant, "{{ unit }} {{ day }}")
    documents = [
        {"data": {"unit": "甲", "day": "1"}},
        {"data": {"unit": "乙"}},
        {"data": {"unit": "丙", "day": "3"}},
    ]
    refused = tenant.submit(template, documents)  # strict alone: the whole job is refused
    assert refused.status_code == 422
    answer = tenant.submit(template, documents, fail_alone=True, messages="zh-Hant")
    assert answer.status_code == 202, answer.get_json()
    job = answer.get_json()
    left_out = job["documents"][1]
    assert left_out["status"] == "failed" and left_out["error"]["code"] == "missing_variables"
    assert left_out["error"]["message"] == "「day」沒有填寫，請補上。"
    assert left_out["error"]["details"] == {"columns": ["day"]}
    assert {job["documents"][0]["status"], job["documents"][2]["status"]} <= {
        "queued",
        "running",
        "succeeded",
    }
    # Every document left out: the job ends as it is made, and its end is handled.
    alone = tenant.submit(template, [documents[1]], fail_alone=True).get_json()
    assert alone["progress"] == {"total": 1, "succeeded": 0, "failed": 1}
    ended = redis_client.zscore(JobStore.ENDINGS, alone["id"])
    assert ended is not None or tenant.get(f"/v1/jobs/{alone['id']}").get_json()["finished_at"]


def test_a_rich_value_that_is_not_valid_is_refused_at_submission_in_plain_words(
    tenant: Tenant,
) -> None:
    """A javascript: link, a colour that is no colour, a property rich text has not: found
    when the job is sent (a 422 naming the document and the value), not after the 202; and
    said in words, not as the regular expression that checks it."""
    template = upload(tenant, "{{r remark }}")
    good = {"type": "rich", "runs": [{"text": "官網", "url": "https://example.org"}]}
    for run, words in (
        ({"text": "x", "url": "javascript:alert(1)"}, "a link starts with http://, https://"),
        ({"text": "x", "color": "red"}, "a colour is six hexadecimal digits"),
        ({"text": "x", "shadow": True}, "'shadow' is no property of rich text"),
    ):
        bad = {"type": "rich", "runs": ["甲", run]}
        refused = tenant.submit(template, [{"data": {"remark": good}}, {"data": {"remark": bad}}])
        assert refused.status_code == 422, run
        error = refused.get_json()["error"]
        assert error["code"] == "validation_failed"
        assert error["message"].startswith("Document 1: The rich text at remark is not valid")
        assert words in error["message"] and "^(" not in error["message"], error["message"]
        assert error["details"][0]["document"] == 1 and error["details"][0]["path"] == "remark"
    assert tenant.submit(template, [{"data": {"remark": good}}]).status_code == 202
