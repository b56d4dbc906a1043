"""The fill-in sheet: an .xlsx a clerk fills in, one row per document, whose columns are
exactly what a template reads, so that nobody guesses column names.

The columns come from the template's tags: every value it prints, followed through its loops.
``{{ unit }}`` is ``unit``; ``{{ basic.code }}`` is ``basic.code``; a loop
``{% for f in facts %}{{ f.item }}`` numbers its items, ``facts.1.item`` to ``facts.6.item``; a
loop over plain values, ``{% for h in honours %}{{ h }}``, ``honours.1`` to ``honours.12``.
Values the template prints as rich text or a sub-document (``{{r remark }}``) are left out:
a cell cannot hold them.

Each header is in the template's own words where the template gives them, with the variable
name in brackets, which is what the data reader takes (docrender/data/files.py): the text
before the tag's colon (``填報日期：{{ day }}`` gives ``填報日期（day）``), or, for a tag alone in
a table cell, the cell to its left or the column's header cell. Cells are typed where the
template's filters say what a value is: a date column (``|date``, ``|cn_date``) is formatted
as a date and accepts only dates, a number column only numbers. There is no example row to
send by mistake: a second sheet, in the clerk's language, says what to type in each column.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
from jinja2 import nodes
from lxml import etree
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from docrender.i18n import Language, Message, _
from docrender.templates.tags import TemplateInspection, parsed_parts

OBJECT_ITEMS = 6  # numbered items per loop of objects (facts.1.item ... facts.6.item)
PLAIN_ITEMS = 12  # per loop of plain values (honours.1 ... honours.12)
NESTED_ITEMS = 3  # per loop within a loop's item (sections.1.points.1 ... .3)
ROWS_TYPED = 1000  # rows whose cells are formatted and checked as their column's kind
DATE_FILTERS = frozenset({"date", "cn_date"})
NUMBER_FILTERS = frozenset({"thousands", "fixed", "percent", "rmb_upper", "cn_number", "cn_index"})


def fill_in_sheet(data: bytes, inspection: TemplateInspection, language: Language = "en") -> bytes:
    """The sheet for the (inspected) template ``data``, in ``language``. It parses what a
    tenant sent: the pages call it in a bounded child (docrender/children.py)."""
    trees = parsed_parts(data)  # once, for the columns and their kinds
    columns = _columns(trees, inspection)
    labels = template_labels(data)
    kinds = _column_kinds(trees, inspection)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    headers = [_header(column, labels) for column in columns]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, (column, header) in enumerate(zip(columns, headers, strict=True), start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(header.encode()) + 2))
        kind = kinds.get(_key(column))
        if kind is not None:
            _type_cells(sheet, letter, kind, language)
    sheet.freeze_panes = "A2"
    _instructions(book, columns, headers, kinds, language)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(column: str, labels: dict[tuple[str, ...], str]) -> str:
    label = labels.get(_key(column))
    if label is None or not _ASCII_NAME.fullmatch(column):
        return column
    numbers = [part for part in column.split(".") if part.isdigit()]
    return f"{label}{' '.join(['', *numbers])}（{column}）"


_ASCII_NAME = re.compile(r"[A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|\d+))*", re.ASCII)


def _key(column: str) -> tuple[str, ...]:
    """A column's path with its item numbers as "[]": facts.3.item -> (facts, [], item)."""
    return tuple("[]" if part.isdigit() else part for part in column.split("."))


def _type_cells(sheet: Any, letter: str, kind: str, language: Language) -> None:
    cells = f"{letter}2:{letter}{ROWS_TYPED + 1}"
    if kind == "date":
        rule = DataValidation(type="date", operator="greaterThan", formula1="DATE(1900,1,1)")
        rule.error = _("Type a date, such as 2012/5/1.").render(language)
        for row in range(2, ROWS_TYPED + 2):
            sheet[f"{letter}{row}"].number_format = "yyyy/m/d"
    else:
        rule = DataValidation(type="decimal", operator="between")
        rule.formula1, rule.formula2 = "-1E+15", "1E+15"
        rule.error = _("Type a number, digits alone, such as 1234.5.").render(language)
    rule.showErrorMessage = True
    rule.allow_blank = True
    sheet.add_data_validation(rule)
    rule.add(cells)


def _instructions(
    book: Any,
    columns: list[str],
    headers: list[str],
    kinds: dict[tuple[str, ...], str],
    language: Language,
) -> None:
    """A second sheet (the reader reads the first) saying what to type, in the clerk's words."""
    sheet = book.create_sheet(_("How to fill in").render(language))
    said: list[Message] = [
        _(
            "One row per document (a unit a row), from row 2 of the sheet 'data'. Keep its "
            "header row: the name in brackets is what the template reads."
        ),
        _(
            "Columns numbered 1, 2, 3… are a list: fill in as many as you need, the empty ones "
            "are left out; for more, add columns numbered on in the same way."
        ),
        _("Delete nothing from row 1; rows you leave empty are not documents."),
    ]
    for text in said:
        sheet.append([text.render(language)])
    sheet.append([])
    sheet.append([_("Column").render(language), _("What to type").render(language)])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    what = {
        "date": _("a date, such as 2012/5/1"),
        "number": _("a number, digits alone, such as 1234.5"),
    }
    for column, header in zip(columns, headers, strict=True):
        kind = kinds.get(_key(column))
        sheet.append([header, (what[kind] if kind else _("text")).render(language)])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 40


