"""Malformed and hostile requests get the contract's 4xx error, never a 500."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import psutil
import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx, many_paragraphs, sheet_claiming, workbook
from tests.helpers.processes import peak_memory_growth

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", JSON, 400),
        (b"[" * 100_000 + b"]" * 100_000, JSON, 400),  # deeper than the parser's stack
        (
            b'{"template": "t", "documents": [{"data": '
            + b'{"a": ' * 40
            + b"1"
            + b"}" * 41
            + b"]}",
            JSON,
            400,
        ),
        (b'{"template": "t", "documents": [{"data": {"a": 1e999}}]}', JSON, 400),
        (b'{"template": "t", "documents": [{"data": {"a": NaN}}]}', JSON, 400),
        (b'{"template": "t", "documents": [{"data": {"a": ' + b"9" * 5000 + b"}}]}", JSON, 400),
        (b'\xff\xfe{"template": "t"}', JSON, 400),
        (b'{"template": 5, "documents": "x"}', JSON, 422),
        (b'{"template": "t", "documents": [{"data": {}}], "surprise": 1}', JSON, 422),
        (b'{"template": "t", "documents": [{"data": {}}]}', {"Content-Type": "text/plain"}, 415),
        (b"", JSON, 400),
    ],
)
def test_malformed_job_requests(tenant: Tenant, body: bytes, headers: dict, status: int) -> None:
    response = tenant.post("/v1/jobs", data=body, headers=headers)
    assert response.status_code == status, response.get_json()
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_oversized_body_is_413(tenant: Tenant) -> None:
    limit = tenant.client.application.config["MAX_CONTENT_LENGTH"]
    response = tenant.post("/v1/jobs", data=b" " * (limit + 1), headers=JSON)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_another_tenant_can_touch_nothing(tenants: tuple[Tenant, Tenant]) -> None:
    owner, other = tenants
    template = owner.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = owner.submit(template, [{"data": {"unit": "x"}}]).get_json()
    assert re.fullmatch(r"[0-9a-f]{32}", job["id"]) and re.fullmatch(r"[0-9a-f]{32}", template)
    for method, url in [
        ("get", f"/v1/templates/{template}"),
        ("delete", f"/v1/templates/{template}"),
        ("get", f"/v1/jobs/{job['id']}"),
        ("get", f"/v1/jobs/{job['id']}/documents/0"),
        ("get", f"/v1/jobs/{job['id']}/archive"),
        ("get", f"/v1/jobs/{job['id']}/merged"),
        ("post", f"/v1/jobs/{job['id']}/retry"),
        ("post", f"/v1/jobs/{job['id']}/cancel"),
    ]:
        response = getattr(other, method)(url)
        assert response.status_code == 404, (method, url)
    assert other.get("/v1/templates").get_json() == {"templates": []}
    assert owner.get(f"/v1/jobs/{job['id']}").status_code == 200  # still the owner's


def test_a_body_of_millions_of_values_is_refused_before_it_is_built(tenant: Tenant) -> None:
    """49 MiB of ``[[],[],...]`` parsed would be 17 million lists and 2.5 GB in the API
    process; counted on the raw bytes first, it is a 413 and the process does not grow."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    count = (49 * 1024 * 1024) // 3
    body = b'{"template": "t", "documents": [' + b"[]," * count + b"[]]}"
    response = tenant.post("/v1/jobs", data=body, headers=JSON)
    assert response.status_code == 413, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"limit": 1_000_000}
    del body
    assert process.memory_info().rss - rss_before < 400 * 1024 * 1024


