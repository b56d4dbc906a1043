"""Build templates/gongwen.docx, a 公文 (GB/T 9704) notice template, its job body
(gongwen-job.json) and its data as a data file (gongwen.json).

It names the fonts a bureau's own template names, none of which a Linux server has; the
service renders them with the faces docrender/fonts/substitutes.py maps them to (Traditional forms: the
template's language is zh-TW, as the bureau's reports are written):
    发文机关标志 and title  方正小标宋简体 (red for the 机关标志)   -> bold Song
    body                    仿宋_GB2312 三号 (16 pt)              -> FangSong (cwTeX 仿宋)
    一、 headings            黑体 三号                             -> Hei
    （一） headings          楷体_GB2312 三号                      -> Kai (AR PL UKai TW)
A4, margins 37/35/28/26 mm, and a grid of 22 lines of 28 characters per page. A red line
separates the header (机关标志 and 发文字号) from the body.

    .venv/bin/python templates/build_gongwen.py

Data: issuer, doc_number, title, recipient, date, signer: str; opening, closing: [str];
sections: [{"heading", "paragraphs": [str], "points": [{"heading", "text"}]}];
materials: [{"category", "items": [{"name", "copies"}]}] (the 附件 table: a row per item, each
category one cell merged down over its items); remark: rich text ({"type": "rich", "runs": [...]}, workers/fill/rich_text.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from build_samples import add_page_number  # the same folder: run as a script
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import BaseStyle

HERE = Path(__file__).parent
RED = RGBColor(0xE6, 0x00, 0x12)
SIZE_3 = 16  # 三号
SIZE_2 = 22  # 二号
SIZE_4 = 14  # 四号
LINE_PITCH_TWIPS = 579  # 225 mm of text height / 22 lines
CHAR_SPACE = -849  # 156 mm of text width / 28 characters of 三号 (1/4096 pt units)


def set_font(style: BaseStyle, face: str, size: float, bold: bool = False) -> None:
    style.font.name = face
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = None
    fonts = style.element.get_or_add_rPr().find(qn("w:rFonts"))
    fonts.set(qn("w:eastAsia"), face)
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{theme}"), None)  # a theme font would win over the name


def traditional_chinese(doc) -> None:  # type: ignore[no-untyped-def]
    """The document's default language: Traditional Chinese (zh-TW), as the bureau writes,
    so the mapped faces draw Traditional glyph forms."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), "zh-TW")
    lang.set(qn("w:eastAsia"), "zh-TW")


def page_setup(doc) -> None:  # type: ignore[no-untyped-def]
    section = doc.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    grid.set(qn("w:charSpace"), str(CHAR_SPACE))


def styles(doc) -> None:  # type: ignore[no-untyped-def]
    all_styles = doc.styles
    set_font(all_styles["Normal"], "仿宋_GB2312", SIZE_3)
    body = all_styles["Normal"].paragraph_format
    body.first_line_indent = Pt(2 * SIZE_3)
    body.space_before = body.space_after = Pt(0)
    body.line_spacing = 1.0  # one grid line
    body.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    set_font(all_styles["Title"], "方正小标宋简体", SIZE_2)
    title = all_styles["Title"].paragraph_format
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.first_line_indent = Pt(0)
    title.space_before = title.space_after = Pt(0)
    title_ppr = all_styles["Title"].element.get_or_add_pPr()
    for border in title_ppr.findall(qn("w:pBdr")):  # python-docx's Title has a rule
        title_ppr.remove(border)
    off_grid = OxmlElement("w:snapToGrid")  # large type keeps its own spacing
    off_grid.set(qn("w:val"), "0")
    title_ppr.append(off_grid)
    set_font(all_styles["Heading 1"], "黑体", SIZE_3)
    set_font(all_styles["Heading 2"], "楷体_GB2312", SIZE_3)
    for name in ("Heading 1", "Heading 2"):
        heading = all_styles[name].paragraph_format
        heading.first_line_indent = Pt(2 * SIZE_3)
        heading.space_before = heading.space_after = Pt(0)
        heading.keep_with_next = True


