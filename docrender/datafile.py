"""Documents' data from a file a bureau keeps: .xlsx, .csv or .json. One row, one document.

Header names are variable names. Dotted headers build objects (``basic.students``); numbered
ones build lists (``honours.1``, ``honours.2`` -> ``honours: [...]``, blanks dropped, always a
list), and the two combine (``facts.1.item``, ``facts.1.value``). An empty cell of a plain
column is a missing value. Shared by the API (multipart jobs) and the CLI (``validate``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from docrender.errors import InvalidDataFile, PayloadTooLarge, UnsupportedFileType
from docrender.strict_json import InvalidJson, parse_strict_json

SUFFIXES = (".xlsx", ".csv", ".json")
# In CSV a plain decimal without leading zeros is a number; "00123" or "1e3" stay text.
_CSV_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")


class _Numbered(dict):  # type: ignore[type-arg]
    """Collects ``name.1``, ``name.2``... before they become a list."""


def read_documents(filename: str, data: bytes, max_rows: int) -> list[dict[str, Any]]:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFileType(
            f"The data file {filename!r} is not .xlsx, .csv or .json; save it as one of those."
        )
    if not data.strip():
        raise InvalidDataFile(f"The data file {filename!r} is empty.")
    if suffix == ".json":
        documents = _json_documents(data)
    else:
        rows = _xlsx_rows(data) if suffix == ".xlsx" else _csv_rows(data)
        documents = _rows_to_documents(rows)
    if not documents:
        raise InvalidDataFile(f"The data file {filename!r} has a header but no rows of data.")
    if len(documents) > max_rows:
        raise PayloadTooLarge(
            f"The data file has {len(documents)} rows; a job may hold at most {max_rows}.",
            {"limit": max_rows, "rows": len(documents)},
        )
    return documents


def _json_documents(data: bytes) -> list[dict[str, Any]]:
    try:
        parsed = parse_strict_json(data)
    except InvalidJson as exc:
        raise InvalidDataFile(f"The JSON data file could not be read: {exc}") from None
    if isinstance(parsed, dict) and isinstance(parsed.get("documents"), list):
        parsed = [d.get("data") if isinstance(d, dict) else d for d in parsed["documents"]]
    if not isinstance(parsed, list) or not all(isinstance(d, dict) for d in parsed):
        raise InvalidDataFile(
            'A JSON data file holds a list of objects (one per document), or {"documents": '
            '[{"data": {...}}, ...]}.'
        )
    return parsed


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook  # imported here: only spreadsheets need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidDataFile(f"The .xlsx file could not be read ({exc}); re-save it.") from None
    try:
        sheet = workbook.worksheets[0]
        return [[_xlsx_value(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _xlsx_value(cell: Any) -> Any:
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat()
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    if isinstance(cell, str):
        return cell.strip() or None
    return cell


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode_csv(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[_csv_value(cell) for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else GB18030 (a superset
    of GBK and GB2312, what Excel saves on Chinese Windows). Chinese text in GBK is almost
    never valid UTF-8, so the order decides correctly."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidDataFile(
        "The CSV file is neither UTF-8 nor GB18030/GBK text; re-save it as UTF-8."
    )


def _csv_value(cell: str) -> Any:
    cell = cell.strip()
    if not cell:
        return None
    if _CSV_NUMBER.match(cell):
        return float(cell) if "." in cell else int(cell)
    return cell


def _rows_to_documents(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    rows = [row for row in rows if any(cell is not None for cell in row)]
    if not rows:
        return []
    header = [_header_path(cell, column) for column, cell in enumerate(rows[0], start=1)]
    return [_row_to_data(header, row) for row in rows[1:]]


def _header_path(cell: Any, column: int) -> list[str] | None:
    if cell is None:
        return None  # a column without a header is ignored
    name = str(cell).strip()
    parts = name.split(".")
    if not all(parts):
        raise InvalidDataFile(f"Column {column}'s header {name!r} has an empty part.")
    return parts


def _row_to_data(header: Sequence[list[str] | None], row: Sequence[Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in zip(header, row, strict=False):
        if path is not None:
            _place(tree, path, value)
    return _finish(tree)


def _place(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part, child in itertools.pairwise(path):
        kind = _Numbered if child.isdigit() else dict
        if not isinstance(node.get(part), dict):
            node[part] = kind()
        node = node[part]
    node[path[-1]] = value


def _finish(node: Any) -> Any:
    if isinstance(node, _Numbered):
        items = (_finish(node[key]) for key in sorted(node, key=int))
        return [item for item in items if not _blank(item)]
    if isinstance(node, dict):
        finished = {key: _finish(value) for key, value in node.items()}
        return {key: value for key, value in finished.items() if value is not None}
    return node


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    return value is None
