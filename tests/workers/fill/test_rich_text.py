"""Rich text from the data: formatted runs, every property checked before docxtpl writes it."""

from __future__ import annotations

import pytest

from docrender.errors import RenderFailed
from docrender.templates.tags import open_template
from tests.helpers.documents import make_docx
from workers.fill.rich_text import rich_text

TEMPLATE = make_docx("{{r remark }}")


def rich(runs: list[object], path: str = "remark") -> str:
    return rich_text({"type": "rich", "runs": runs}, path, open_template(TEMPLATE)).xml


def test_runs_carry_their_formatting_and_breaks() -> None:
    text = rich(
        [
            "普通，",
            {"text": "重點", "bold": True, "color": "#C00000", "size": 16},
            {"text": "甲\n乙", "font": "楷体_GB2312"},
        ]
    )
    assert "<w:b/>" in text and '<w:color w:val="C00000"/>' in text
    assert '<w:sz w:val="32"/>' in text  # 16 pt in half-points
    assert 'w:ascii="楷体_GB2312"' in text and "普通，" in text


@pytest.mark.parametrize(
    "runs",
    [
        [{"text": "x", "color": "red"}],  # not RRGGBB
        [{"text": "x", "font": 'A"/><w:hack/>'}],  # would break out of the XML attribute
        [{"text": "x", "shadow": True}],  # unknown property
        [{"text": "x", "bold": "yes"}],
        [{"text": "x", "size": 0}],
        [],
    ],
)
def test_invalid_runs_fail_with_where_and_why(runs: list[object]) -> None:
    with pytest.raises(RenderFailed, match=r"The rich text at notes\[1\] is not valid"):
        rich(runs, "notes[1]")


def test_markup_in_text_is_text() -> None:
    assert "&lt;w:b/&gt;" in rich(["<w:b/>"])


def test_a_font_names_the_chinese_face_too_and_docxtpls_spelling_works() -> None:
    assert 'w:eastAsia="楷体"' in rich([{"text": "重點", "font": "楷体"}])
    assert 'w:ascii="楷体"' in rich([{"text": "重點", "font": "楷体"}])
    assert 'w:eastAsia="楷体"' in rich([{"text": "重點", "font": "eastAsia:楷体"}])


def test_styles_underline_kinds_and_links() -> None:
    xml = rich(
        [
            {"text": "要", "style": "Strong"},
            {"text": "波", "underline": "wave"},
            {"text": "網站", "url": "https://example.org/a?b=1&c=2"},
        ]
    )
    assert '<w:rStyle w:val="Strong"/>' in xml  # python-docx's template has "Strong"
    assert '<w:u w:val="wave"/>' in xml
    assert "<w:hyperlink r:id=" in xml


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"text": "x", "style": "No Such Style"}, "no character style of; it has: .*Strong"),
        ({"text": "x", "url": "javascript:alert(1)"}, r"not valid: runs\[0\]\.url"),
        ({"text": "x", "underline": "zigzag"}, r"not valid: runs\[0\]\.underline"),
        ({"text": "x", "font": "evil:楷体"}, r"not valid: runs\[0\]\.font"),
    ],
)
def test_bad_styles_links_and_underlines_say_what_is_wrong(run: object, message: str) -> None:
    with pytest.raises(RenderFailed, match=message):
        rich([run])
