"""Combining documents into one conversion: which filled documents qualify, and, against a real
LibreOffice, that each document cut from a combined PDF reads exactly like the same document
converted alone (pages, text, its own footer and page numbers, its own title)."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

import docx
import pikepdf
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docxtpl import DocxTemplate, RichText
from pypdf import PdfReader

from tests.helpers.documents import make_docx
from tests.helpers.pdf import (
    glyphs_held_and_drawn,
    pdf_fonts,
    pdf_text,
    recoverable,
    renderings,
    squash,
)
from workers.convert import batching
from workers.convert.converter import UnoserverConverter
from workers.fill.render import docx_bytes, fill_template, settle_language
from workers.pdf import separation, shown


def filled(template: bytes, data: dict[str, Any]) -> docx.document.Document:
    return fill_template(template, data)


def cut_apart(pdf: bytes, documents: list[docx.document.Document]) -> list[bytes]:
    """``batching.split`` where every document is expected to be cut (none left to convert
    alone)."""
    parts = [cut.pdf for cut in batching.split(pdf, documents)]
    assert None not in parts, "a document was left to convert alone"
    return [part for part in parts if part is not None]


def with_field(instruction: str) -> bytes:
    document = docx.Document()
    paragraph = document.add_paragraph("{{ unit }} ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    paragraph._p.append(field)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_plain_template_with_bullets_and_page_numbers_qualifies() -> None:
    assert batching.batchable(filled(with_field("PAGE"), {"unit": "甲"}))
    bullets = docx.Document()
    bullets.add_paragraph("{{ unit }}", style="List Bullet")
    assert batching.batchable(filled(_saved(bullets), {"unit": "甲"}))


@pytest.mark.parametrize(
    "why, template",
    [
        ("NUMPAGES counts the whole combined document", with_field("NUMPAGES")),
        ("a table of contents spans documents", with_field('TOC \\o "1-3"')),
        ("a numbered list would count on", None),
        ("two sections", None),
        ("a bookmark's name would repeat", None),
    ],
)
def test_templates_that_would_read_differently_combined_do_not_qualify(
    why: str, template: bytes | None
) -> None:
    if template is None:
        document = docx.Document()
        document.add_paragraph("{{ unit }}")
        if why.startswith("a numbered list"):
            document.add_paragraph("第一條", style="List Number")
        elif why == "two sections":
            document.add_section()
            document.add_paragraph("附件")
        else:
            start = OxmlElement("w:bookmarkStart")
            start.set(qn("w:id"), "1")
            start.set(qn("w:name"), "附件一")
            document.paragraphs[0]._p.append(start)
        template = _saved(document)
    assert not batching.batchable(filled(template, {"unit": "甲"})), why


def numbered_through_styles(how: str) -> bytes:
    """A template whose list numbering a paragraph gets not from its own properties."""
    document = docx.Document()
    numbered = document.styles["List Number"]
    if how == "a style based on a numbered style":
        clause = document.styles.add_style("條款", WD_STYLE_TYPE.PARAGRAPH)
        clause.base_style = numbered
        document.add_paragraph("第一條 {{ unit }}", style=clause)
    elif how == "a numbered default paragraph style":
        numbering = numbered.element.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
        document.styles["Normal"].element.get_or_add_pPr().append(copy.deepcopy(numbering))
        document.add_paragraph("{{ unit }}")
    else:  # a numbering definition another editor wrote without its abstractNumId
        document.add_paragraph("{{ unit }}", style=numbered)
        for num in document.part.numbering_part.element.iter(qn("w:num")):
            num.remove(num.find(qn("w:abstractNumId")))
    return _saved(document)


@pytest.mark.parametrize(
    "how",
    [
        "a style based on a numbered style",
        "a numbered default paragraph style",
        "a numbering without abstractNumId",
    ],
)
def test_numbering_from_styles_keeps_a_document_out_of_combined_conversions(how: str) -> None:
    """Combined, the second report's 一、 would print as 二、 (and a numbering that cannot be
    read must not fail the documents: they convert alone)."""
    assert not batching.batchable(filled(numbered_through_styles(how), {"unit": "甲"})), how


def test_documents_whose_data_added_relationships_do_not_combine() -> None:
    template = make_docx("{{ unit }}{{ link }}")
    plain = filled(template, {"unit": "甲", "link": ""})
    assert batching.compatible(plain, filled(template, {"unit": "乙", "link": ""}))
    # A hyperlink made from the data adds a relationship the first document does not have.
    linked = DocxTemplate(io.BytesIO(template))
    link = RichText("網站", url_id=linked.build_url_id("https://example.org"))
    linked.render({"unit": "乙", "link": link})
    assert not batching.compatible(plain, linked.docx)


def test_documents_settled_to_different_chinese_forms_do_not_combine() -> None:
    template = make_docx("{{ unit }}")
    hant = filled(template, {"unit": "阜康市第二中學"})
    hans = filled(template, {"unit": "阜康市第二中学"})
    assert settle_language(hant, None) == "zh-Hant" and settle_language(hans, None) == "zh-Hans"
    assert not batching.compatible(hant, hans)
    other_hant = filled(template, {"unit": "沙灣縣第五小學"})
    settle_language(other_hant, None)
    assert batching.compatible(hant, other_hant)


@dataclass(frozen=True)
class Reports:
    data: list[dict[str, Any]]
    alone: list[bytes]  # each converted alone
    combined: bytes  # all converted as one document


@pytest.fixture(scope="module")
def reports(
    converter: UnoserverConverter, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> Reports:
    data = [document["data"] for document in sample_documents]
    alone = [converter.convert(docx_bytes(filled(sample_template, d)), "pdf") for d in data]
    documents = [filled(sample_template, d) for d in data]
    assert all(batching.batchable(d) for d in documents)
    combined = converter.convert(
        docx_bytes(batching.combine(documents)), "pdf", batching.SPLIT_FILTER_OPTIONS
    )
    return Reports(data, alone, combined)


def test_the_quick_reader_reads_every_libreoffice_page_as_the_parser_does(
    reports: Reports,
) -> None:
    """workers/pdf/shown.py's quick reader takes every page of a combined conversion (it is
    what keeps the cut cheap) and finds what pikepdf's parser finds on them."""
    with pikepdf.open(io.BytesIO(reports.combined)) as pdf:
        for page in pdf.pages:
            fonts = set(page.obj.Resources.get("/Font", {}).keys())
            contents = page.obj.Contents
            data = b"\n".join(
                stream.read_bytes()
                for stream in (contents if isinstance(contents, pikepdf.Array) else [contents])
            )
            quick = shown._quick_uses(data, fonts)
            assert quick is not None, f"page {page.index} went to the parser"
            parsed = shown._parsed_uses(page, fonts)
            assert quick.codes == parsed.codes and quick.codes
            assert quick.names == parsed.names


