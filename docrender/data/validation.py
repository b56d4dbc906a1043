"""Whole-batch validation of documents' data against what a template reads.

The template's needs come from its inspection (docrender.templates.tags): the top-level variables,
and the *loop paths*, the values it iterates over, such as ``sections`` and
``sections[].points`` (for each section, its ``points``). Every document is checked and every
problem reported at once, so a bureau can fix its whole spreadsheet in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from docrender.data.values import is_rich, is_subdocument
from docrender.errors import MissingVariables, WrongShape
from docrender.templates.tags import TemplateInspection

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


# How to relax ``strict``, as the API says it; the CLI says it with its own flag.
RELAX_STRICT = 'send "strict": false to print missing values empty'
RELAX_STRICT_ZH = '发送 "strict": false，让缺少的值印为空白'
_SHOWN_PROBLEMS = 5


def check_documents(
    needs: TemplateInspection,
    documents: Sequence[dict[str, Any]],
    places: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Raise one error listing every missing variable and every value of the wrong shape.
    ``places`` says where each document came from ({"row": 7, "name": "阜康市第二中學"} for a
    spreadsheet row): it is added to the details and named in the message."""
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
    summary = " and ".join(
        ([plural(missing, "missing value")] if missing else [])
        + ([plural(shapes, "value") + " of the wrong shape"] if shapes else [])
    )
    details = [p.to_dict() | (dict(places[p.document]) if places else {}) for p in problems]
    listed = "; ".join(_describe(p, places) for p in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    message = (
        f"{plural(len(problems), 'document')} of {len(documents)} "
        f"{'does' if len(problems) == 1 else 'do'} not fit the template ({summary}): {listed}"
        + (f"; and {plural(more, 'more document')}" if more > 0 else "")
        + ". Fix the data"
        + (f", or {RELAX_STRICT}." if missing else ".")
    )
    zh_listed = "；".join(_describe_zh(p, places) for p in problems[:_SHOWN_PROBLEMS])
    zh = (
        f"{len(documents)} 份文件中有 {len(problems)} 份与模板不符"
        f"（{'，'.join(([f'缺少 {missing} 个值'] if missing else []) + ([f'{shapes} 个值的类型不对'] if shapes else []))}）："
        f"{zh_listed}" + (f"；另有 {more} 份" if more > 0 else "") + "。请修正数据"
        + (f"，或{RELAX_STRICT_ZH}。" if missing else "。")
    )  # fmt: skip
    raise (MissingVariables if missing else WrongShape)(message, details, zh=zh)


def plural(count: int, noun: str) -> str:
    """ "1 document", "2 documents"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _describe(problems: DocumentProblems, places: Sequence[dict[str, Any]] | None) -> str:
    place = places[problems.document] if places else {}
    where = f"row {place['row']}" if "row" in place else f"document {problems.document}"
    if place.get("name"):
        where += f" ({place['name']})"
    what = []
    if problems.missing:
        what.append("misses " + ", ".join(problems.missing))
    what += [f"has {shape['got']} for {shape['variable']}, where "
             f"{'a list' if shape['expected'] == 'list' else shape['expected']} is needed"
             for shape in problems.wrong_shape]  # fmt: skip
    return f"{where} {'; '.join(what)}"


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


def _describe_zh(problems: DocumentProblems, places: Sequence[dict[str, Any]] | None) -> str:
    place = places[problems.document] if places else {}
    where = f"第 {place['row']} 行" if "row" in place else f"第 {problems.document} 份文件"
    if place.get("name"):
        where += f"（{place['name']}）"
    what = []
    if problems.missing:
        what.append("缺少 " + "、".join(problems.missing))
    what += [f"{shape['variable']} 是{_ZH_KINDS.get(shape['got'], shape['got'])}，"
             f"应为{_ZH_KINDS.get(shape['expected'], shape['expected'])}"
             for shape in problems.wrong_shape]  # fmt: skip
    return f"{where}{'；'.join(what)}"


_ZH_KINDS = {
    "list": "列表", "text": "文字", "object": "对象", "number": "数字", "boolean": "是非值",
    _TAG_KINDS["r"]: "富文本（{{r }} 标签需要）",
    _TAG_KINDS["p"]: "富文本或子文档（{{p }} 标签需要）",
}  # fmt: skip


def unused_columns(needs: TemplateInspection, columns: Sequence[str]) -> dict[str, Any] | None:
    """A warning naming the data file's columns the template never reads (a misspelt
    ``signiture``), with the names it does read; None when every column is used."""
    unused = [column for column in columns if column not in needs.variables]
    if not unused:
        return None
    return {
        "code": "unused_columns",
        "message": f"The template does not read the {'column' if len(unused) == 1 else 'columns'} "
        f"{', '.join(unused)}: misspelt, or not meant for this template? It reads "
        f"{', '.join(needs.variables) or 'no variables'}.",
        "columns": unused,
        "zh": f"模板没有读取列 {'、'.join(unused)}：是拼错了，还是不属于这个模板？它读取的是 "
        f"{'、'.join(needs.variables) or '（无变量）'}。",
    }
