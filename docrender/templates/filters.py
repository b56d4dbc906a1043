"""Report filters, in every template: dates, numbers, money and Chinese numerals, as bureau
reports print them (Carbone's formatters are the model). JSON has no date type and a
spreadsheet gives dates as serial numbers, so the date filters read ISO strings, serial numbers
and dates alike.

    {{ date|date("%Y年%-m月%-d日") }}   2026年11月29日
    {{ date|cn_date }}                 二〇二六年十一月二十九日
    {{ amount|thousands }}             12,345.6      {{ amount|fixed(2) }}   12345.60
    {{ ratio|percent(1) }}             21.3%
    {{ amount|rmb_upper }}             人民币壹万贰仟叁佰肆拾伍元陆角整 (``("hant")``: 人民幣壹萬貳仟...)
    {{ count|cn_number }}              十二
    {{ loop.index|cn_index }}          一、          ``("()")``: （一）
    {{ text|to_hans }} {{ text|to_hant }}   Simplified / Traditional forms (OpenCC)

A filter given what it cannot read raises FilterError, which fails that document alone with
the filter's name and what it got. The number filters take at most ``MAX_DIGITS`` digits before
and after the point: no report prints more, and a number such as 1e1100000 (nine bytes of data)
would otherwise take Python's C code tens of seconds to spell out, uninterruptibly, in the API
(name patterns) or a worker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from docrender.fonts.chinese import converter
from docrender.i18n import Message, _


class FilterError(ValueError):
    """A filter was given a value it cannot read; ``text`` says which and what. ``value`` is
    the value itself where the data gave it (not an argument of the filter), and ``expected``
    what it should have been ("date", "number"), so a message can send the reader to the cell
    to fix and say what to type there (workers/fill/render.py)."""

    def __init__(self, text: Message, value: Any = None, expected: str | None = None) -> None:
        super().__init__(str(text))
        self.text = text
        self.value = value
        self.expected = expected


MAX_DIGITS = 30  # before and after the decimal point, in what a number filter takes
_MAX_NUMBER_TEXT = 2 * MAX_DIGITS + 20  # characters of a number given as text (sign, point, e)
_LIMIT = 10**MAX_DIGITS
# Exact for every number taken: rounding to 10 places and percentages never lose a digit.
_EXACT = Context(prec=2 * MAX_DIGITS + 16, rounding=ROUND_HALF_UP)

# Excel's day 0 (its 1900 leap-year bug included): serial 45000 is 2023-03-15.
_SPREADSHEET_EPOCH = dt.datetime(1899, 12, 30)
_DIGITS = "〇一二三四五六七八九"
_UNITS = ("", "十", "百", "千")
_BIG_UNITS = {"hans": ("", "万", "亿", "万亿"), "hant": ("", "萬", "億", "萬億")}
_MONEY_DIGITS = {"hans": "零壹贰叁肆伍陆柒捌玖", "hant": "零壹貳叁肆伍陸柒捌玖"}
_MONEY_UNITS = ("", "拾", "佰", "仟")
_MONEY_BIG = {"hans": ("", "万", "亿", "万亿"), "hant": ("", "萬", "億", "萬億")}
_MONEY_WORDS = {
    "hans": {
        "prefix": "人民币",
        "yuan": "元",
        "jiao": "角",
        "fen": "分",
        "whole": "整",
        "negative": "负",
    },
    "hant": {
        "prefix": "人民幣",
        "yuan": "元",
        "jiao": "角",
        "fen": "分",
        "whole": "整",
        "negative": "負",
    },
}


def to_datetime(value: Any, name: str = "date") -> dt.datetime:
    """An ISO date or date-time string, a spreadsheet serial number, or a date."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2_958_466:  # 1900-01-01 .. 9999-12-31
            raise FilterError(
                _(
                    "|%(filter)s needs a date; %(value)s is no spreadsheet date",
                    filter=name,
                    value=_shown(value),
                ),
                value,
                "date",
            )
        return _SPREADSHEET_EPOCH + dt.timedelta(days=float(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        if typed := _TYPED_DATE.fullmatch(text):  # a date typed as text: 2012/5/1, 2012年5月1日
            try:
                year, month, day = (int(part) for part in typed.groups())
                return dt.datetime(year, month, day)
            except ValueError:
                pass
    raise FilterError(
        _(
            "|%(filter)s needs a date such as 2026-11-29 (or a spreadsheet date); got %(value)s",
            filter=name,
            value=_shown(value),
        ),
        value,
        "date",
    )


# Dates as people type them where a cell holds text (a CSV file, a cell formatted as text):
# 2012/5/1, 2012.5.1, 2012-5-1, 2012年5月1日, full-width digits too.
_TYPED_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def date(value: Any, format: str = "%Y-%m-%d") -> str:
    """``value`` formatted with strftime codes; ``%-m`` and ``%-d`` drop leading zeros."""
    return to_datetime(value).strftime(format)


def cn_date(value: Any) -> str:
    """二〇二六年十一月二十九日: the year digit by digit, month and day as numbers."""
    when = to_datetime(value, "cn_date")
    year = "".join(_DIGITS[int(digit)] for digit in str(when.year))
    return f"{year}年{cn_number(when.month)}月{cn_number(when.day)}日"


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise FilterError(
            _("|%(filter)s needs a number; got %(value)s", filter=name, value=_shown(value)),
            value,
            "number",
        )
    if isinstance(value, int):
        if abs(value) >= _LIMIT:  # before str(): spelling a huge int out is what costs
            raise _too_many_digits(name, value)
        return Decimal(value)
    if isinstance(value, float):  # its shortest repr: 0.1 is 0.1, not 0.1000000000000000055
        value = repr(float(value))
    text = str(value).replace(",", "").strip()
    if len(text) > _MAX_NUMBER_TEXT:
        raise _too_many_digits(name, value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FilterError(
            _("|%(filter)s needs a number; got %(value)s", filter=name, value=_shown(value)),
            value,
            "number",
        ) from None
    if not number.is_finite():
        raise FilterError(
            _("|%(name)s needs a finite number; got %(value)s", name=name, value=_shown(value)),
            value,
            "number",
        )
    if number and not -MAX_DIGITS <= number.adjusted() < MAX_DIGITS:
        raise _too_many_digits(name, value)
    return number


def _too_many_digits(name: str, value: Any) -> FilterError:
    return FilterError(
        _(
            "|%(filter)s prints numbers of at most %(digits)s digits before and after the "
            "decimal point; got %(value)s",
            filter=name,
            digits=MAX_DIGITS,
            value=_shown(value),
        ),
        value,
    )


def _shown(value: Any) -> str:
    """The value as a message names it: its repr, cut to a readable length."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's own limit on spelling one out
        return f"<{value.bit_length()}-bit int>"
    return text if len(text) <= 60 else f"{text[:57]}…"


def fixed(value: Any, decimals: int = 2) -> str:
    """``decimals`` places, rounded half up (四舍五入): 12345.6 -> 12345.60."""
    return f"{_rounded(_number(value, 'fixed'), decimals):f}"  # 0.0000000000, not 0E-10


def thousands(value: Any, decimals: int | None = None) -> str:
    """Thousands separated: 1234567.5 -> 1,234,567.5; ``decimals`` rounds first."""
    number = _number(value, "thousands")
    if decimals is not None:
        number = _rounded(number, decimals)
    fraction = isinstance(exponent := number.as_tuple().exponent, int) and exponent < 0
    return f"{number:,f}" if fraction else f"{int(number):,}"


def percent(value: Any, decimals: int = 0) -> str:
    """A ratio as a percentage: 0.2134 -> 21% (``percent(1)``: 21.3%)."""
    return f"{_rounded(_EXACT.multiply(_number(value, 'percent'), 100), decimals):f}%"


def _rounded(number: Decimal, decimals: int) -> Decimal:
    if not isinstance(decimals, int) or not 0 <= decimals <= 10:
        raise FilterError(
            _(
                "decimal places must be a whole number from 0 to 10, not %(decimals)s",
                decimals=repr(decimals),
            ),
        )
    return number.quantize(Decimal(1).scaleb(-decimals), context=_EXACT)


def cn_number(value: Any, form: str = "hans") -> str:
    """A whole number in Chinese numerals: 12 -> 十二, 105 -> 一百零五, 20000 -> 二万."""
    number = _number(value, "cn_number")
    if number != number.to_integral_value():
        raise FilterError(
            _("|cn_number needs a whole number; got %(value)s", value=_shown(value)),
        )
    whole = int(number)
    if abs(whole) >= 10**16:  # past 万亿 (10^12) groups, Chinese numerals have no agreed unit
        raise FilterError(
            _("|cn_number takes numbers under 10^16; got %(value)s", value=_shown(value)),
        )
    if whole == 0:
        return "〇"
    spelled = _spell(abs(whole), _DIGITS.replace("〇", "零"), _UNITS, _BIG_UNITS[_form(form)])
    if spelled.startswith("一十"):  # 十二, not 一十二
        spelled = spelled[1:]
    return ("负" if form == "hans" else "負") + spelled if whole < 0 else spelled


def cn_index(value: Any, style: str = "、") -> str:
    """The numbering of a heading: 1 -> 一、; ``cn_index("()")`` -> （一）."""
    number = cn_number(value)
    if style in ("()", "（）"):
        return f"（{number}）"
    if style == "、":
        return f"{number}、"
    raise FilterError(
        _('|cn_index takes "、" or "()"; got %(style)s', style=repr(style)),
    )


def rmb_upper(value: Any, form: str = "hans") -> str:
    """An amount of money in capitals, as on cheques and contracts:
    12345.6 -> 人民币壹万贰仟叁佰肆拾伍元陆角整; ``rmb_upper("hant")``: 人民幣壹萬貳仟叁..."""
    words = _MONEY_WORDS[_form(form)]
    amount = _rounded(_number(value, "rmb_upper"), 2)
    if abs(amount) >= Decimal(10) ** 16:
        raise FilterError(
            _("|rmb_upper takes amounts under 10^16; got %(value)s", value=_shown(value)),
        )
    sign = words["negative"] if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    digits = _MONEY_DIGITS[_form(form)]
    text = (
        _spell(yuan, digits, _MONEY_UNITS, _MONEY_BIG[_form(form)]) + words["yuan"] if yuan else ""
    )
    if jiao:
        text += digits[jiao] + words["jiao"]
    elif fen and yuan:
        text += digits[0]  # 壹元零伍分
    if fen:
        text += digits[fen] + words["fen"]
    if not fen:
        text += words["whole"]
    if not yuan and not jiao and not fen:
        text = digits[0] + words["yuan"] + words["whole"]
    return words["prefix"] + sign + text


def _spell(number: int, digits: str, units: tuple[str, ...], big: tuple[str, ...]) -> str:
    """``number`` (> 0) read out in groups of four digits, with 零 where zeros fall between."""
    groups = []
    while number:
        groups.append(number % 10_000)
        number //= 10_000
    out = ""
    need_zero = False
    for position in range(len(groups) - 1, -1, -1):
        group = groups[position]
        if group == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or group < 1000):
            out += digits[0]
        out += _spell_group(group, digits, units) + big[position]
        need_zero = False
    return out


def _spell_group(group: int, digits: str, units: tuple[str, ...]) -> str:
    out = ""
    zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += digits[0]
            zero = False
        out += digits[digit] + units[position]
    return out


def _form(form: str) -> str:
    if form not in ("hans", "hant"):
        raise FilterError(
            _(
                'the form must be "hans" (Simplified) or "hant" (Traditional), not %(form)s',
                form=repr(form),
            )
        )
    return form


def to_hans(value: Any) -> str:
    """The text in Simplified forms (OpenCC)."""
    return str(converter("t2s").convert(str(value)))


def to_hant(value: Any) -> str:
    """The text in Traditional forms (OpenCC's Taiwan standard characters)."""
    return str(converter("s2tw").convert(str(value)))


REPORT_FILTERS: dict[str, Callable[..., str]] = {
    "date": date,
    "cn_date": cn_date,
    "thousands": thousands,
    "fixed": fixed,
    "percent": percent,
    "rmb_upper": rmb_upper,
    "cn_number": cn_number,
    "cn_index": cn_index,
    "to_hans": to_hans,
    "to_hant": to_hant,
}