def test_each_report_cut_from_a_combined_pdf_reads_like_the_report_alone(
    reports: Reports, sample_template: bytes
) -> None:
    data, alone = reports.data, reports.alone
    parts = cut_apart(reports.combined, [filled(sample_template, d) for d in data])

    for one, part, unit in zip(alone, parts, data, strict=True):
        single, cut = PdfReader(io.BytesIO(one)), PdfReader(io.BytesIO(part))
        assert len(cut.pages) == len(single.pages)
        assert squash(pdf_text(part)) == squash(pdf_text(one))
        # Its own footer on every page, numbered from 1 (not the first document's footer).
        for number, page in enumerate(cut.pages, start=1):
            assert squash(f"{unit['unit']}·第{number}頁") in squash(page.extract_text())
        assert cut.metadata is not None and single.metadata is not None
        assert cut.metadata.title == single.metadata.title == unit["title"]
        assert cut.pdf_header == single.pdf_header  # the PDF version LibreOffice wrote
        assert [o.title for o in cut.outline if not isinstance(o, list)] == [
            o.title for o in single.outline if not isinstance(o, list)
        ]
        assert not cut.named_destinations, "the cut markers stay out of the documents"


def test_each_cut_report_carries_only_its_own_glyphs_and_draws_the_same(
    reports: Reports, sample_template: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = [filled(sample_template, d) for d in reports.data]
    parts = cut_apart(reports.combined, documents)
    # The same cut with the fonts LibreOffice made for the whole group, shared.
    monkeypatch.setattr(separation, "separate", lambda _pdf, ranges: [True] * len(ranges))
    shared = cut_apart(reports.combined, documents)

    alone_weight = sum(map(len, reports.alone))
    assert sum(map(len, shared)) > 1.4 * alone_weight  # what there is to win here
    assert sum(map(len, parts)) <= 1.1 * alone_weight
    for part, whole, one in zip(parts, shared, reports.alone, strict=True):
        assert len(part) < len(whole)
        # Every glyph drawn as before, by FreeType (poppler) and by Ghostscript's own reader.
        assert renderings(part) == renderings(whole)
        assert renderings(part, "ghostscript") == renderings(whole, "ghostscript")
        assert squash(pdf_text(part)) == squash(pdf_text(one))
        fonts = pdf_fonts(part)
        assert all(font["emb"] == "yes" and font["uni"] == "yes" for font in fonts)
        # No font of the group that the report does not draw with.
        assert {f["name"] for f in fonts} <= {f["name"] for f in pdf_fonts(whole)}
        assert len(fonts) < len(pdf_fonts(whole)) or len(part) < 0.8 * len(whole)


def test_no_character_only_another_document_prints_can_be_recovered_from_a_cut_document(
    converter: UnoserverConverter,
) -> None:
    template = make_docx(
        "报告 {{ unit }} Report {{ latin }}", "名单 {{ secret }}", footer="{{ unit }}·第1页"
    )
    data = [
        {"unit": f"单位{n}", "latin": latin, "secret": secret}
        for n, (latin, secret) in enumerate(
            [
                ("alpha", "绝密名单张三丰李四光"),
                ("Bravo QXZ", "王五赵六钱七孙八"),
                ("charlie", "周吴郑"),
                ("delta 9", "冯陈褚卫"),
                ("echo", "蒋沈韩杨"),
                ("foxtrot", "朱秦尤许"),
            ]
        )
    ]
    combined = converter.convert(
        docx_bytes(batching.combine([filled(template, d) for d in data])),
        "pdf",
        batching.SPLIT_FILTER_OPTIONS,
    )
    parts = cut_apart(combined, [filled(template, d) for d in data])  # LibreOffice's fonts separate
    printed = [set(squash(pdf_text(part))) for part in parts]
    for index, part in enumerate(parts):
        others = set().union(*printed[:index], *printed[index + 1 :]) - printed[index]
        assert {"张", "王"} & others, "the documents print different names"
        assert not recoverable(part, "".join(others))
        for font, held, drawn in glyphs_held_and_drawn(part):
            assert held <= drawn, f"{font} holds glyphs the document does not draw"


def test_a_document_whose_fonts_cannot_be_separated_is_not_cut(
    reports: Reports, sample_template: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def second_fails(combined: Any, ranges: list[range]) -> list[bool]:
        separated = real(combined, ranges)
        return [own and index != 1 for index, own in enumerate(separated)]

    real = separation.separate
    monkeypatch.setattr(separation, "separate", second_fails)
    cuts = batching.split(reports.combined, [filled(sample_template, d) for d in reports.data])
    parts = [cut.pdf for cut in cuts]
    assert parts[1] is None
    for part, one in [*zip(parts, reports.alone, strict=True)][2:]:
        assert part is not None
        assert squash(pdf_text(part)) == squash(pdf_text(one))


def test_a_document_that_opens_with_a_table_is_cut_at_its_table(
    converter: UnoserverConverter,
) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "單位", "{{ unit }}"
    document.add_paragraph("第一頁")
    document.add_page_break()
    document.add_paragraph("第二頁 {{ unit }}")
    template = _saved(document)
    units = ["甲校", "乙校", "丙校"]
    combined = converter.convert(
        docx_bytes(batching.combine([filled(template, {"unit": u}) for u in units])),
        "pdf",
        batching.SPLIT_FILTER_OPTIONS,
    )
    parts = cut_apart(combined, [filled(template, {"unit": u}) for u in units])
    for unit, part in zip(units, parts, strict=True):
        reader = PdfReader(io.BytesIO(part))
        assert len(reader.pages) == 2
        assert squash(reader.pages[0].extract_text()).startswith(f"單位{unit}")
        assert squash(f"第二頁{unit}") in squash(reader.pages[1].extract_text())


def _saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
