"""Text from the data as docxtpl users write it, through the real stack and read back from the
PDF: a rich run's font draws its Chinese text too, character styles and links work, and the
page breaks (\\f) and new paragraphs (\\a) of docxtpl keep their meaning."""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import docx
import pytest
from docx.shared import Pt
from pypdf import PdfReader

from tests.helpers.clients import Tenant
from tests.helpers.pdf import pdf_fonts, pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")


def template(*paragraphs: str, indent: bool = False) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        paragraph = document.add_paragraph(text)
        if indent:  # a first-line indent: each paragraph of the value shows it
            paragraph.paragraph_format.first_line_indent = Pt(48)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(tenant: Tenant, docx_bytes: bytes, data: dict[str, Any]) -> bytes:
    template_id = tenant.upload(docx_bytes).get_json()["id"]
    job = tenant.wait_for(tenant.submit(template_id, [{"data": data}]).get_json()["id"])
    document = job["documents"][0]
    assert document["status"] == "succeeded", document
    return tenant.get(document["url"]).data


def faces(pdf: bytes) -> set[str]:
    return {font["name"].split("+")[-1] for font in pdf_fonts(pdf)}


def first_x(pdf: bytes, word: str) -> float:
    html = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    found = re.search(rf'<word xMin="([\d.]+)"[^>]*>{word}</word>', html)
    assert found, html
    return float(found[1])


def test_a_rich_run_in_kai_prints_its_chinese_text_in_the_kai_face(tenant: Tenant) -> None:
    runs = [
        "普通文字，",
        {"text": "重點內容", "font": "楷体"},
        "，",
        {"text": "另一段", "font": "eastAsia:楷体_GB2312"},
    ]
    pdf = render(tenant, template("{{r remark }}"), {"remark": {"type": "rich", "runs": runs}})
    assert squash(pdf_text(pdf)) == "普通文字，重點內容，另一段"
    assert any("UKai" in face for face in faces(pdf)), faces(pdf)


def test_rich_runs_take_character_styles_and_links(tenant: Tenant) -> None:
    runs = [
        {"text": "Bold by style", "style": "Strong"},
        " and ",
        {"text": "our site", "url": "https://example.org/report?id=1&lang=zh"},
    ]
    data = {"remark": {"type": "rich", "runs": runs}}
    pdf = render(tenant, template("{{r remark }}"), data)
    assert "Bold by style and our site" in pdf_text(pdf)
    assert any("Bold" in face for face in faces(pdf)), faces(pdf)  # Strong is bold
    # The link is a real hyperlink of the document too (tests/e2e/test_links.py: of the PDF).
    template_id = tenant.upload(template("{{r remark }}")).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(template_id, [{"data": data}], format="docx").get_json()["id"]
    )
    made = docx.Document(io.BytesIO(tenant.get(job["documents"][0]["url"]).data))
    links = [
        rel.target_ref for rel in made.part.rels.values() if rel.reltype.endswith("/hyperlink")
    ]
    assert links == ["https://example.org/report?id=1&lang=zh"]


def test_rich_text_in_a_paragraph_tag_prints_as_its_own_paragraph(tenant: Tenant) -> None:
    """docxtpl puts a {{p x }} tag's rich value where the tag's paragraph was: runs outside
    any paragraph, which LibreOffice dropped without a word (and Word may refuse). In the
    body and in a table cell, each prints as a paragraph, in the PDF and in the DOCX."""
    document = docx.Document()
    document.add_paragraph("前言")
    document.add_paragraph("{{p remark }}")
    document.add_table(rows=1, cols=2).rows[0].cells[1].paragraphs[0].text = "{{p note }}"
    document.add_paragraph("結語")
    out = io.BytesIO()
    document.save(out)
    remark = {"type": "rich", "runs": ["重點", {"text": "內容", "bold": True}]}
    note = {"type": "rich", "runs": [{"text": "表內說明", "url": "https://example.org/n"}]}
    data = {"remark": remark, "note": note}
    pdf = render(tenant, out.getvalue(), data)
    assert squash(pdf_text(pdf)) == squash("前言 重點內容 表內說明 結語"), pdf_text(pdf)
    template_id = tenant.upload(out.getvalue()).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(template_id, [{"data": data}], format="docx").get_json()["id"]
    )
    made = docx.Document(io.BytesIO(tenant.get(job["documents"][0]["url"]).data))
    assert [p.text for p in made.paragraphs] == ["前言", "重點內容", "結語"]
    assert made.tables[0].rows[0].cells[1].paragraphs[-1].text == "表內說明"


