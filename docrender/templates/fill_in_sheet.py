"""The fill-in sheet: an .xlsx whose header row names exactly the columns a template reads,
in the spreadsheet rules' form (docrender/data/files.py), with one sample row, so that nobody
guesses column names.

The columns come from the template's tags: every value it prints, followed through its loops.
``{{ unit }}`` is ``unit``; ``{{ basic.code }}`` is ``basic.code``; a loop
``{% for f in facts %}{{ f.item }}`` numbers its items, ``facts.1.item``, ``facts.2.item``; a
loop over plain values, ``{% for h in honours %}{{ h }}``, is ``honours.1`` to ``honours.3``.
Values the template prints as rich text or a sub-document (``{{r remark }}``) are left out:
a cell cannot hold them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
from jinja2 import nodes
from openpyxl.styles import Font, PatternFill

from docrender.templates.tags import TemplateInspection, parsed_parts

ITEMS_SHOWN = 2  # numbered items per loop of objects; a loop of plain values gets one more
SAMPLE = "示例"


def fill_in_sheet(data: bytes, inspection: TemplateInspection) -> bytes:
    columns = sheet_columns(data, inspection)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(columns)
    sheet.append([_sample(column) for column in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(columns, start=1):
        width = max(10, min(40, len(column.encode()) + 2))
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_columns(data: bytes, inspection: TemplateInspection) -> list[str]:
    """The template's columns in the order its tags first read them."""
    paths: list[tuple[str, ...]] = []
    for tree in parsed_parts(data):
        for path in _paths(tree, {}, set(inspection.variables)):
            if path not in paths:
                paths.append(path)
    # Only leaves: "facts[]" is read whole only to loop over "facts[].item".
    leaves = [p for p in paths if not any(q != p and q[: len(p)] == p for q in paths)]
    # Values printed by {{r }} or {{p }} tags need rich text or a document: no sheet cell
    # holds one (the page names them instead).
    return _numbered([p for p in leaves if p[0] not in inspection.kinds])


def _paths(
    node: nodes.Node, scope: dict[str, tuple[str, ...]], roots: set[str]
) -> Iterator[tuple[str, ...]]:
    """Every data path ``node`` reads; a loop's target stands for an item ("[]") of what it
    loops over, within the loop's body."""
    if isinstance(node, nodes.For):
        yield from _paths(node.iter, scope, roots)
        source = _path(node.iter, scope, roots)
        inner = dict(scope)
        if source is not None and isinstance(node.target, nodes.Name):
            inner[node.target.name] = (*source, "[]")
        for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
            yield from _paths(child, inner, roots)
        return
    path = _path(node, scope, roots)
    if path is not None:
        yield path
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            return  # its base is a prefix of it
    for child in node.iter_child_nodes():
        yield from _paths(child, scope, roots)


def _path(
    node: nodes.Node, scope: dict[str, tuple[str, ...]], roots: set[str]
) -> tuple[str, ...] | None:
    if isinstance(node, nodes.Name) and node.ctx == "load":
        if node.name in scope:
            return scope[node.name]
        return (node.name,) if node.name in roots else None
    if isinstance(node, nodes.Getattr):
        base = _path(node.node, scope, roots)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _path(node.node, scope, roots)
        if base is not None and isinstance(node.arg.value, str):
            return (*base, node.arg.value)
    return None


def _numbered(paths: list[tuple[str, ...]]) -> list[str]:
    """The columns of ``paths``: each "[]" becomes numbered items, each item's columns
    together (facts.1.item, facts.1.value, facts.2.item...)."""
    columns: list[str] = []
    groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in paths:
        if "[]" not in path:
            columns.append(".".join(path))
            continue
        at = path.index("[]")
        group = groups.setdefault(path[:at], [])
        if not group:
            columns.append("\0" + ".".join(path[:at]))  # where the group's columns go
        group.append(path[at + 1 :])
    out: list[str] = []
    for column in columns:
        if not column.startswith("\0"):
            out.append(column)
            continue
        prefix = tuple(column[1:].split("."))
        rests = groups[prefix]
        count = ITEMS_SHOWN + (1 if rests == [()] else 0)  # plain values: one more
        for number in range(1, count + 1):
            out += _numbered([(*prefix, str(number), *rest) for rest in rests])
    return list(dict.fromkeys(out))


def _sample(column: str) -> str:
    return f"{SAMPLE} {column}"
