"""Rich text from the data: formatted runs, every property checked before docxtpl writes it."""

from __future__ import annotations

import pytest

from docrender.errors import RenderFailed
from workers.rich_text import rich_text


def test_runs_carry_their_formatting_and_breaks() -> None:
    text = rich_text({"type": "rich", "runs": [
        "普通，", {"text": "重點", "bold": True, "color": "#C00000", "size": 16},
        {"text": "甲\n乙", "font": "楷体_GB2312"}]}, "remark").xml  # fmt: skip
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
        rich_text({"type": "rich", "runs": runs}, "notes[1]")


def test_markup_in_text_is_text() -> None:
    assert "&lt;w:b/&gt;" in rich_text({"type": "rich", "runs": ["<w:b/>"]}, "x").xml
