"""Templates and data as people write them, through the real stack: one bad row fails alone
and says where, the report filters print what bureau reports print, and the template checks
at upload catch what would otherwise fail later."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx, tamper, workbook
from tests.helpers.pdf import pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")


def test_a_division_by_zero_fails_its_row_alone_naming_the_tag(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("單位：{{ unit }}", "人均活動 {{ activities / staff }} 次"))
    rows: list[list[object]] = [["unit", "activities", "staff"]]
    rows += [[f"第{i}中學", 8 * i, 0 if i == 7 else 4] for i in range(1, 21)]
    submitted = tenant.post(
        "/v1/jobs",
        data={
            "template": template.get_json()["id"],
            "data": (io.BytesIO(workbook(rows)), "units.xlsx"),
        },
    )
    assert submitted.status_code == 202, submitted.get_json()
    job = tenant.wait_for(submitted.get_json()["id"])
    assert job["progress"] == {"total": 20, "succeeded": 19, "failed": 1}
    failed = next(d for d in job["documents"] if d["status"] == "failed")
    assert failed["index"] == 6  # the seventh row
    assert failed["error"]["code"] == "render_failed"
    message = failed["error"]["message"]
    assert message.startswith("division by zero in {{ activities / staff }}"), message
    assert "word/document.xml" in message and "人均活動" in message
    made = tenant.get(job["documents"][7]["url"]).data
    assert "人均活動 16.0 次" in pdf_text(made)


REPORT = [
    "日期：{{ day|date('%Y年%-m月%-d日') }}",
    "落款：{{ day|cn_date }}",
    "表格日期：{{ serial|date }}",
    "金額：{{ amount|thousands }}元，{{ amount|fixed(2) }}",
    "比例：{{ ratio|percent(1) }}",
    "大寫：{{ amount|rmb_upper }}",
    "大寫：{{ amount|rmb_upper('hant') }}",
    "人數：{{ count|cn_number }}",
    "{{ 2|cn_index }}{{ 3|cn_index('()') }}",
    "簡體：{{ text|to_hans }}",
    "繁體：{{ text|to_hant }}",
]


@pytest.mark.parametrize(
    ("text", "hans", "hant"),
    [
        ("民族團結進步示範單位", "民族团结进步示范单位", "民族團結進步示範單位"),
        ("民族团结进步示范单位", "民族团结进步示范单位", "民族團結進步示範單位"),
    ],
)
def test_report_filters_print_what_reports_print(
    tenant: Tenant, text: str, hans: str, hant: str
) -> None:
    template_id = tenant.upload(make_docx(*REPORT)).get_json()["id"]
    data = {
        "day": "2026-11-29",
        "serial": 45000,
        "amount": 12345.6,
        "ratio": 0.2134,
        "count": 12,
        "text": text,
    }
    job = tenant.wait_for(tenant.submit(template_id, [{"data": data}]).get_json()["id"])
    assert job["status"] == "succeeded", job
    printed = squash(pdf_text(tenant.get(job["documents"][0]["url"]).data))
    for expected in (
        "日期：2026年11月29日",
        "落款：二〇二六年十一月二十九日",
        "表格日期：2023-03-15",
        "金額：12,345.6元，12345.60",
        "比例：21.3%",
        "大寫：人民币壹万贰仟叁佰肆拾伍元陆角整",
        "大寫：人民幣壹萬貳仟叁佰肆拾伍元陸角整",
        "人數：十二",
        "二、（三）",
        f"簡體：{hans}",
        f"繁體：{hant}",
    ):
        assert expected in printed, (expected, printed)


def test_a_filter_given_what_it_cannot_read_fails_that_document(tenant: Tenant) -> None:
    template_id = tenant.upload(make_docx("大寫：{{ amount|rmb_upper }}")).get_json()["id"]
    documents: list[dict[str, Any]] = [
        {"data": {"amount": 100}},
        {"data": {"amount": "一百"}},
        {"data": {"amount": 5}},
    ]
    job = tenant.wait_for(tenant.submit(template_id, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded", "failed", "succeeded"]
    error = job["documents"][1]["error"]
    # The cell and what to type, for the clerk; the tag, for the template's author.
    assert (
        error["message"] == "“amount”: “一百” is not a number; type digits alone, such as 1234.5."
    )
    assert error["details"]["tag"] == "{{ amount|rmb_upper }}"
    assert error["details"]["column"] == "amount" and error["details"]["value"] == "一百"


def test_a_number_no_report_prints_fails_its_document_at_once(tenant: Tenant) -> None:
    """1e1300000 overran the 30 s render deadline to 55 s: the alarm cannot interrupt Python's
    C code spelling it out. The filter refuses it before."""
    template_id = tenant.upload(make_docx("金額：{{ amount|thousands }}")).get_json()["id"]
    documents: list[dict[str, Any]] = [
        {"data": {"amount": 100}},
        {"data": {"amount": "1e1300000"}},
        {"data": {"amount": 5}},
    ]
    job = tenant.wait_for(tenant.submit(template_id, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded", "failed", "succeeded"]
    message = job["documents"][1]["error"]["message"]
    assert "|thousands prints numbers of at most 30 digits" in message and "1e1300000" in message
    assert "金額：5" in pdf_text(tenant.get(job["documents"][2]["url"]).data)


def test_an_unknown_filter_is_refused_at_upload_naming_it(tenant: Tenant) -> None:
    response = tenant.upload(make_docx("單位：{{ unit }}", "備註：{{ note|defualt('—') }}"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "template_syntax_error"
    assert "'defualt'" in error["message"] and "did you mean 'default'" in error["message"]
    assert error["details"]["filter"] == "defualt" and error["details"]["part"] == "body"


def test_names_the_template_guards_are_optional_under_strict(tenant: Tenant) -> None:
    uploaded = tenant.upload(
        make_docx(
            "單位：{{ unit }}",
            "備註：{{ note|default('無') }}",
            "{% if leader is defined %}負責人：{{ leader }}{% endif %}",
            "研發：{{ dept|default('R&D') }}",
        )
    ).get_json()
    assert uploaded["optional"] == ["dept", "leader", "note"]
    submitted = tenant.submit(uploaded["id"], [{"data": {"unit": "沙灣五小"}}])
    assert submitted.status_code == 202, submitted.get_json()  # strict, and nothing missing
    job = tenant.wait_for(submitted.get_json()["id"])
    text = pdf_text(tenant.get(job["documents"][0]["url"]).data)
    assert "備註：無" in text and "負責人" not in text
    assert "研發：R&D" in text  # a literal in a tag prints as written, not R&amp;D
    refused = tenant.submit(uploaded["id"], [{"data": {"note": "x"}}])
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "missing_variables"


def test_a_plain_value_for_a_rich_text_tag_is_refused(tenant: Tenant) -> None:
    template_id = tenant.upload(make_docx("備註：{{r remark }}")).get_json()["id"]
    response = tenant.submit(template_id, [{"data": {"remark": "重點"}}])
    assert response.status_code == 422
    shape = response.get_json()["error"]["details"][0]["wrong_shape"][0]
    assert shape["variable"] == "remark" and shape["got"] == "text"


def test_rich_text_for_a_plain_tag_is_refused_naming_the_tag_it_needs(tenant: Tenant) -> None:
    """docxtpl prints nothing for rich text in a plain {{ remark }}: refused up front."""
    template_id = tenant.upload(make_docx("備註：{{ remark }}", "{{r note }}")).get_json()["id"]
    rich = {"type": "rich", "runs": ["重點"]}
    response = tenant.post(
        "/v1/jobs",
        json={"template": template_id, "documents": [{"data": {"remark": rich, "note": rich}}]},
        headers={"Accept-Language": "zh-TW"},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "wrong_shape"
    assert [shape["variable"] for shape in error["details"][0]["wrong_shape"]] == ["remark"]
    assert "{{r }} 標籤" in error["message"], error["message"]


def test_a_web_link_whose_address_says_link_uploads(tenant: Tenant) -> None:
    link = b"<w:p><w:fldSimple w:instr=' HYPERLINK \"https://example.org/?link=1\" '/></w:p>"
    assert tenant.upload(tamper(body=link)).status_code == 201


def test_a_jobs_messages_in_chinese_when_it_asks(tenant: Tenant) -> None:
    template_id = tenant.upload(make_docx("人均活動 {{ activities / staff }} 次")).get_json()["id"]
    documents = [{"data": {"activities": 8, "staff": 0}}, {"data": {"activities": 8, "staff": 2}}]
    submitted = tenant.submit(template_id, documents, messages="zh-Hant")
    job = tenant.wait_for(submitted.get_json()["id"])
    failed = job["documents"][0]
    assert failed["error"]["code"] == "render_failed"  # codes never change with the language
    assert failed["error"]["message"].startswith("除以零，出現在 {{ activities / staff }}")
    assert "段落「人均活動" in failed["error"]["message"]  # Taiwan's quotation marks
    # A request that asks for another language gets it.
    english = tenant.get(f"/v1/jobs/{job['id']}", headers={"Accept-Language": "en"}).get_json()
    assert english["documents"][0]["error"]["message"].startswith("division by zero in")
