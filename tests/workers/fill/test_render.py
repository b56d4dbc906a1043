from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest

from docrender.errors import RenderFailed
from tests.helpers.documents import make_docx
from workers.fill.render import conversion_bytes, docx_bytes, fill_template

FIXTURES = Path(__file__).parents[2] / "fixtures"


def render_docx(template: bytes, data: dict[str, Any], timeout_seconds: float = 30) -> bytes:
    """The filled DOCX, as the render task makes it before converting."""
    return docx_bytes(fill_template(template, data, timeout_seconds))


def text_of(document: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(document)).paragraphs)


def test_fills_values_and_loops() -> None:
    template = make_docx("{{ unit }}", "{%p for h in honours %}", "- {{ h }}", "{%p endfor %}")
    out = render_docx(template, {"unit": "沙灣五小", "honours": ["平安校園", "先進集體"]})
    assert text_of(out).split("\n") == ["沙灣五小", "- 平安校園", "- 先進集體"]


def test_markup_in_data_is_text_not_xml() -> None:
    value = 'A & B <c> </w:t></w:r></w:p> "q"'
    out = render_docx(make_docx("{{ v }}"), {"v": value})
    assert text_of(out) == value  # the DOCX parsed, and the value reads back literally


@pytest.mark.parametrize(
    "tag",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    ],
)
def test_sandbox_refuses_python_internals(tag: str) -> None:
    with pytest.raises(RenderFailed, match="sandbox forbids"):
        render_docx(make_docx(tag), {})


def test_unsafe_attribute_of_data_renders_nothing() -> None:
    out = render_docx(make_docx("[{{ unit.__class__ }}]"), {"unit": "x"})
    assert text_of(out) == "[]"


def test_missing_values_render_empty() -> None:
    out = render_docx(make_docx("[{{ unit }}][{{ basic.students }}]"), {})
    assert text_of(out) == "[][]"


def test_data_of_the_wrong_shape_is_a_render_failure() -> None:
    template = make_docx("{%p for s in sections %}", "{{ s.heading }}", "{%p endfor %}")
    with pytest.raises(RenderFailed, match="not iterable"):
        render_docx(template, {"sections": 5})


@pytest.mark.parametrize(
    ("tag", "hint"),
    [
        ('{{ day.strftime("%Y年") }}', '{{ day|date("%Y年%-m月%-d日") }}'),
        ("{% for k, v in scores.iteritems() %}{{ k }}{% endfor %}", "scores.items()"),
    ],
)
def test_a_python_habit_the_data_cannot_serve_says_what_to_write(tag: str, hint: str) -> None:
    """docxtpl templates written for Python data call .strftime on dates and iteritems() on
    dicts; JSON and sheets give text and plain objects."""
    with pytest.raises(RenderFailed) as failed:
        render_docx(make_docx(tag), {"day": "2012-05-01", "scores": {"甲": 1}})
    assert hint in failed.value.text.render("en")
    assert "請改" in failed.value.text.render("zh-Hant")


def test_a_value_a_filter_cannot_read_is_named_by_its_column_with_what_to_type() -> None:
    """The clerk's sentence names the cell (its column, as the sheet's header says it) and
    what to type there; the template's tag, part and paragraph stay in the details, for the
    template's author. A date typed as text the way people type dates is a date."""
    template = make_docx(
        '{{ unit }} 填報日期：{{ day|date("%Y年%-m月%-d日") }}',
        "{%p for f in facts %}",
        "{{ f.item }}：{{ f.value|thousands }}",
        "{%p endfor %}",
    )
    good = {"unit": "甲", "day": "2012年5月1日", "facts": [{"item": "人數", "value": 12}]}
    assert "填報日期：2012年5月1日" in text_of(render_docx(template, good))
    with pytest.raises(RenderFailed) as failed:
        render_docx(template, {**good, "day": "2012年5月"})
    assert failed.value.text.render("zh-Hant") == (
        "「day」：「2012年5月」不是日期，請填寫如 2012/5/1 或 2012年5月1日 的日期。"
    )
    assert failed.value.details["column"] == "day"
    assert failed.value.details["value"] == "2012年5月"
    assert (
        "date" in failed.value.details["tag"]
        and failed.value.details["part"] == "word/document.xml"
    )
    facts = [{"item": "人數", "value": 12}, {"item": "經費", "value": "約三萬"}]
    with pytest.raises(RenderFailed) as failed:
        render_docx(template, {**good, "facts": facts})
    assert failed.value.details["column"] == "facts.2.value"
    assert "不是數字" in failed.value.text.render("zh-Hant")