def test_paragraphs_of_rich_text_print_each_with_its_paragraph_style(tenant: Tenant) -> None:
    """docxtpl's RichTextParagraph, in JSON: a {{p body }} tag prints several paragraphs,
    each with the template's paragraph style it names and its own runs; enough of them run
    onto more pages. A style the template lacks is refused, naming those it has."""
    document = docx.Document()
    document.add_paragraph("報告")
    document.add_paragraph("{{p body }}")
    document.add_paragraph("完")
    out = io.BytesIO()
    document.save(out)
    paragraphs: list[dict[str, Any]] = [{"style": "Heading 1", "runs": ["一、總體情況"]}]
    paragraphs += [{"runs": [f"第{n}段，", {"text": "重點", "bold": True}]} for n in range(1, 81)]
    body = {"type": "paragraphs", "paragraphs": paragraphs}
    pdf = render(tenant, out.getvalue(), {"body": body})
    text = squash(pdf_text(pdf))
    assert text.startswith(squash("報告 一、總體情況 第1段，重點")) and text.endswith("完")
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2  # eighty paragraphs run onto page two
    template_id = tenant.upload(out.getvalue()).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(template_id, [{"data": {"body": body}}], format="docx").get_json()["id"]
    )
    made = docx.Document(io.BytesIO(tenant.get(job["documents"][0]["url"]).data))
    assert [(p.style.name if p.style else "", p.text) for p in made.paragraphs[:3]] == [
        ("Normal", "報告"),
        ("Heading 1", "一、總體情況"),
        ("Normal", "第1段，重點"),
    ]
    assert made.paragraphs[2].runs[1].bold
    unknown = {"type": "paragraphs", "paragraphs": [{"style": "標題 9", "runs": ["x"]}]}
    refused = tenant.submit(template_id, [{"data": {"body": unknown}}])
    assert refused.status_code == 422
    message = refused.get_json()["error"]["message"]
    assert "'標題 9'" in message and "paragraph style" in message and "Heading 1" in message
    # In a plain {{ }} tag it would print nothing: refused at submission, saying which tag.
    plain = tenant.upload(template("{{ body }}")).get_json()["id"]
    refused = tenant.submit(plain, [{"data": {"body": body}}])
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "wrong_shape"


def test_a_style_the_template_lacks_is_refused_when_the_job_is_sent(tenant: Tenant) -> None:
    """Found at submission (the template's styles are kept from its upload), not after the
    202: a 422 naming the document, the value and the styles there are."""
    template_id = tenant.upload(template("{{r remark }}")).get_json()["id"]
    bad = {"type": "rich", "runs": [{"text": "x", "style": "強調"}]}
    good = {"type": "rich", "runs": [{"text": "x", "style": "Emphasis"}]}
    refused = tenant.submit(template_id, [{"data": {"remark": good}}, {"data": {"remark": bad}}])
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["message"].startswith("Document 1: The rich text at remark.runs[0] names")
    assert "'強調'" in error["message"] and "Emphasis" in error["message"]
    job = tenant.wait_for(tenant.submit(template_id, [{"data": {"remark": good}}]).get_json()["id"])
    assert job["documents"][0]["status"] == "succeeded"


@pytest.mark.parametrize("rich", [False, True])
def test_form_feed_makes_a_page(tenant: Tenant, rich: bool) -> None:
    text = "第一頁\f第二頁\f第三頁"
    value: Any = {"type": "rich", "runs": [{"text": text, "bold": True}]} if rich else text
    tag = "{{r notes }}" if rich else "{{ notes }}"
    pdf = render(tenant, template(tag), {"notes": value})
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3
    assert [squash(page.extract_text()) for page in pages] == ["第一頁", "第二頁", "第三頁"]


def test_bel_makes_a_new_paragraph_and_a_newline_a_line_break(tenant: Tenant) -> None:
    pdf = render(
        tenant,
        template("{{ paragraphs }}", "{{ lines }}", indent=True),
        {"paragraphs": "甲段落\a乙段落", "lines": "丙一行\n丁一行"},
    )
    # A new paragraph has the template paragraph's first-line indent again; a line break not.
    assert first_x(pdf, "乙段落") == pytest.approx(first_x(pdf, "甲段落"), abs=1)
    assert first_x(pdf, "丁一行") < first_x(pdf, "丙一行") - 40


@pytest.mark.parametrize(
    ("typography", "printed"),
    [
        (None, "漢語 教學班,共12人(男生5人);金額1,234元,見https://a.cn/x?a=1,2"),
        ("zh", "漢語教學班，共12人（男生5人）；金額1,234元，見https://a.cn/x?a=1,2"),
    ],
)
def test_chinese_typography_is_opt_in(tenant: Tenant, typography: str | None, printed: str) -> None:
    pasted = "漢語 教學班,共12人(男生5人);金額1,234元,見https://a.cn/x?a=1,2"
    template_id = tenant.upload(template("{{ note }}")).get_json()["id"]
    options = {"typography": typography} if typography else {}
    job = tenant.wait_for(
        tenant.submit(template_id, [{"data": {"note": pasted}}], **options).get_json()["id"]
    )
    pdf = tenant.get(job["documents"][0]["url"]).data
    # pdftotext puts a space between Chinese and Latin text; the spaces of the data stay.
    between_scripts = r"(?<=[^\x00-\x7f]) (?=[A-Za-z0-9])|(?<=[A-Za-z0-9]) (?=[^\x00-\x7f])"
    assert re.sub(between_scripts, "", pdf_text(pdf).strip()) == printed
