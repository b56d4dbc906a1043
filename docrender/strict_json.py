"""JSON as the service accepts it from outside: UTF-8, standard numbers only (no NaN or
Infinity, nothing that overflows), nested at most MAX_NESTING deep, and text that is real
Unicode (no lone surrogates from escapes such as "\\ud800", which nothing can store)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_NESTING = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """The message says what is wrong, in words a caller can act on."""


def parse_strict_json(raw: bytes) -> Any:
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
    return body


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
