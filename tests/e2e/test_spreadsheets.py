"""A bureau's spreadsheet as the job's data, through the real stack."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from docrender.datafile import read_documents
from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant
from tests.helpers.pdf import pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")
SAMPLES = PROJECT_ROOT / "templates"


def test_xlsx_and_gbk_csv_hold_the_same_documents_as_the_json() -> None:
    expected = json.loads((SAMPLES / "units.json").read_text())
    for name in ("units.xlsx", "units-gbk.csv"):
        assert read_documents(name, (SAMPLES / name).read_bytes(), 100) == expected, name


def submit_file(tenant: Tenant, template: str, path: Path, **form: str) -> dict:
    response = tenant.post(
        "/v1/jobs",
        data={"template": template, "data": (io.BytesIO(path.read_bytes()), path.name), **form},
    )
    assert response.status_code == 202, response.get_json()
    return tenant.wait_for(response.get_json()["id"])


def test_each_spreadsheet_row_becomes_the_same_pdf(tenant: Tenant) -> None:
    template = tenant.upload((SAMPLES / "unit-summary.docx").read_bytes()).get_json()["id"]
    texts = {}
    for name in ("units.xlsx", "units-gbk.csv", "units.json"):
        job = submit_file(tenant, template, SAMPLES / name, name="{{ unit }}-基本情況表")
        assert job["status"] == "succeeded", job
        texts[name] = [pdf_text(tenant.get(d["url"]).data) for d in job["documents"]]
        assert job["documents"][1]["name"] == "沙灣縣第五小學-基本情況表"
    assert texts["units.xlsx"] == texts["units-gbk.csv"] == texts["units.json"]
    first = squash(texts["units.xlsx"][0])
    assert "西戈壁鎮中心校" in first and "35758平方米" in first and "平安校園" in first


def test_a_bad_data_file_is_refused_before_anything_is_queued(tenant: Tenant) -> None:
    template = tenant.upload((SAMPLES / "unit-summary.docx").read_bytes()).get_json()["id"]
    cases = [
        ("units.pdf", b"%PDF", 415, "unsupported_file_type"),
        ("units.csv", b"", 422, "invalid_data_file"),
        ("units.csv", "unit\n沙灣\n".encode(), 422, "missing_variables"),
        (
            "units.csv",
            b"unit,signature,date,honours.1,facts\na,b,c,,not-a-list\n",
            422,
            "wrong_shape",
        ),
    ]
    for filename, data, status, code in cases:
        response = tenant.post(
            "/v1/jobs", data={"template": template, "data": (io.BytesIO(data), filename)}
        )
        assert response.status_code == status, (filename, response.get_json())
        assert response.get_json()["error"]["code"] == code
    bad_strict = tenant.post("/v1/jobs", data={
        "template": template, "strict": "maybe",
        "data": (io.BytesIO((SAMPLES / "units.json").read_bytes()), "units.json"),
    })  # fmt: skip
    assert bad_strict.status_code == 400
