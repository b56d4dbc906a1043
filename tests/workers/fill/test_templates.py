"""A template opened once per worker process and copied per document: filling documents
through every step that writes styles leaves the template as it was opened, and each
document's styles are its own where they differ."""

from __future__ import annotations

import io

import docx
from docx.enum.style import WD_STYLE_TYPE
from lxml import etree

from docrender.fonts.substitutes import Script
from docrender.fonts.template import default_script
from docrender.templates.tags import open_template
from tests.helpers.documents import make_docx
from workers.fill import templates
from workers.fill.render import fill_template, prepare_for_readers, settle_language


def annex_with_a_style_of_its_own() -> bytes:
    document = docx.Document()
    document.styles.add_style("附件標題", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("附件1", style="附件標題")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def styles_of(document: docx.document.Document) -> bytes:
    return etree.tostring(document.styles.element)


def test_filling_documents_never_writes_the_template_they_share() -> None:
    template = make_docx("關於{{ unit }}的通知", "{{p annex }}")
    fresh = styles_of(open_template(template).docx)
    annex = annex_with_a_style_of_its_own()

    def fill(unit: str, with_annex: bool = False, language: str = "") -> docx.document.Document:
        data = {"unit": unit, "annex": {"type": "docx", "file": "annex.docx"} if with_annex else ""}
        return fill_template(template, data, language=language, read_file=lambda name: annex)

    plain = fill("沙湾县第一中学")
    traditional = fill("沙灣縣第二中學")
    settle_language(plain, None)
    settle_language(traditional, None)  # the text's forms become the default language
    other_traditional = fill("阜康市第二中學")
    settle_language(other_traditional, None)
    with_annex = fill("甲", with_annex=True)  # the annex's style merged in
    readable = fill("沙湾县第三中学")
    prepare_for_readers(readable, "第三中學", "zh-Hans")  # the language PDF/UA declares
    by_job = fill("乙", language="zh-TW")  # the job's language

    opened = templates._OPENED[next(reversed(templates._OPENED))]
    assert etree.tostring(opened.template.styles.element) == fresh
    assert styles_of(plain) == fresh
    assert default_script(traditional.styles.element) is Script.TRADITIONAL
    assert default_script(by_job.styles.element) is Script.TRADITIONAL
    # Documents settled to the same forms share one copy of the settled styles.
    assert traditional.styles.element is other_traditional.styles.element
    assert "附件標題" in {style.name for style in with_annex.styles}
    assert styles_of(readable) != fresh
    for document in (traditional, with_annex, readable, by_job):
        assert document.styles.element is not opened.styles
