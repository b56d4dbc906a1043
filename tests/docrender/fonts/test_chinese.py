"""Which script a text is written in, and Chinese typography for pasted text."""

from __future__ import annotations

import pytest

from docrender.fonts.chinese import typeset, written_script
from docrender.fonts.substitutes import Script


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("為深入貫徹落實鑄牢中華民族共同體意識", Script.TRADITIONAL),
        ("为深入贯彻落实铸牢中华民族共同体意识", Script.SIMPLIFIED),
        ("人口中大", None),  # the same in both scripts: says nothing
        ("Annual report 2026", None),
        ("沙灣縣 干部 后", None),  # as many of each: undecided
    ],
)
def test_the_script_a_text_is_written_in(text: str, script: Script | None) -> None:
    assert written_script(text) is script


@pytest.mark.parametrize(
    ("pasted", "typeset_text"),
    [
        ("漢語教學班,共12人;其中男生5人", "漢語教學班，共12人；其中男生5人"),
        ("漢語 教 學班", "漢語教學班"),
        ("年齡:25,身高?不詳!", "年齡：25，身高？不詳！"),
        ("張三(男)和李四", "張三（男）和李四"),
        ("(備註)無", "（備註）無"),
        ('他說"好的"然後', "他說“好的”然後"),
        ("他說'好'", "他說‘好’"),
        # Never numbers, Latin words or links.
        ("金額1,234元,時間3:30", "金額1,234元，時間3:30"),
        ("Hello, world 你好", "Hello, world 你好"),
        ("f(x) 函數", "f(x) 函數"),
        ("Word 文檔", "Word 文檔"),
        ("請訪問 https://a.cn/x?a=1,2 查看", "請訪問 https://a.cn/x?a=1,2 查看"),
        ('say "hi", then', 'say "hi", then'),
    ],
)
def test_typeset(pasted: str, typeset_text: str) -> None:
    assert typeset(pasted) == typeset_text