def page_numbers(doc) -> None:  # type: ignore[no-untyped-def]
    """GB/T 9704 7.5: the page number in 四号 half-width digits between two dashes
    ("— 1 —"), one character in from the outer edge: right on odd pages, left on even."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        layout = paragraph.paragraph_format
        layout.first_line_indent = Pt(0)
        layout.left_indent = layout.right_indent = Pt(0)
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            layout.right_indent = Pt(14)
        else:
            layout.left_indent = Pt(14)
        paragraph.add_run("— ")
        add_page_number(paragraph)
        paragraph.add_run(" —")
        for run in paragraph._p.iter(qn("w:r")):
            properties = run.find(qn("w:rPr"))
            if properties is None:
                properties = OxmlElement("w:rPr")
                run.insert(0, properties)
            fonts = OxmlElement("w:rFonts")
            for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
                fonts.set(qn(attribute), "宋体")
            size = OxmlElement("w:sz")
            size.set(qn("w:val"), str(2 * SIZE_4))
            properties.append(fonts)
            properties.append(size)


def red_rule(paragraph) -> None:  # type: ignore[no-untyped-def]
    """The red separation line under the 发文字号: a bottom border of the paragraph."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "12"), ("space", "8"), ("color", "E60012")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def attachment(doc, para) -> None:  # type: ignore[no-untyped-def]
    """附件 on a page of its own: a table whose rows come from a list, with a title row across
    all columns and the 類別 column merged down over equal values, then a rich-text 備註."""
    heading = para("附件", "Heading 1", indent=False)
    heading.paragraph_format.page_break_before = True
    table = doc.add_table(rows=7, cols=3)
    table.style = "Table Grid"
    title = table.cell(0, 0).merge(table.cell(0, 2))  # merged across the three columns
    title.text = "報送材料清單"
    title.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    rows = [
        ("類別", "材料名稱", "份數"),
        ("{%tr for group in materials %}", "", ""),
        ("{%tr for item in group['items'] %}", "", ""),
        # {% vm %}: the category cell is merged down over its group's rows.
        ("{% vm %}{{ group.category }}", "{{ item.name }}", "{{ item.copies }}"),
        ("{%tr endfor %}", "", ""),
        ("{%tr endfor %}", "", ""),
    ]
    for row, texts in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    widths = (Mm(35), Mm(95), Mm(25))  # the grid LibreOffice lays out by, and each cell
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows[1:]:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for row in table.rows:
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.first_line_indent = Pt(0)
    para("")
    para("{{r remark }}", indent=False)


