"""A template opened once per worker process and copied per document: filling documents
through every step that writes styles leaves the template as it was opened, and each
document's styles are its own where they differ."""

from __future__ import annotations

import hashlib
import io
import zipfile

import docx
import pytest
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


def test_templates_kept_opened_are_bounded_by_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """One process serves every tenant: the templates it keeps opened stay within a bound of
    unpacked bytes, whoever sends them, and one larger than the bound is not kept at all."""
    small = [make_docx(f"第{i}號 {{{{ unit }}}}") for i in range(4)]
    size = templates._unpacked_size(small[0])
    monkeypatch.setattr(templates, "OPENED_MAX_BYTES", int(2.5 * size))
    monkeypatch.setattr(templates, "_OPENED", type(templates._OPENED)())
    monkeypatch.setattr(templates, "PATCHED_MAX_CHARS", 3 * len(main_part(small[0])))
    monkeypatch.setattr(templates, "_PATCHED", type(templates._PATCHED)())
    for template in small:
        fill_template(template, {"unit": "甲"})
    assert len(templates._OPENED) == 2  # the two most recent
    assert sum(opened.size for opened in templates._OPENED.values()) <= 2.5 * size
    large = make_docx("{{ unit }}" + "大" * 1_000_000)  # 3 MB of text
    assert templates._unpacked_size(large) > 2.5 * size
    assert fill_template(large, {"unit": "乙"}).paragraphs[0].text.startswith("乙大大")
    assert len(templates._OPENED) == 2
    assert templates._digest(large) not in templates._OPENED
    patched = sum(len(key) + len(value) for key, value in templates._PATCHED.items())
    assert 0 < patched <= templates.PATCHED_MAX_CHARS


def main_part(template: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(template)) as package:
        return package.read("word/document.xml").decode()


def test_a_template_is_hashed_once_for_all_the_documents_filled_from_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed = []

    def sha256(data: bytes) -> hashlib._Hash:
        hashed.append(data)
        return hashlib.new("sha256", data)

    monkeypatch.setattr(hashlib, "sha256", sha256)
    template = make_docx("{{ unit }}")
    for unit in ("甲", "乙", "丙"):
        assert fill_template(template, {"unit": unit}).paragraphs[0].text == unit
    assert len(hashed) == 1
