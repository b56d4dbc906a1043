"""A bureau's spreadsheet as the job's data, through the real stack."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from docrender.data.files import read_data_file
from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx, workbook
from tests.helpers.pdf import pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")
SAMPLES = PROJECT_ROOT / "templates"


def as_printed(data: Any) -> Any:
    """The data as it prints: a cell value (a CSV's 18% is a number shown as 18%) as its text."""
    if isinstance(data, dict):
        return (
            data["text"]
            if data.get("type") == "cell"
            else {k: as_printed(v) for k, v in data.items()}
        )
    return [as_printed(item) for item in data] if isinstance(data, list) else data


def test_xlsx_and_gbk_csv_hold_the_same_documents_as_the_json() -> None:
    expected = json.loads((SAMPLES / "units.json").read_text())
    for name in ("units.xlsx", "units-gbk.csv"):
        documents = read_data_file(name, (SAMPLES / name).read_bytes(), 100).documents
        assert as_printed(documents) == expected, name


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
    bad_strict = tenant.post(
        "/v1/jobs",
        data={
            "template": template,
            "strict": "maybe",
            "data": (io.BytesIO((SAMPLES / "units.json").read_bytes()), "units.json"),
        },
    )
    assert bad_strict.status_code == 400


def submit_sheet(tenant: Tenant, template: bytes, data: bytes, filename: str) -> Any:
    template_id = tenant.upload(template).get_json()["id"]
    return tenant.post(
        "/v1/jobs", data={"template": template_id, "data": (io.BytesIO(data), filename)}
    )


def test_cells_print_as_the_sheet_shows_them_and_compute_as_numbers(tenant: Tenant) -> None:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["unit", "share", "price", "students", "founded"])
    book.active.append(["阜康市第二中學", 0.21, 12.5, 1234, dt.date(2012, 5, 1)])
    for cell, number_format in (
        ("B2", "0%"),
        ("C2", "0.00"),
        ("D2", "#,##0"),
        ("E2", 'yyyy"年"m"月"d"日"'),
    ):
        book.active[cell].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    template = make_docx(
        "{{ unit }}：比例{{ share }}，單價{{ price }}元，學生{{ students }}人，建校{{ founded }}。",
        "算得：{{ (share * 100)|round|int }}，{{ students + 1 }}，{{ founded|date('%Y') }}年。",
    )
    response = submit_sheet(tenant, template, out.getvalue(), "units.xlsx")
    assert response.status_code == 202, response.get_json()
    job = tenant.wait_for(response.get_json()["id"])
    text = squash(pdf_text(tenant.get(job["documents"][0]["url"]).data))
    assert "比例21%，單價12.50元，學生1,234人，建校2012年5月1日。" in text, text
    assert "算得：21，1235，2012年。" in text, text


@pytest.mark.parametrize("encoding", ["big5", "utf-16", "gb18030"])
def test_csv_from_chinese_excel_prints_its_characters(tenant: Tenant, encoding: str) -> None:
    separator = "\t" if encoding == "utf-16" else ","
    units = (
        ["沙灣縣第二中學", "阜康市第二中學"]
        if encoding != "gb18030"
        else ["沙湾县第二中学", "阜康市第二中学"]
    )
    text = f"unit{separator}students\n" + "".join(f"{u}{separator}766\n" for u in units)
    response = submit_sheet(
        tenant, make_docx("單位：{{ unit }}"), text.encode(encoding), "units.csv"
    )
    assert response.status_code == 202, response.get_json()
    job = tenant.wait_for(response.get_json()["id"])
    printed = [squash(pdf_text(tenant.get(d["url"]).data)) for d in job["documents"]]
    assert printed == [f"單位：{unit}" for unit in units]


def test_a_csv_whose_encoding_cannot_be_told_is_refused(tenant: Tenant) -> None:
    response = submit_sheet(
        tenant, make_docx("{{ unit }}"), bytes(range(128, 256)) * 4, "units.csv"
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_data_file" and "CSV UTF-8" in error["message"]


def titled_sheet(header: list[str], rows: list[list[Any]]) -> bytes:
    return workbook([header, *rows], title="2026年度民族團結進步創建單位基本情況表")


def test_a_title_row_above_the_header_and_a_misspelt_column(tenant: Tenant) -> None:
    data = titled_sheet(
        ["unit", "signiture"],
        [["沙灣縣第二中學", "沙灣縣教育局"], ["阜康市第二中學", "阜康市教育局"]],
    )
    template = make_docx("單位：{{ unit }}", "落款：{{ signature|default('') }}")
    response = submit_sheet(tenant, template, data, "units.xlsx")
    assert response.status_code == 202, response.get_json()
    [warning] = response.get_json()["warnings"]
    assert warning["code"] == "unused_columns" and warning["columns"] == ["signiture"]
    assert "signature" in warning["message"]  # the names the template does read
    job = tenant.wait_for(response.get_json()["id"])
    assert job["warnings"] == [warning]  # kept with the job
    printed = [squash(pdf_text(tenant.get(d["url"]).data)) for d in job["documents"]]
    assert printed == ["單位：沙灣縣第二中學落款：", "單位：阜康市第二中學落款："]


def test_missing_values_are_named_by_sheet_row_and_unit(tenant: Tenant) -> None:
    data = titled_sheet(
        ["unit", "signature"], [["沙灣縣第二中學", "沙灣縣教育局"], ["阜康市第二中學", None]]
    )
    template = make_docx("單位：{{ unit }}", "落款：{{ signature }}")
    response = submit_sheet(tenant, template, data, "units.xlsx")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "missing_variables"
    assert "1 document of 2 does not fit" in error["message"]
    assert "row 4 (阜康市第二中學) misses signature" in error["message"]
    assert error["details"] == [
        {"document": 1, "missing": ["signature"], "row": 4, "name": "阜康市第二中學"}
    ]
