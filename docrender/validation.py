"""Whole-batch validation of documents' data against what a template reads.

The template's needs come from its inspection (docrender.templating): the top-level variables,
and the *loop paths*, the values it iterates over, such as ``sections`` and
``sections[].points`` (for each section, its ``points``). Every document is checked and every
problem reported at once, so a bureau can fix its whole spreadsheet in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from docrender.errors import MissingVariables, WrongShape

_MISSING = object()


@dataclass
class DocumentProblems:
    document: int
    missing: list[str] = field(default_factory=list)
    wrong_shape: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"document": self.document, "missing": self.missing}
        if self.wrong_shape:
            out["wrong_shape"] = self.wrong_shape
        return out


def check_documents(
    variables: Sequence[str], loops: Sequence[str], documents: Sequence[dict[str, Any]]
) -> None:
    """Raise one error listing every missing variable and every value of the wrong shape."""
    problems = [
        found
        for index, data in enumerate(documents)
        if (found := _check(index, data, variables, loops))
    ]
    if not problems:
        return
    missing = sum(len(p.missing) for p in problems)
    shapes = sum(len(p.wrong_shape) for p in problems)
    summary = []
    if missing:
        summary.append(f"{missing} missing values")
    if shapes:
        summary.append(f"{shapes} values of the wrong shape")
    message = (
        f"{len(problems)} of {len(documents)} documents do not fit the template "
        f"({' and '.join(summary)}); fix the data"
        + (', or send "strict": false to render missing values empty.' if missing else ".")
    )
    details = [p.to_dict() for p in problems]
    raise (MissingVariables if missing else WrongShape)(message, details)


def _check(
    index: int, data: dict[str, Any], variables: Sequence[str], loops: Sequence[str]
) -> DocumentProblems | None:
    problems = DocumentProblems(index, missing=sorted(set(variables) - data.keys()))
    for path in loops:
        for where, value in _values_at(data, path):
            if not isinstance(value, list):
                problems.wrong_shape.append(
                    {"variable": where, "expected": "list", "got": _type_name(value)}
                )
    return problems if problems.missing or problems.wrong_shape else None


def _values_at(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value a loop path reaches: ``sections[].points`` yields each section's points
    as ("sections[0].points", value). Missing values are skipped (they render empty)."""
    current: list[tuple[str, Any]] = [("", data)]
    segments = path.split(".")
    for position, segment in enumerate(segments):
        each = segment.endswith("[]")
        key = segment.removesuffix("[]")
        reached = []
        for where, value in current:
            child = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if child is _MISSING or child is None:
                continue
            name = f"{where}.{key}" if where else key
            if each and position < len(segments) - 1:
                if isinstance(child, list):  # a non-list here is reported by its own path
                    reached += [(f"{name}[{i}]", item) for i, item in enumerate(child)]
            else:
                reached.append((name, child))
        current = reached
    return iter(current)


def _type_name(value: Any) -> str:
    return {dict: "object", str: "text", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
