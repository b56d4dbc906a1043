from __future__ import annotations

from typing import Any

import pytest

from docrender.data.validation import check_documents
from docrender.errors import MissingVariables, WrongShape
from docrender.templates.tags import TemplateInspection

LOOPS = ["honours", "sections", "sections[].points"]
VARIABLES = ["honours", "sections", "unit"]
NEEDS = TemplateInspection(VARIABLES, LOOPS)


def test_good_data_passes() -> None:
    check_documents(
        NEEDS,
        [
            {"unit": "a", "honours": [], "sections": [{"points": []}, {"heading": "no points"}]},
        ],
    )


def test_every_missing_name_and_wrong_shape_of_every_document_at_once() -> None:
    documents: list[dict[str, Any]] = [
        {"unit": "ok", "honours": ["x"], "sections": []},
        {"honours": "平安校園", "sections": [{"points": []}, {"points": "一、二"}]},
        {"unit": "c", "honours": {"a": 1}, "sections": 3},
    ]
    with pytest.raises(MissingVariables) as caught:
        check_documents(NEEDS, documents)
    assert caught.value.details == [
        {
            "document": 1,
            "missing": ["unit"],
            "wrong_shape": [
                {"variable": "honours", "expected": "list", "got": "text"},
                {"variable": "sections[1].points", "expected": "list", "got": "text"},
            ],
        },
        {
            "document": 2,
            "missing": [],
            "wrong_shape": [
                {"variable": "honours", "expected": "list", "got": "object"},
                {"variable": "sections", "expected": "list", "got": "number"},
            ],
        },
    ]


def test_only_shape_problems_have_their_own_code() -> None:
    with pytest.raises(WrongShape, match="wrong shape"):
        check_documents(TemplateInspection(["items"], ["items"]), [{"items": 5}])


def test_names_the_template_guards_are_optional() -> None:
    needs = TemplateInspection(["note", "unit"], [], optional=["note"])
    check_documents(needs, [{"unit": "a"}])  # no "note": the template says what then
    with pytest.raises(MissingVariables):
        check_documents(needs, [{"note": "x"}])


def test_a_plain_value_for_a_rich_or_paragraph_tag_is_the_wrong_shape() -> None:
    needs = TemplateInspection(["annex", "remark"], [], kinds={"remark": "r", "annex": "p"})
    rich = {"type": "rich", "runs": ["x"]}
    check_documents(needs, [{"remark": rich, "annex": {"type": "docx", "file": "a.docx"}}])
    with pytest.raises(WrongShape) as caught:
        check_documents(needs, [{"remark": "重點", "annex": "見附件"}])
    shapes = caught.value.details[0]["wrong_shape"]
    assert [(s["variable"], s["got"]) for s in shapes] == [("remark", "text"), ("annex", "text")]
    assert "{{r }}" in shapes[0]["expected"] and "sub-document" in shapes[1]["expected"]


def test_rich_text_or_a_sub_document_in_a_plain_tag_is_refused_naming_the_tag_it_needs() -> None:
    """A plain {{ remark }} prints text: rich text or a sub-document there printed nothing."""
    needs = TemplateInspection(["annex", "remark", "unit"], [], plain=["annex", "remark", "unit"])
    documents: list[dict[str, Any]] = [
        {"unit": "甲", "remark": "好", "annex": "無"},
        {
            "unit": "乙",
            "remark": {"type": "rich", "runs": ["重點"]},
            "annex": {"type": "docx", "file": "annex.docx"},
        },
    ]
    with pytest.raises(WrongShape) as caught:
        check_documents(needs, documents)
    shapes = caught.value.details[0]["wrong_shape"]
    assert sorted(shape["variable"] for shape in shapes) == ["annex", "remark"]
    assert all("{{r }}" in shape["expected"] for shape in shapes)
    assert "{{p }}" in caught.value.text.render("en")