def test_the_template_is_checked_before_the_documents(tenant: Tenant) -> None:
    documents = [{"data": {"unit": f"單位{i}", "rows": list(range(900))}} for i in range(1000)]
    body = json.dumps({"template": "no-such-template", "documents": documents})
    response = tenant.post("/v1/jobs", data=body, headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_template"


def test_one_document_past_its_size_is_413_naming_it(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}{{ note }}")).get_json()["id"]
    limit = 16 * 1024 * 1024
    documents = [
        {"data": {"unit": "甲", "note": "小"}},
        {"data": {"unit": "乙", "note": "大" * (limit // 3)}},
    ]
    response = tenant.submit(template, documents)
    assert response.status_code == 413, response.get_json()
    details = response.get_json()["error"]["details"]
    assert details["document"] == 1 and details["limit"] == limit and details["bytes"] > limit


def test_a_number_no_report_prints_in_a_name_pattern_is_422_naming_it(
    tenants: tuple[Tenant, Tenant],
) -> None:
    """152 bytes that held an API process for 31 s (gunicorn killed it, and another tenant's
    request with it): the number filters refuse such a number before spelling it out."""
    hostile, other = tenants
    template = hostile.upload(make_docx("{{ n }}")).get_json()["id"]
    for pattern, value in [
        ("{{ n|thousands }}", "1e1100000"),
        ("{{ n|cn_number }}", "1e1300000"),
        ("{{ n|fixed(2) }}", "-1e1100000"),
        ("{{ n|percent }}", "9" * 5000),
    ]:
        answer = hostile.post(
            "/v1/jobs",
            json={"template": template, "name": pattern, "documents": [{"data": {"n": value}}]},
            headers={"Accept-Language": "zh-TW"},
        )
        assert answer.status_code == 422, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "invalid_name_pattern"
        assert value[:20] in error["message"] and "位的數字" in error["message"]
    assert other.get("/v1/templates").status_code == 200


def _post_sheet(tenant: Tenant, sheet: bytes, name: str = "units.xlsx") -> Any:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    return tenant.post("/v1/jobs", data={"template": template, "data": (io.BytesIO(sheet), name)})


def test_a_sheet_claiming_every_column_is_read_within_the_caps_outside_the_api(
    tenant: Tenant,
) -> None:
    """4.8 KB whose <dimension> claims A1:XFD8000 grew an API process by 1,032 MiB (openpyxl
    padded every row to 16,384 cells): the claim is not trusted, and the sheet is read in a
    bounded child."""
    answer, grown = peak_memory_growth(
        lambda: _post_sheet(tenant, sheet_claiming("A1:XFD8000", 8000))
    )
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["progress"]["total"] == 2  # 甲, and X in row 8000
    assert grown < 100, f"the API process grew by {grown:.0f} MiB"


def test_data_past_the_columns_a_sheet_may_have_is_422_naming_the_row(tenant: Tenant) -> None:
    wide = workbook([["unit", "count"], ["甲", 1], ["乙", *([None] * 298), "far"]])
    answer = _post_sheet(tenant, wide)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_data_file" and error["details"] == {"row": 3, "limit": 256}


def test_a_number_format_longer_than_excels_is_422_naming_the_cell(tenant: Tenant) -> None:
    """40 cells with a 16,000-character fraction format cost 22.6 s of API CPU (formatting is
    quadratic in the format's length)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["unit", "share"])
    book.active.append(["甲", 0.5])
    book.active["B2"].number_format = "# " + "?" * 8000 + "/" + "?" * 8000
    out = io.BytesIO()
    book.save(out)
    answer = _post_sheet(tenant, out.getvalue())
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["details"] == {"cell": "B2", "limit": 255}
    assert "B2" in error["message"] and "16003" in error["message"]


def test_a_sub_document_is_checked_outside_the_api(tenant: Tenant) -> None:
    """A 3 MB annex of three million empty paragraphs (24:1, under the inflate ratio) grew an
    API process by 1.2 GiB while its package was checked: now a bounded child checks it, runs
    out of its memory, and the job is a 422 naming the annex."""
    template = tenant.upload(make_docx("{{ unit }}", "{{p annex }}")).get_json()["id"]
    rows = [{"unit": "甲", "annex": {"type": "docx", "file": "annex.docx"}}]
    annex = many_paragraphs(3_000_000)
    answer, grown = peak_memory_growth(
        lambda: tenant.post(
            "/v1/jobs",
            data={
                "template": template,
                "data": (io.BytesIO(json.dumps(rows).encode()), "units.json"),
                "files": (io.BytesIO(annex), "annex.docx"),
            },
        )
    )
    assert answer.status_code == 422, answer.get_json()
    message = answer.get_json()["error"]["message"]
    assert message.startswith("The sub-document annex.docx: ") and "MiB of memory" in message
    assert grown < 150, f"the API process grew by {grown:.0f} MiB"
