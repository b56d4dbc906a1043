"""Tests of docrender/data/values.py."""

from __future__ import annotations

from docrender.data.values import typeset_values


def test_typeset_values_reaches_every_text_but_images() -> None:
    image = {"type": "image", "data": "iVBORw0K,Gg==", "width": "30mm"}
    data = {"unit": "漢語 教學班", "rows": [{"note": "好,的"}], "photo": image, "n": 3}
    assert typeset_values(data) == {
        "unit": "漢語教學班",
        "rows": [{"note": "好，的"}],
        "photo": image,
        "n": 3,
    }