INJECTION = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def test_injection_in_header_footnote_and_properties_runs_nothing() -> None:
    import zipfile

    import docx as python_docx

    header = python_docx.Document()
    header.add_paragraph("{{ unit }}")
    header.sections[0].header.paragraphs[0].text = INJECTION
    properties = python_docx.Document()
    properties.add_paragraph("{{ unit }}")
    properties.core_properties.title = INJECTION
    templates = []
    for document in (header, properties):
        saved = io.BytesIO()
        document.save(saved)
        templates.append(saved.getvalue())
    # The footnote reads {{ cycler.__init__.__globals__.os }}: the sandbox renders it empty.
    templates.append((FIXTURES / "footnote-injection.docx").read_bytes())
    for template in templates:
        try:
            out = render_docx(template, {"unit": "x", "note": "N"})
        except RenderFailed as refused:
            assert "sandbox forbids" in refused.message
            continue
        archive = zipfile.ZipFile(io.BytesIO(out))
        text = "".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml"))
        assert "FOOTNOTE  N" in text  # the rest of the footnote rendered
        assert "module" not in text and "uid=" not in text and "function" not in text


@pytest.mark.parametrize(
    "tag",
    ["{{ 'x' * 1000000000 }}", "{{ [1, 2] * 900000000 }}", "{{ 10 ** 1000000 }}"],
)
def test_giant_values_are_refused_by_the_sandbox(tag: str) -> None:
    with pytest.raises(RenderFailed, match="sandbox forbids"):
        render_docx(make_docx(tag), {})


def test_runaway_loops_are_cut_off_by_the_render_timeout() -> None:
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(RenderFailed, match="took longer than 1s"):
        render_docx(make_docx(loops), {}, timeout_seconds=1)


def test_characters_xml_cannot_hold_are_dropped_and_the_docx_stays_valid() -> None:
    value = "A\x00B\x0bC\x1fD\ud800E\ufffeF\tG"
    out = render_docx(make_docx("{{ v }}"), {"v": value})
    assert text_of(out) == "ABCDEF\tG"


@pytest.mark.parametrize(
    "tag",
    [
        "{{ ('x'|center(300000000))|length }}",  # 1.2 GB in three steps, before the caps
        "{{ 'x'|indent(300000000, true) }}",
        "{{ ('x' * 900000)|replace('x', 'yy') }}",
        "{{ '%300000000d'|format(1) }}",
        "{{ ('x' * 600000, 'y' * 600000)|join }}",
    ],
)
def test_filters_that_multiply_a_value_are_capped(tag: str) -> None:
    with pytest.raises(RenderFailed, match="sandbox forbids"):
        fill_template(make_docx(tag), {})


def test_the_capped_filters_still_work_on_ordinary_values() -> None:
    tags = [
        "{{ unit|center(9) }}|",
        "{{ unit|replace('甲', '乙') }}",
        "{{ ['a', 'b']|join('-') }}",
        "{{ '%05.1f'|format(2.5) }}",
        "{{ 'ab cd'|wordwrap(2) }}",
    ]
    document = fill_template(make_docx(*tags), {"unit": "甲"})
    assert [p.text for p in document.paragraphs] == ["    甲    |", "乙", "a-b", "002.5", "ab\ncd"]


def test_the_package_handed_to_libreoffice_is_the_saved_one_stored(sample_template: bytes) -> None:
    document = fill_template(sample_template, {"unit": "阜康市第二中學", "title": "匯報"})
    saved = zipfile.ZipFile(io.BytesIO(docx_bytes(document)))
    stored = zipfile.ZipFile(io.BytesIO(conversion_bytes(document)))
    assert stored.namelist() == saved.namelist()
    assert all(stored.read(name) == saved.read(name) for name in saved.namelist())
    assert {info.compress_type for info in stored.infolist()} == {zipfile.ZIP_STORED}
    assert docx.Document(io.BytesIO(conversion_bytes(document))).paragraphs
