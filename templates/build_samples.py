"""Build the samples in templates/ with python-docx and openpyxl:

- report.docx: the 匯報材料 report template (data: report-job.json, the five seed units);
- unit-summary.docx: a short 基本情況表 form that a spreadsheet can fill, one row per unit;
- units.xlsx, units-gbk.csv, units.json: the five units' rows for it, as a bureau keeps them.

report-job.json is the seed reports' text, cleaned by ``clean_report_data``: the simplified
forms left in the Traditional text made Traditional (OpenCC's Taiwan tables, with the few
names and words they get wrong put back), Chinese typography (docrender/fonts/chinese.py), and the
seeds' placeholders filled.

The files are committed; this script documents how they are made and rebuilds them:
    .venv/bin/python templates/build_samples.py

Its data shape (see report-job.json for the five sample units):
    title, subtitle, unit, date, signature: str
    opening, closing: [paragraph, ...]
    facts: [{"item": str, "value": str}, ...]            -> the table of basic facts
    sections: [{"heading": str, "paragraphs": [str], "points": [{"heading", "paragraphs"}]}]
    honours: [str, ...]
Sections are numbered 一、二、… and points (一)(二)… by the template itself.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import opencc
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.styles.style import BaseStyle
from openpyxl import Workbook

from docrender.data.values import typeset_values

HERE = Path(__file__).parent
FACT_COLUMNS = 6
HONOUR_COLUMNS = 12
SERIF = "Noto Serif CJK TC"  # the reports are in Traditional characters
SANS = "Noto Sans CJK TC"


def set_font(style: BaseStyle, face: str, size: float, bold: bool = False) -> None:
    style.font.name = face  # ascii + hAnsi, so digits and Latin use the same face
    style.font.size = Pt(size)
    style.font.bold = bold
    r_pr = style.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    fonts.set(qn("w:eastAsia"), face)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-TW")
    lang.set(qn("w:eastAsia"), "zh-TW")
    r_pr.append(lang)


def add_page_number(paragraph) -> None:  # type: ignore[no-untyped-def]
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def new_document() -> Document:  # type: ignore[valid-type]
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)  # GB/T 9704 margins
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    styles = doc.styles
    set_font(styles["Normal"], SERIF, 12)
    normal = styles["Normal"].paragraph_format
    normal.first_line_indent = Pt(24)  # two characters
    normal.line_spacing = 1.5
    normal.space_after = Pt(0)
    set_font(styles["Title"], SERIF, 22, bold=True)
    set_font(styles["Subtitle"], SERIF, 14)
    set_font(styles["Heading 1"], SANS, 14, bold=True)
    set_font(styles["Heading 2"], SERIF, 12, bold=True)
    for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "List Bullet"):
        styles[name].font.color.rgb = None
        styles[name].font.italic = False
        styles[name].paragraph_format.first_line_indent = Pt(0)
    for name in ("Title", "Subtitle"):
        styles[name].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # python-docx's default Title style draws a border line; a 公文 title has none.
    title_ppr = styles["Title"].element.get_or_add_pPr()
    for border in title_ppr.findall(qn("w:pBdr")):
        title_ppr.remove(border)
    return doc


def facts_table(doc) -> None:  # type: ignore[no-untyped-def]
    table = doc.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.cell(0, 0).text, table.cell(0, 1).text = "項目", "情況"
    table.cell(1, 0).text = "{%tr for fact in facts %}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{{ fact.item }}", "{{ fact.value }}"
    extra = table.add_row()
    extra.cells[0].text = "{%tr endfor %}"
    for row in table.rows:
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.first_line_indent = Pt(0)
    for cell in table.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True


def footer(doc) -> None:  # type: ignore[no-untyped-def]
    paragraph = doc.sections[0].footer.paragraphs[0]
    paragraph.text = "{{ unit }} · 第 "
    add_page_number(paragraph)
    paragraph.add_run(" 頁")
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)


def build_report() -> None:
    doc = new_document()

    def para(text: str, style: str | None = None, align=None):  # type: ignore[no-untyped-def]
        p = doc.add_paragraph(text, style=style)
        if align is not None:
            p.alignment = align
        return p

    def tag(text: str) -> None:  # a docxtpl paragraph tag ({%p ... %}) on its own line
        para(text)

    tag('{%p set cn = "一二三四五六七八九十" %}')
    para("{{ title }}", "Title")
    tag("{%p if subtitle %}")
    para("{{ subtitle }}", "Subtitle")
    tag("{%p endif %}")
    para("{{ unit }}", "Subtitle")

    tag("{%p for text in opening %}")
    para("{{ text }}")
    tag("{%p endfor %}")

    tag("{%p if facts %}")
    para("基本情況一覽", "Heading 1")
    facts_table(doc)
    tag("{%p endif %}")

    tag("{%p for section in sections %}")
    para("{{ cn[loop.index0] }}、{{ section.heading }}", "Heading 1")
    tag("{%p for text in section.paragraphs %}")
    para("{{ text }}")
    tag("{%p endfor %}")
    tag("{%p for point in section.points %}")
    para("({{ cn[loop.index0] }}){{ point.heading }}", "Heading 2")
    tag("{%p for text in point.paragraphs %}")
    para("{{ text }}")
    tag("{%p endfor %}")
    tag("{%p endfor %}")
    tag("{%p endfor %}")

    tag("{%p if honours %}")
    para("所獲榮譽", "Heading 1")
    tag("{%p for honour in honours %}")
    para("{{ honour }}", "List Bullet")
    tag("{%p endfor %}")
    tag("{%p endif %}")

    tag("{%p for text in closing %}")
    para("{{ text }}")
    tag("{%p endfor %}")

    para("")
    para("{{ signature }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para("{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)

    footer(doc)
    doc.core_properties.title = "{{ title }}"
    doc.core_properties.author = "docrender"
    save(doc, "report.docx")


def build_unit_summary() -> None:
    """A short form: everything in it fits in one spreadsheet row per unit."""
    doc = new_document()
    doc.add_paragraph("民族團結進步創建基本情況表", style="Title")
    doc.add_paragraph("{{ unit }}", style="Subtitle")
    doc.add_paragraph("一、基本情況", style="Heading 1")
    facts_table(doc)
    doc.add_paragraph("二、所獲榮譽", style="Heading 1")
    doc.add_paragraph("{%p for honour in honours %}")
    doc.add_paragraph("{{ honour }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not honours %}")
    doc.add_paragraph("(暫無)")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("")
    for text in ("填報單位:{{ signature }}", "填報日期:{{ date }}"):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer(doc)
    save(doc, "unit-summary.docx")


# OpenCC's Taiwan tables on this text: where they are wrong, what the seeds meant.
_KEPT_AS_WRITTEN = {"鄰裡": "鄰里", "馮文傑": "馮文杰", "併成立": "並成立"}
_PLACEHOLDERS = {"教育會議X期": "教育會議6期"}  # an illustrative number for the seeds' X


def clean_report_data() -> None:
    """report-job.json with Traditional forms throughout and Chinese typography."""
    path = HERE / "report-job.json"
    text = opencc.OpenCC("s2tw").convert(path.read_text())
    for wrong, right in (_KEPT_AS_WRITTEN | _PLACEHOLDERS).items():
        text = text.replace(wrong, right)
    job = json.loads(text)
    job["documents"] = [
        {**document, "data": typeset_values(document["data"])} for document in job["documents"]
    ]
    path.write_text(json.dumps(job, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {path}")


def build_unit_rows() -> None:
    """units.xlsx / units-gbk.csv / units.json: the five units as rows for unit-summary."""
    reports = json.loads((HERE / "report-job.json").read_text())["documents"]
    header = ["unit", "signature", "date"]
    header += [
        f"facts.{i}.{part}" for i in range(1, FACT_COLUMNS + 1) for part in ("item", "value")
    ]
    header += [f"honours.{i}" for i in range(1, HONOUR_COLUMNS + 1)]
    rows, documents = [], []
    for report in reports:
        data = report["data"]
        facts = data["facts"][:FACT_COLUMNS]
        honours = data["honours"][:HONOUR_COLUMNS]
        row = [data["unit"], data["signature"], data["date"]]
        for i in range(FACT_COLUMNS):
            row += [facts[i]["item"], facts[i]["value"]] if i < len(facts) else [None, None]
        row += [honours[i] if i < len(honours) else None for i in range(HONOUR_COLUMNS)]
        rows.append(row)
        documents.append(
            {k: data[k] for k in ("unit", "signature", "date")}
            | {"facts": facts, "honours": honours}
        )

    book = Workbook()
    sheet = book.active
    sheet.title = "各單位"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
    book.save(HERE / "units.xlsx")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as Excel writes it
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    (HERE / "units-gbk.csv").write_bytes(out.getvalue().encode("gbk"))
    (HERE / "units.json").write_text(json.dumps(documents, ensure_ascii=False, indent=2) + "\n")
    print("wrote units.xlsx, units-gbk.csv, units.json")


def save(doc, name: str) -> None:  # type: ignore[no-untyped-def]
    doc.save(HERE / name)
    print(f"wrote {HERE / name}")


def main() -> None:
    clean_report_data()
    build_report()
    build_unit_summary()
    build_unit_rows()


if __name__ == "__main__":
    main()