def build() -> None:
    doc = Document()
    page_setup(doc)
    traditional_chinese(doc)
    styles(doc)
    page_numbers(doc)

    def para(text: str, style: str | None = None, align=None, indent=True):  # type: ignore[no-untyped-def]
        p = doc.add_paragraph(text, style=style)
        if align is not None:
            p.alignment = align
        if not indent:
            p.paragraph_format.first_line_indent = Pt(0)
        return p

    issuer = para("{{ issuer }}文件", "Title")
    issuer.runs[0].font.color.rgb = RED
    issuer.runs[0].font.size = Pt(30)
    para("")
    number = para("{{ doc_number }}", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    red_rule(number)
    para("")
    para("{{ title }}", "Title")
    para("")
    para("{{ recipient }}：", indent=False)
    para("{%p for text in opening %}")
    para("{{ text }}")
    para("{%p endfor %}")
    para('{%p set cn = "一二三四五六七八九十" %}')
    para("{%p for section in sections %}")
    para("{{ cn[loop.index0] }}、{{ section.heading }}", "Heading 1")
    para("{%p for text in section.paragraphs %}")
    para("{{ text }}")
    para("{%p endfor %}")
    para("{%p for point in section.points %}")
    p = para("（{{ cn[loop.index0] }}）{{ point.heading }}。", "Heading 2")
    body_run = p.add_run("{{ point.text }}")  # the point's text in the body face
    body_run.font.name = "仿宋_GB2312"
    body_run._r.get_or_add_rPr().find(qn("w:rFonts")).set(qn("w:eastAsia"), "仿宋_GB2312")
    para("{%p endfor %}")
    para("{%p endfor %}")
    para("{%p for text in closing %}")
    para("{{ text }}")
    para("{%p endfor %}")
    para("")
    para("{{ signer }}", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    para("{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    attachment(doc, para)
    doc.core_properties.title = "公文样例"
    doc.save(HERE / "gongwen.docx")


SAMPLE = {
    "issuer": "沙灣縣民族宗教事務局",
    "doc_number": "沙民宗發〔2026〕12號",
    "title": "關於開展民族團結進步創建示範單位評選工作的通知",
    "recipient": "各鄉鎮人民政府，縣直各有關單位",
    "opening": [
        "為深入貫徹落實鑄牢中華民族共同體意識的工作要求，進一步鞏固和發展平等團結互助和諧的"
        "社會主義民族關係，經研究，決定在全縣開展民族團結進步創建示範單位評選工作。現將有關"
        "事項通知如下。",
    ],
    "sections": [
        {
            "heading": "總體要求",
            "paragraphs": [
                "堅持以鑄牢中華民族共同體意識為主線，推動民族團結進步創建工作進機關、進企業、"
                "進社區、進鄉鎮、進學校、進連隊、進宗教活動場所，著力營造各民族共居共學共建"
                "共事共樂的社會環境。",
            ],
            "points": [
                {
                    "heading": "堅持問題導向",
                    "text": "聚焦群眾急難愁盼問題，把創建工作與基層治理"
                    "結合起來，做到創建過程群眾參與、創建成效群眾評判。",
                },
                {
                    "heading": "堅持示範引領",
                    "text": "突出典型培育，每個鄉鎮至少推薦一個創建示範"
                    "單位，以點帶面推動全縣創建工作整體提升。",
                },
            ],
        },
        {
            "heading": "評選範圍和條件",
            "paragraphs": [
                "評選範圍為全縣各級黨政機關、企事業單位、學校、社區和宗教活動場所。申報單位須"
                "近三年未發生影響民族團結的事件，創建工作機制健全，檔案資料齊全，群眾滿意度高。",
            ],
            "points": [
                {
                    "heading": "組織領導有力",
                    "text": "成立創建工作領導小組，主要負責同志親自抓，"
                    "分管負責同志具體抓，形成一級抓一級、層層抓落實的工作格局。",
                },
            ],
        },
        {
            "heading": "工作步驟",
            "paragraphs": [
                "各單位於2026年12月15日前完成自查自評並報送申報材料；縣創建辦於12月底前組織"
                "實地考評，結果經公示無異議後予以命名。",
            ],
            "points": [],
        },
    ],
    "closing": ["請各單位高度重視，認真組織，按時報送材料。"],
    "signer": "沙灣縣民族宗教事務局",
    "date": "2026年11月29日",
    "materials": [
        {
            "category": "申報材料",
            "items": [
                {"name": "創建示範單位申報表", "copies": 2},
                {"name": "創建工作總結", "copies": 1},
            ],
        },
        {
            "category": "佐證材料",
            "items": [
                {"name": "活動照片及說明", "copies": 1},
                {"name": "群眾滿意度測評表", "copies": 1},
            ],
        },
    ],
    "remark": {
        "type": "rich",
        "runs": [
            {"text": "備註：", "bold": True},
            "申報材料須加蓋單位公章，",
            {"text": "逾期不予受理", "bold": True, "color": "E60012"},
            "。",
        ],
    },
}


def main() -> None:
    build()
    job = {"template": "TEMPLATE_ID", "documents": [{"data": SAMPLE, "name": "{{ doc_number }}"}]}
    (HERE / "gongwen-job.json").write_text(json.dumps(job, ensure_ascii=False, indent=2) + "\n")
    # The same data as a data file (one row), for `docrender submit` and multipart jobs.
    (HERE / "gongwen.json").write_text(json.dumps([SAMPLE], ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
