"""A dry run of a job through the real stack: every document filled by the workers as its
render fills it, none converted, nothing kept; each document's verdict said in words a clerk
can act on (the sheet's row and column, what to type)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import redis

from docrender.jobs.store import JobStore
from tests.helpers.clients import Tenant, tenant_jobs
from tests.helpers.documents import make_docx

pytestmark = pytest.mark.usefixtures("worker")


def report_template() -> bytes:
    return make_docx(
        "{{ unit }}",
        '填報日期：{{ day|date("%Y年%-m月%-d日") }}',
        "生均經費：{{ (budget / students)|round(1) }} 元",
    )


def test_a_dry_run_gives_the_renders_verdict_on_each_document_and_keeps_nothing(
    tenant: Tenant, redis_client: redis.Redis, data_dir: Path
) -> None:
    template = tenant.upload(report_template(), "經費表.docx").get_json()["id"]
    good = {"unit": "沙灣縣第二中學", "day": "2012/5/1", "budget": 820, "students": 8}
    stored_before = int(redis_client.get(f"docrender:tenant:{tenant.name}:stored_bytes") or 0)
    answer = tenant.post(
        "/v1/jobs/dry-run",
        json={
            "template": template,
            "messages": "zh-Hant",
            "documents": [
                {"data": good},
                {"data": {**good, "unit": "阜康市第二中學", "day": "2012年5月"}},
                {"data": {**good, "unit": "西戈壁鎮中心校", "students": 0}},
                {"data": {"unit": "奎屯市第一小學", "day": "2012-05-01", "students": 5}},
            ],
        },
    )
    assert answer.status_code == 200, answer.get_json()
    checked = answer.get_json()
    assert checked["fit"] == 1
    ok, dated, divided, missing = checked["documents"]
    assert (ok["name"], ok["problems"]) == ("沙灣縣第二中學", [])
    (problem,) = dated["problems"]
    assert problem["message"] == (
        "「day」：「2012年5月」不是日期，請填寫如 2012/5/1 或 2012年5月1日 的日期。"
    )
    assert problem["details"]["column"] == "day" and "date" in problem["details"]["tag"]
    assert (
        "division by zero" in divided["problems"][0]["message"]
        or "除以零" in (divided["problems"][0]["message"])
    )
    assert [p["details"]["column"] for p in missing["problems"]] == ["budget"]
    assert missing["problems"][0]["code"] == "missing_variables"
    # Nothing kept: no job listed, no file left, not a byte on the tenant's quota.
    assert tenant_jobs(tenant) == []
    assert int(redis_client.get(f"docrender:tenant:{tenant.name}:stored_bytes") or 0) == (
        stored_before
    )
    assert not [
        key
        for key in redis_client.scan_iter(f"{JobStore.key('')}*")
        if tenant.name in (redis_client.hget(key, "tenant") or "")
        and redis_client.type(key) == "hash"
    ]


def test_a_dry_run_of_a_sheet_names_each_rows_place(tenant: Tenant) -> None:
    template = tenant.upload(report_template(), "經費表.docx").get_json()["id"]
    rows = "unit,day,budget,students,signiture\n甲校,2012/5/1,800,8,王\n乙校,2012年5月,900,9,李\n"
    sheet = rows.encode()
    answer = tenant.post(
        "/v1/jobs/dry-run",
        data={"template": template, "data": (io.BytesIO(sheet), "units.csv")},
        headers={"Accept-Language": "zh-Hans"},
    )
    assert answer.status_code == 200, answer.get_json()
    documents = answer.get_json()["documents"]
    (unused,) = answer.get_json()["warnings"]  # as the job would say it
    assert unused["code"] == "unused_columns" and unused["columns"] == ["signiture"]
    assert [(d["row"], d["name"]) for d in documents] == [(2, "甲校"), (3, "乙校")]
    assert documents[0]["problems"] == []
    assert documents[1]["problems"][0]["message"].startswith("“day”：“2012年5月”不是日期")
    # A body that is no job is refused as a submission is.
    assert tenant.post("/v1/jobs/dry-run", json={"template": template}).status_code == 422
