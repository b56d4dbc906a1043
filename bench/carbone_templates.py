"""Carbone equivalents of the benchmark's two templates, for the side-by-side run.

Same page set-up, styles and structure as templates/report.docx and the bench's scoring sheet,
written with Carbone's tags instead of Jinja: a loop is a repeated `[i]` paragraph (`[i]` at every depth) (or table
row) followed by its `[i+1]` twin, a conditional part sits between `hideBegin` and `hideEnd`.
The facts table is always shown: a `hideEnd` after a table needs a paragraph of its own, which
stays in the output as an empty line (every sample unit has facts).
Carbone has no way to turn a loop index into 一、二、…, so `carbone_data` adds each section's
and point's numeral to the data; nothing else about the data changes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "templates"))

from build_samples import footer, new_document  # noqa: E402

NUMERALS = "一二三四五六七八九十"


def report_template() -> bytes:
    doc = new_document()

    def para(text: str, style: str | None = None) -> None:
        doc.add_paragraph(text, style=style)

    para("{d.title}", "Title")
    para("{d.subtitle:ifEM:hideBegin}{d.subtitle}{d.subtitle:hideEnd}", "Subtitle")
    para("{d.unit}", "Subtitle")
    para("{d.opening[i].text}")
    para("{d.opening[i+1].text}")

    para("基本情況一覽", "Heading 1")
    table = doc.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text, table.cell(0, 1).text = "項目", "情況"
    table.cell(1, 0).text, table.cell(1, 1).text = "{d.facts[i].item}", "{d.facts[i].value}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{d.facts[i+1].item}", "{d.facts[i+1].value}"
    for row in table.rows:
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.first_line_indent = Pt(0)
    for cell in table.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True

    para("{d.sections[i].cn}、{d.sections[i].heading}", "Heading 1")
    para("{d.sections[i].paragraphs[i].text}")
    para("{d.sections[i].paragraphs[i+1].text}")
    para("({d.sections[i].points[i].cn}){d.sections[i].points[i].heading}", "Heading 2")
    para("{d.sections[i].points[i].paragraphs[i].text}")
    para("{d.sections[i].points[i].paragraphs[i+1].text}")
    para("{d.sections[i].points[i+1].heading}", "Heading 2")
    para("{d.sections[i+1].heading}", "Heading 1")

    para("{d.honours:len:ifEQ(0):hideBegin}所獲榮譽", "Heading 1")
    para("{d.honours[i].text}", "List Bullet")
    para("{d.honours[i+1].text}{d.honours:hideEnd}", "List Bullet")

    para("{d.closing[i].text}")
    para("{d.closing[i+1].text}")
    para("")
    for text in ("{d.signature}", "{d.date}"):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer(doc)
    paragraph = doc.sections[0].footer.paragraphs[0]
    paragraph.runs[0].text = "{d.unit} · 第 "
    return _saved(doc)


def scoring_sheet_template() -> bytes:
    document = docx.Document()
    document.add_heading("{d.unit} 民族團結進步創建考核評分表", level=1)
    table = document.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("項目", "分值", "得分"), strict=True):
        cell.text = text
    for row, at in ((1, "i"), (2, "i+1")):
        for column, field in enumerate(("item", "max", "score")):
            table.cell(row, column).text = f"{{d.rows[{at}].{field}}}"
    document.add_paragraph("總分:{d.total}    評定日期:{d.date}")
    return _saved(document)


def carbone_data(report: dict[str, Any]) -> dict[str, Any]:
    """The report's data as Carbone's loops want it: each list item an object (Carbone repeats
    `{d.list[i].field}`, not bare strings), with the numerals a Jinja template computes from
    loop.index0."""

    def texts(items: list[str]) -> list[dict[str, str]]:
        return [{"text": item} for item in items]

    sections = []
    for s, section in enumerate(report["sections"]):
        points = [
            point | {"cn": NUMERALS[p], "paragraphs": texts(point["paragraphs"])}
            for p, point in enumerate(section["points"])
        ]
        sections.append(
            section
            | {"cn": NUMERALS[s], "points": points, "paragraphs": texts(section["paragraphs"])}
        )
    lists = {name: texts(report[name]) for name in ("opening", "closing", "honours")}
    return report | lists | {"sections": sections}


def _saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
