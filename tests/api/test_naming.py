from __future__ import annotations

import pytest

from api import naming
from api.naming import document_names
from docrender.errors import InvalidNamePattern


def test_pattern_over_each_documents_data() -> None:
    names = document_names(
        "{{ unit }}-匯報材料", [(None, {"unit": "沙灣五小"}), (None, {"unit": "二中"})]
    )
    assert names == ["沙灣五小-匯報材料", "二中-匯報材料"]


def test_a_documents_own_name_wins_and_can_be_a_pattern_too() -> None:
    names = document_names(
        "{{ unit }}", [("{{ unit }}-附件", {"unit": "甲"}), (None, {"unit": "乙"})]
    )
    assert names == ["甲-附件", "乙"]


def test_without_a_name_or_pattern_a_document_is_named_by_its_first_short_text() -> None:
    """A sheet's first text column is its unit, as a rule: 沙灣五小.pdf, not document-0.pdf.
    A value too long or on several lines to name a file is passed over; numbers are not
    text; the same unit twice gets -2; nothing left: document-<index>."""
    names = document_names(
        None,
        [
            (None, {"n": 3, "unit": " 沙灣五小 ", "head": "王"}),
            (None, {"summary": "一年來" * 30, "unit": "二中"}),
            (None, {"summary": "第一行\n第二行", "unit": "二中"}),
            (None, {"n": 5, "facts": [{"item": "甲"}]}),
            (None, {"unit": "a/b"}),
        ],
    )
    assert names == ["沙灣五小", "二中", "二中-2", "document-3", "a_b"]


def test_a_sheet_row_with_no_text_is_named_by_its_row() -> None:
    names = document_names(None, [(None, {"n": 1}), (None, {"unit": "甲"})], rows=[5, 6])
    assert names == ["row-5", "甲"]


def test_a_jobs_downloads_are_named_by_its_title_else_its_template() -> None:
    assert naming.batch_name("十二月 匯報/終稿", "經費表") == "十二月 匯報_終稿"
    assert naming.batch_name(None, "經費表") == "經費表"
    assert naming.batch_name(None, "") == ""


def test_unsafe_characters_and_duplicates() -> None:
    names = document_names(
        "{{ unit }}",
        [
            (None, {"unit": "a/b\\c:d"}),
            (None, {"unit": "A/B\\C:D"}),
            (None, {"unit": ""}),
            (None, {"unit": "x" * 300}),
            (None, {"unit": "a_b_c_d"}),
        ],
    )
    assert names == ["a_b_c_d", "A_B_C_D-2", "document-2", "x" * 240, "a_b_c_d-3"]


def test_names_fit_a_file_system_in_bytes_and_are_no_device() -> None:
    """255 bytes a name (with "-2" and ".docx" to come), counted in UTF-8: 120 Chinese
    characters are 360 bytes, so a name keeps the first 80; Windows' device names are files
    nowhere, so they are prefixed."""
    long_name, con, aux, com = document_names(
        "{{ unit }}",
        [
            (None, {"unit": "沙灣縣" * 40}),
            (None, {"unit": "CON"}),
            (None, {"unit": "aux.報告"}),
            (None, {"unit": "com1"}),
        ],
    )
    assert len(long_name.encode()) <= 240 and long_name == ("沙灣縣" * 40)[:80]
    assert (con, aux, com) == ("_CON", "_aux.報告", "_com1")


def test_values_are_not_xml_escaped_in_names() -> None:
    assert document_names("{{ unit }}", [(None, {"unit": "A & B"})]) == ["A & B"]


def test_a_broken_pattern_is_refused() -> None:
    with pytest.raises(InvalidNamePattern):
        document_names("{{ unit ", [(None, {})])


@pytest.mark.parametrize(
    "pattern",
    [
        "{{ 7**(10**8) % 10 }}",  # held a gunicorn process until its timeout
        "{{ 'x' * 50000000 }}",
        "{% for i in range(10**6) %}{% for j in range(10**6) %}{% endfor %}{% endfor %}",
        "{{ unit|center(300000000) }}",
        "{{ unit|replace('a', 'b') }}",
        "{{ range(10)|list }}",
        "{{ unit ~ " + "'x' * 300" + " }}",
        "{{ '" + "x" * 300 + "' }}",
        "{{ unit",
    ],
)
def test_name_patterns_print_values_and_compute_nothing(pattern: str) -> None:
    with pytest.raises(InvalidNamePattern, match="cannot be used"):
        document_names(pattern, [(None, {"unit": "甲"})])


def test_name_patterns_take_variables_keys_filters_and_text() -> None:
    data = {"unit": "沙灣縣第二中學", "basic": {"code": "007"}, "day": "2026-11-29"}
    pattern = (
        "{{ unit }}-{{ basic.code }}-{{ basic['code'] }}-{{ day|date('%Y%m%d') }}-{{ x|d('無') }}"
    )
    assert document_names(pattern, [(None, data)]) == ["沙灣縣第二中學-007-007-20261129-無"]


def test_a_number_no_report_prints_is_refused_naming_it() -> None:
    with pytest.raises(InvalidNamePattern, match="1e1100000") as refused:
        document_names("{{ n|thousands }}", [(None, {"n": 5}), (None, {"n": "1e1100000"})])
    assert refused.value.details == {"pattern": "{{ n|thousands }}", "document": 1}


def test_a_jobs_names_are_made_within_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(naming, "NAMING_SECONDS", -1.0)
    with pytest.raises(InvalidNamePattern, match="took longer than"):
        document_names("{{ unit }}", [(None, {"unit": "甲"}), (None, {"unit": "乙"})])