def template_labels(data: bytes) -> dict[tuple[str, ...], str]:
    """The words a template puts beside each tag, by the path the tag reads (loop items as
    "[]"): the text before the tag's colon, or for a tag alone in a table cell, the cell to
    its left or the column's header cell."""
    labels: dict[tuple[str, ...], str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = [
            name
            for name in package.namelist()
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name)
        ]
        for name in names:
            root = etree.fromstring(package.read(name), etree.XMLParser(resolve_entities=False))
            scope: dict[str, tuple[str, ...]] = {}
            for paragraph in root.iter(f"{_W}p"):
                text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t"))
                for loop in _FOR.finditer(text):
                    scope[loop[1]] = (*_scoped(loop[2], scope), "[]")
                for tag in _TAG.finditer(text):
                    path = _scoped(tag[1], scope)
                    label = _before_colon(text[: tag.start()])
                    if label is None and text.strip() == tag[0].strip():
                        label = _cell_label(paragraph)
                    if label and path not in labels:
                        labels[path] = label
    return labels


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TAG = re.compile(r"\{\{[-+]?\s*(?:[rp]\s+)?([A-Za-z_][\w.]*)[^}]*\}\}")
_FOR = re.compile(r"\{%-?\s*(?:tr|tc|p|r)?\s*for\s+(\w+)\s+in\s+([A-Za-z_][\w.]*)")
_LABEL_CHARACTERS = 20


def _scoped(expression: str, scope: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    parts = tuple(expression.split("."))
    return (*scope[parts[0]], *parts[1:]) if parts[0] in scope else parts


def _before_colon(text: str) -> str | None:
    """The words just before a tag that follows a colon ("填報日期：" -> 填報日期)."""
    text = re.sub(r"\{[{%].*?[}%]\}", "\n", text).rstrip()
    if not text.endswith(("：", ":")):
        return None
    words = re.split(r"[\n。；;，,、]", text[:-1])[-1].strip()
    return words if 0 < len(words) <= _LABEL_CHARACTERS else None


def _cell_label(paragraph: Any) -> str | None:
    """For a tag alone in a table cell: the text of the cell to its left, else of the cell
    above it in the table's first row, where that text holds no tag."""
    cell = paragraph.getparent()
    if cell is None or cell.tag != f"{_W}tc":
        return None
    row = cell.getparent()
    table = row.getparent() if row is not None else None
    if row is None or table is None:
        return None
    cells = row.findall(f"{_W}tc")
    position = cells.index(cell)
    rows = table.findall(f"{_W}tr")
    candidates = [cells[position - 1]] if position > 0 else []
    if rows and rows[0] is not row and position < len(first := rows[0].findall(f"{_W}tc")):
        candidates.append(first[position])
    for candidate in candidates:
        words = "".join(t.text or "" for t in candidate.iter(f"{_W}t")).strip().rstrip("：:")
        if words and "{" not in words and len(words) <= _LABEL_CHARACTERS:
            return words
    return None


def _column_kinds(
    trees: list[nodes.Template], inspection: TemplateInspection
) -> dict[tuple[str, ...], str]:
    """ "date" or "number" by path (loop items as "[]"), where a filter of the template says
    what the value is; the first filter met decides."""
    kinds: dict[tuple[str, ...], str] = {}
    for tree in trees:
        for path, kind in _filtered(tree, {}, set(inspection.variables)):
            kinds.setdefault(path, kind)
    return kinds


def _filtered(
    node: nodes.Node, scope: dict[str, tuple[str, ...]], roots: set[str]
) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, nodes.For):
        source = _path(node.iter, scope, roots)
        inner = dict(scope)
        if source is not None and isinstance(node.target, nodes.Name):
            inner[node.target.name] = (*source, "[]")
        for child in [*node.body, *node.else_]:
            yield from _filtered(child, inner, roots)
        return
    if isinstance(node, nodes.Filter) and node.node is not None:
        path = _path(node.node, scope, roots)
        if path is not None and node.name in DATE_FILTERS:
            yield path, "date"
        elif path is not None and node.name in NUMBER_FILTERS:
            yield path, "number"
    for child in node.iter_child_nodes():
        yield from _filtered(child, scope, roots)


def sheet_columns(data: bytes, inspection: TemplateInspection) -> list[str]:
    """The template's columns in the order its tags first read them."""
    return _columns(parsed_parts(data), inspection)


def _columns(trees: list[nodes.Template], inspection: TemplateInspection) -> list[str]:
    paths: list[tuple[str, ...]] = []
    for tree in trees:
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


def _numbered(paths: list[tuple[str, ...]], depth: int = 0) -> list[str]:
    """The columns of ``paths``: each "[]" becomes numbered items, each item's columns
    together (facts.1.item, facts.1.value, facts.2.item...); a loop within a loop's item gets
    NESTED_ITEMS, so that the columns multiply within a sheet's width."""
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
        count = PLAIN_ITEMS if rests == [()] else OBJECT_ITEMS
        if depth:
            count = NESTED_ITEMS
        for number in range(1, count + 1):
            out += _numbered([(*prefix, str(number), *rest) for rest in rests], depth + 1)
    return list(dict.fromkeys(out))
