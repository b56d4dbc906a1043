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

from docrender.data_values import is_rich, is_subdocument
from docrender.errors import MissingVariables, WrongShape
from docrender.templating import TemplateInspection

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


def check_documents(needs: TemplateInspection, documents: Sequence[dict[str, Any]]) -> None:
    """Raise one error listing every missing variable and every value of the wrong shape."""
    required = sorted(set(needs.variables) - set(needs.optional))
    problems = [
        found
        for index, data in enumerate(documents)
        if (found := _check(index, data, required, needs.loops, needs.kinds))
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
    index: int,
    data: dict[str, Any],
    variables: Sequence[str],
    loops: Sequence[str],
    kinds: dict[str, str],
) -> DocumentProblems | None:
    problems = DocumentProblems(index, missing=sorted(set(variables) - data.keys()))
    for path in loops:
        for where, value in _values_at(data, path):
            if not isinstance(value, list):
                problems.wrong_shape.append(
                    {"variable": where, "expected": "list", "got": _type_name(value)}
                )
    for path, kind in kinds.items():
        for where, value in _values_at(data, path):
            if not _fits_tag(kind, value):
                expected = _TAG_KINDS[kind]
                problems.wrong_shape.append(
                    {"variable": where, "expected": expected, "got": _type_name(value)}
                )
    return problems if problems.missing or problems.wrong_shape else None


# What docxtpl's {{r x }} and {{p x }} tags print: a plain text value there prints nothing.
_TAG_KINDS = {
    "r": 'rich text ({"type": "rich", ...}) for its {{r }} tag',
    "p": 'rich text or a sub-document ({"type": "docx", ...}) for its {{p }} tag',
}


def _fits_tag(kind: str, value: Any) -> bool:
    if kind == "r":
        return is_rich(value)
    return is_rich(value) or is_subdocument(value)


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
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return f"{value['type']} object"
    return {dict: "object", str: "text", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
