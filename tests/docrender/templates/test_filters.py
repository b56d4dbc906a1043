"""The report filters' bounds: a number no report prints is refused with its name, before
anything spells it out (1e1100000, nine bytes of data, held an API process for 31 s)."""

from __future__ import annotations

import pytest

from docrender.templates import filters
from docrender.templates.filters import FilterError


@pytest.mark.parametrize(
    "name", ["thousands", "fixed", "percent", "cn_number", "cn_index", "rmb_upper"]
)
@pytest.mark.parametrize(
    "value",
    ["1e1100000", "-1e1300000", "1e-1100000", 10**4000, "9" * 100_000, "0." + "0" * 99 + "1"],
    ids=["1e1100000", "-1e1300000", "1e-1100000", "10**4000", "100000 nines", "1e-100"],
)
def test_a_number_past_thirty_digits_is_refused_naming_the_filter_and_value(
    name: str, value: object
) -> None:
    with pytest.raises(FilterError) as refused:
        filters.REPORT_FILTERS[name](value)
    message = str(refused.value)
    named = "cn_number" if name == "cn_index" else name  # cn_index numbers with cn_number
    assert message.startswith(f"|{named} ") and len(message) < 300
    assert "30 digits" in message or "10^16" in message


def test_numbers_of_thirty_digits_print_exactly() -> None:
    big = "123456789012345678901234567890"[:-1]  # 29 digits
    assert filters.thousands(big) == "12,345,678,901,234,567,890,123,456,789"
    assert filters.fixed(f"{big}.5", 10) == f"{big}.5000000000"
    assert filters.percent("0.000000000000000000000000000015", 10) == "0.0000000000%"
    assert filters.thousands("1e-29") == "0.00000000000000000000000000001"
    assert filters.fixed(0, 10) == "0.0000000000"  # not 0E-10
    assert (
        filters.cn_number(9_999_999_999_999_999)
        == "九千九百九十九万亿九千九百九十九亿九千九百九十九万九千九百九十九"
    )


def test_cn_number_refuses_what_chinese_numerals_have_no_unit_for() -> None:
    with pytest.raises(FilterError, match="10\\^16"):
        filters.cn_number(10**16)
