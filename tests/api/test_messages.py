"""Messages in the language the request asks for (Accept-Language: zh-Hans or zh-Hant),
codes unchanged; English when it asks for none of ours."""

from __future__ import annotations

import io

import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("zh-Hant", "沒有任務 'nope'。"),
        ("zh-CN", "没有任务 'nope'。"),
        ("fr", "There is no job 'nope'."),
        (None, "There is no job 'nope'."),
    ],
)
def test_an_error_in_the_language_asked_for(
    tenant: Tenant, header: str | None, message: str
) -> None:
    headers = {"Accept-Language": header} if header else {}
    error = tenant.get("/v1/jobs/nope", headers=headers).get_json()["error"]
    assert error == {"code": "not_found", "message": message, "details": None}


def test_a_clerks_spreadsheet_problems_in_chinese(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("單位：{{ unit }}", "落款：{{ signature }}")).get_json()
    sheet = "unit,signature\n沙灣縣第二中學,沙灣縣教育局\n阜康市第二中學,\n".encode()
    response = tenant.post(
        "/v1/jobs",
        data={"template": template["id"], "data": (io.BytesIO(sheet), "units.csv")},
        headers={"Accept-Language": "zh-TW,zh;q=0.9"},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "missing_variables"
    assert error["message"].startswith("2 份文件中有 1 份與範本不符"), error["message"]
    assert "第 3 列（阜康市第二中學）缺少 signature" in error["message"]


def test_template_checks_in_chinese(tenant: Tenant) -> None:
    response = tenant.post(
        "/v1/templates",
        data={"file": (io.BytesIO(make_docx("{{ note|defualt('—') }}")), "t.docx")},
        headers={"Accept-Language": "zh-Hans"},
    )
    error = response.get_json()["error"]
    assert error["code"] == "template_syntax_error"
    assert (
        "不存在的过滤器 'defualt'" in error["message"]
        and "您是想写 'default' 吗" in error["message"]
    )
