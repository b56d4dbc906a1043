"""A 公文 page made the way Word makes one (GB/T 9704: 22 lines of 28 characters, declared as a
document grid of lines and characters whose pitch is a little narrower than the 三号 type)
prints as Word prints it, in Simplified and in Traditional text: 28 characters on every full
line, headings and numbers not spread over two grid cells a character, the page number at the
foot of the page."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant

pytestmark = pytest.mark.usefixtures("worker")
GONGWEN = PROJECT_ROOT / "templates" / "gongwen.docx"
GONGWEN_JOB = PROJECT_ROOT / "templates" / "gongwen-job.json"
SIMPLIFIED: dict[str, Any] = {
    "issuer": "沙湾县民族宗教事务局",
    "doc_number": "沙民宗发〔2026〕12号",
    "title": "关于开展民族团结进步创建示范单位评选工作的通知",
    "recipient": "各乡镇人民政府，县直各有关单位",
    "opening": [
        "为深入贯彻落实铸牢中华民族共同体意识的工作要求，进一步巩固和发展平等团结互助和谐的"
        "社会主义民族关系，经研究，决定在全县开展民族团结进步创建示范单位评选工作。" * 6
    ],
    "sections": [
        {
            "heading": "总体要求",
            "paragraphs": [
                "坚持以铸牢中华民族共同体意识为主线，推动民族团结进步创建工作进机关"
                "、进企业、进社区、进乡镇、进学校、进连队，着力营造各民族共居共学共建"
                "共事共乐的社会环境。" * 3
            ],
            "points": [{"heading": "坚持问题导向", "text": "聚焦群众急难愁盼问题。"}],
        }
    ],
    "closing": ["请各单位高度重视，认真组织，按时报送。"],
    "signer": "沙湾县民族宗教事务局",
    "date": "2026年11月29日",
    "materials": [{"category": "申报材料", "items": [{"name": "申报表", "copies": "一份"}]}],
    "remark": {"type": "rich", "runs": ["无"]},
}


PAGE_NUMBER = re.compile(r"—\s*\d+\s*—")
HANGING = "，。、；：？！”’）》」』"


def traditional() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GONGWEN_JOB.read_text())["documents"][0]["data"]
    data["opening"] = [text * 5 for text in data["opening"]]  # body text well past page one
    return data


def render(tenant: Tenant, data: dict[str, Any], **options: str) -> bytes:
    template = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()["id"]
    job = tenant.wait_for(tenant.submit(template, [{"data": data}], **options).get_json()["id"])
    assert job["status"] == "succeeded", job
    return tenant.get(job["documents"][0]["url"]).data


def page_lines(pdf: bytes, page: int) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [line.strip() for line in text.splitlines() if line.strip()]


def words(pdf: bytes, page: int) -> list[tuple[str, float, float]]:
    """(word, xMin, xMax) on a page, from pdftotext -bbox."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    found = re.finditer(
        r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">'
        r"([^<]*)</word>",
        html,
    )
    return [(m[3], float(m[1]), float(m[2])) for m in found]


@pytest.mark.parametrize("script", ["simplified", "traditional"])
def test_a_full_line_holds_28_characters_and_headings_are_not_spread(
    tenant: Tenant, script: str
) -> None:
    data = SIMPLIFIED if script == "simplified" else traditional()
    pdf = render(tenant, data)  # no language: the text says which forms (and faces) to use
    first = page_lines(pdf, 1)
    # GB/T 9704: 28 characters a line; a closing mark may hang past the margin, as in Word.
    body = [line.rstrip(HANGING) for line in first if len(line) >= 20]
    assert body, first
    assert max(len(line) for line in body) == 28, body
    assert sum(len(line) == 28 for line in body) >= 5, body
    # The 發文字號 and the heading print as written, not spread over grid cells. (Between a
    # number and a Chinese character Word and LibreOffice both leave a quarter em.)
    number = next(line for line in first if "2026" in line)
    assert "〔2026〕12" in number and number.replace(" ", "") == data["doc_number"], number
    heading = "一、" + data["sections"][0]["heading"]
    page = next(page for page in (1, 2, 3) if heading in page_lines(pdf, page))
    # Each heading character is one grid cell wide (三号: about 16 pt), not two.
    placed = [(w, x0, x1) for w, x0, x1 in words(pdf, page) if w and w in heading]
    width = max(x1 for _, _, x1 in placed) - min(x0 for _, x0, _ in placed)
    assert width / len(heading) < 17, placed


def test_22_lines_a_page(tenant: Tenant) -> None:
    # Page two holds the middle of one long paragraph (no widow or orphan moves a line).
    data = SIMPLIFIED | {"opening": [SIMPLIFIED["opening"][0] * 4]}
    pdf = render(tenant, data)
    second = page_lines(pdf, 2)
    assert len([line for line in second if not PAGE_NUMBER.fullmatch(line)]) == 22, second


def test_the_page_number_prints_at_the_outer_side(tenant: Tenant) -> None:
    pdf = render(tenant, traditional())
    for page, outer in ((1, "right"), (2, "left")):
        assert PAGE_NUMBER.fullmatch(page_lines(pdf, page)[-1]), page_lines(pdf, page)[-3:]
        number = [(x0, x1) for word, x0, x1 in words(pdf, page) if word == str(page)]
        x0, x1 = number[-1]  # the foot of the page comes last
        # GB/T 9704 7.5: one character in from the outer edge of the text (A4, 28/26 mm).
        if outer == "right":
            assert 480 < x1 < 521, (page, x0, x1)
        else:
            assert 80 < x0 < 130, (page, x0, x1)
