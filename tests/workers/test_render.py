from __future__ import annotations

import io

import docx
import pytest

from docrender.errors import RenderFailed
from tests.helpers import make_docx
from workers.render import render_docx


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
