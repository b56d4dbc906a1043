"""JSON as the service accepts it from outside: UTF-8, standard numbers only (no NaN or
Infinity, nothing that overflows), nested at most MAX_NESTING deep, at most MAX_VALUES values,
and text that is real Unicode (no lone surrogates from escapes such as "\\ud800", which nothing
can store).

The value count is checked before parsing, on the raw bytes: 50 MiB of ``[[],[],...]`` is 17
million lists, 2.5 GB once parsed, so it must be refused before anything is built."""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeAlias

# What a parse gives: the shape of untrusted input before any schema has looked at it.
JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

MAX_NESTING = 32
# 1,000 documents of 1,000 values each; a large report's data has a few hundred.
MAX_VALUES = 1_000_000
# A JSON string, escapes included (the unrolled form, linear on long strings).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """The message says what is wrong, in words a caller can act on."""


class TooManyValues(InvalidJson):
    """Well-formed perhaps, but more values than MAX_VALUES."""


def parse_strict_json(raw: bytes) -> JSONValue:
    if (values := count_values(raw)) > MAX_VALUES:
        raise TooManyValues(f"The JSON holds about {values} values, more than {MAX_VALUES}.")
    try:
        body = json.loads(
            raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except UnicodeDecodeError:
        raise InvalidJson("The JSON is not UTF-8 text.") from None
    except RecursionError:
        raise InvalidJson(f"The JSON is nested deeper than {MAX_NESTING} levels.") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with thousands of digits
        raise InvalidJson(f"The JSON is not valid: {exc}.") from None
    _check_structure(body)
    parsed: JSONValue = body
    return parsed


def count_values(raw: bytes) -> int:
    """How many values ``raw`` holds at most, without parsing it: every value but the first of
    a container follows a comma, and every container opens with a bracket. Strings are taken
    out first (in C, by the regular expression), so that their commas do not count."""
    skeleton = _STRING.sub(b"", raw)
    return skeleton.count(b",") + skeleton.count(b"[") + skeleton.count(b"{") + 1


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _check_structure(value: Any) -> None:
    # Iterative, so that the check itself cannot overflow the stack.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise InvalidJson(
                    "The JSON holds text with an unpaired surrogate (an escape such as "
                    "\\ud800 without its pair), which is not a character; send valid Unicode."
                )
        elif isinstance(node, dict | list):
            if depth > MAX_NESTING:
                raise InvalidJson(f"The JSON is nested deeper than {MAX_NESTING} levels.")
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
