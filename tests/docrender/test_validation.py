from __future__ import annotations

import pytest

from docrender.errors import MissingVariables, WrongShape
from docrender.validation import check_documents

LOOPS = ["honours", "sections", "sections[].points"]
VARIABLES = ["honours", "sections", "unit"]


def test_good_data_passes() -> None:
    check_documents(VARIABLES, LOOPS, [
        {"unit": "a", "honours": [], "sections": [{"points": []}, {"heading": "no points"}]},
    ])  # fmt: skip


def test_every_missing_name_and_wrong_shape_of_every_document_at_once() -> None:
    documents = [
        {"unit": "ok", "honours": ["x"], "sections": []},
        {"honours": "平安校園", "sections": [{"points": []}, {"points": "一、二"}]},
        {"unit": "c", "honours": {"a": 1}, "sections": 3},
    ]
    with pytest.raises(MissingVariables) as caught:
        check_documents(VARIABLES, LOOPS, documents)
    assert caught.value.details == [
        {"document": 1, "missing": ["unit"], "wrong_shape": [
            {"variable": "honours", "expected": "list", "got": "text"},
            {"variable": "sections[1].points", "expected": "list", "got": "text"},
        ]},
        {"document": 2, "missing": [], "wrong_shape": [
            {"variable": "honours", "expected": "list", "got": "object"},
            {"variable": "sections", "expected": "list", "got": "number"},
        ]},
    ]  # fmt: skip


def test_only_shape_problems_have_their_own_code() -> None:
    with pytest.raises(WrongShape, match="wrong shape"):
        check_documents(["items"], ["items"], [{"items": 5}])
