"""Documents' data from a file a bureau keeps: .xlsx, .csv or .json. One row, one document.

Header names are variable names, or a label in the template's own words followed by the
variable name in brackets, as the fill-in sheet writes them (``填報日期（day）``, ``Unit (unit)``):
the name in brackets is the column's. Dotted headers build objects (``basic.students``); numbered
ones build lists (``honours.1``, ``honours.2`` -> ``honours: [...]``, blanks dropped, always a
list), and the two combine (``facts.1.item``, ``facts.1.value``). An empty cell of a plain
column is a missing value. Shared by the API (multipart jobs) and the CLI (``validate``).

Data files are what a tenant sends, read by parsers whose cost can run far ahead of the bytes:
the API reads them in a bounded child (``read_uploaded_data_file``, docrender/children.py), and
the reading itself stops at the row and column caps (a sheet's ``<dimension>`` is not trusted:
openpyxl would pad every row to the width it claims) and refuses number formats longer than
Excel's 255 characters (formatting costs time quadratic in a format's length).

A cell prints as the sheet shows it: a number or date whose format shows it otherwise than
plainly (21%, 12.50, 1,234, 2012年5月1日) becomes a cell value, ``{"type": "cell", "value":
0.21, "text": "21%"}``, which prints its text and computes as its value (docrender/
data_values.py). Excel's formats are applied by ssf, a port of SheetJS's formatter. A CSV
number keeps its written form the same way (12.50, 1,234, 21%); leading zeros stay text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import charset_normalizer
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils.datetime import from_excel

from docrender.children import Overran, run_in_child
from docrender.data.strict_json import InvalidJson, parse_strict_json
from docrender.errors import (
    DataFileTooComplex,
    InvalidDataFile,
    PayloadTooLarge,
    UnsupportedFileType,
)
from docrender.i18n import Message, _

SUFFIXES = (".xlsx", ".csv", ".json")
READ_SECONDS = 15  # for a data file in the bounded child
MAX_COLUMNS = 256  # columns read from a sheet (Excel's limit until 2007; a job's data is far less)
MAX_FORMAT = 255  # characters of a number format: Excel's own limit
# Title and blank rows above the header: rows read past the row cap before stopping.
_ROW_SLACK = 20
# In CSV a decimal without leading zeros is a number, with thousands separators or a percent
# sign as written; "00123", "1e3" or "1,23" stay text.
_CSV_WRITTEN_NUMBER = re.compile(
    r"^(?P<number>-?(?:0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.\d+)?)(?P<percent>%?)$"
)


class _Numbered(dict):  # type: ignore[type-arg]
    """Collects ``name.1``, ``name.2``... before they become a list."""


@dataclass(frozen=True)
class DataFile:
    """A data file's documents, and where each came from, for messages a clerk can act on."""

    documents: list[dict[str, Any]]
    # The sheet row (as the spreadsheet numbers it) of each document; None for JSON.
    rows: list[int] | None = None
    # The top-level names its columns give values to ("basic.students" gives "basic").
    columns: list[str] = field(default_factory=list)
    # The label a header gives before its variable name, by the name: {"day": "填報日期"}.
    labels: dict[str, str] = field(default_factory=dict)

    def places(self) -> list[dict[str, Any]]:
        """Where each document is in the file, as a clerk finds it: its sheet row and the
        first text of the row (the unit's name, most often)."""
        places = []
        for index, data in enumerate(self.documents):
            place: dict[str, Any] = {"row": self.rows[index]} if self.rows else {}
            name = next(
                (value for value in data.values() if isinstance(value, str) and value.strip()), None
            )
            if name:
                place["name"] = name[:40]
            places.append(place)
        return places


def read_uploaded_data_file(tenant: str, filename: str, data: bytes, max_rows: int) -> DataFile:
    """``read_data_file`` as the API reads a tenant's upload: spreadsheets and CSV in a
    bounded child, for ``tenant``; JSON here, where the strict parser counts its values on the
    raw bytes before it builds anything (docrender/data/strict_json.py). Raises
    DataFileTooComplex past READ_SECONDS or the child's memory, TooManyUploads while the
    tenant's previous upload is still being read here."""
    if PurePath(filename or "").suffix.lower() == ".json":
        return read_data_file(filename, data, max_rows)
    try:
        return run_in_child(tenant, READ_SECONDS, read_data_file, filename, data, max_rows)
    except Overran as overran:
        raise DataFileTooComplex(
            _(
                "Reading the data file %(filename)s took more than %(limit)s; a sheet of report "
                "data needs far less. Re-save it with only the data's rows and columns.",
                filename=repr(filename),
                limit=overran.text,
            ),
            {"limit": str(overran.text)},
        ) from None


def read_data_file(filename: str, data: bytes, max_rows: int) -> DataFile:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFileType(
            _(
                "The data file %(filename)s is not .xlsx, .csv or .json; save it as one of those.",
                filename=repr(filename),
            ),
        )
    if not data.strip():
        raise InvalidDataFile(_("The data file %(filename)s is empty.", filename=repr(filename)))
    if suffix == ".json":
        read = DataFile(_json_documents(data))
    else:
        # The header, title rows above it, and one row past the cap, which says it is passed.
        row_cap = max_rows + _ROW_SLACK
        rows = _xlsx_rows(data, row_cap) if suffix == ".xlsx" else _csv_rows(data, row_cap)
        read = _rows_to_documents(rows)
    if not read.documents:
        raise InvalidDataFile(
            _(
                "The data file %(filename)s has a header but no rows of data.",
                filename=repr(filename),
            ),
        )
    if len(read.documents) > max_rows:
        raise PayloadTooLarge(
            _(
                "The data file has more than %(max_rows)s rows; a job may hold at most "
                "%(max_rows)s.",
                max_rows=max_rows,
            ),
            {"limit": max_rows},
        )
    return read


def _json_documents(data: bytes) -> list[dict[str, Any]]:
    try:
        parsed = parse_strict_json(data)
    except InvalidJson as exc:
        raise InvalidDataFile(_("The JSON data file could not be read: %(exc)s", exc=exc)) from None
    if isinstance(parsed, dict) and isinstance(listed := parsed.get("documents"), list):
        parsed = [d.get("data") if isinstance(d, dict) else d for d in listed]
    documents = [d for d in parsed if isinstance(d, dict)] if isinstance(parsed, list) else []
    if not isinstance(parsed, list) or len(documents) != len(parsed):
        raise InvalidDataFile(
            _(
                'A JSON data file holds a list of objects (one per document), or {"documents": '
                '[{"data": {...}}, ...]}.'
            ),
        )
    return documents


def _xlsx_rows(data: bytes, row_cap: int) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows that hold something, with their row numbers: at most
    ``row_cap`` of them, of MAX_COLUMNS columns (data in a column past it is refused)."""
    from openpyxl import load_workbook  # imported here: only spreadsheets need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidDataFile(
            _("The .xlsx file could not be read (%(exc)s); re-save it.", exc=exc),
        ) from None
    try:
        rows: list[tuple[int, list[Any]]] = []
        for number, cells in _sheet_rows(workbook):
            if any(cell.column > MAX_COLUMNS and _xlsx_value(cell) is not None for cell in cells):
                raise _too_wide(number)
            values: list[Any] = [None] * max(
                (c.column for c in cells if c.column <= MAX_COLUMNS), default=0
            )
            for cell in cells:
                if cell.column <= MAX_COLUMNS:
                    values[cell.column - 1] = _xlsx_value(cell)
            if any(value is not None for value in values):
                if len(rows) == row_cap:
                    break
                rows.append((number, values))
        return rows
    finally:
        workbook.close()


def _sheet_rows(workbook: Any) -> Iterator[tuple[int, list[Any]]]:
    """The first sheet's rows as the file holds them: each row's number and the cells written
    in it. openpyxl's own parser, not ``iter_rows``, which pads every row to the width the
    file claims (its ``<dimension>``, or the row's last cell: one cell in column XFD makes a
    row of 16,384) and drops cells past ``max_col`` without a word."""
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.worksheet._reader import WorkSheetParser

    sheet = workbook.worksheets[0]
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            yield number, [ReadOnlyCell(sheet, **cell) for cell in cells]


def _too_wide(row: int) -> InvalidDataFile:
    return InvalidDataFile(
        _(
            "Row %(row)s has data past column %(limit)s; a data file's columns are the "
            "template's variables, far fewer. Delete what is past them and upload it again.",
            row=row,
            limit=MAX_COLUMNS,
        ),
        {"row": row, "limit": MAX_COLUMNS},
    )


# Excel's built-in formats that depend on the locale, as Chinese (zh-CN) Excel shows them;
# openpyxl knows only the en-US ones and reads these cells as plain numbers. 14 is the
# system's short date.
_CHINESE_BUILTIN_FORMATS = {
    14: "yyyy/m/d",
    27: 'yyyy"年"m"月"',
    28: 'm"月"d"日"',
    29: 'm"月"d"日"',
    30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"',
    32: 'h"时"mm"分"',
    33: 'h"时"mm"分"ss"秒"',
    34: '上午/下午h"时"mm"分"',
    35: '上午/下午h"时"mm"分"ss"秒"',
    36: 'yyyy"年"m"月"',
    50: 'yyyy"年"m"月"',
    51: 'm"月"d"日"',
    52: 'yyyy"年"m"月"',
    53: 'm"月"d"日"',
    54: 'm"月"d"日"',
    55: '上午/下午h"时"mm"分"',
    56: '上午/下午h"时"mm"分"ss"秒"',
    57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}


def _xlsx_value(cell: Any) -> Any:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    style = getattr(cell, "style_array", None)
    builtin = _CHINESE_BUILTIN_FORMATS.get(style.numFmtId) if style is not None else None
    number_format = builtin or getattr(cell, "number_format", "General") or "General"
    if builtin and isinstance(value, int | float) and is_date_format(builtin):
        value = from_excel(value)  # a date openpyxl could not tell from its format
    plain = _plain_value(value)
    if number_format in ("General", "@") or isinstance(value, bool):
        return plain
    if len(number_format) > MAX_FORMAT:
        coordinate = getattr(cell, "coordinate", "?")
        raise InvalidDataFile(
            _(
                "Cell %(cell)s's number format is %(length)s characters long; Excel's are at "
                "most %(limit)s. Give the cell a shorter format and upload it again.",
                cell=coordinate,
                length=len(number_format),
                limit=MAX_FORMAT,
            ),
            {"cell": coordinate, "limit": MAX_FORMAT},
        )
    try:
        text = _excel_formatter().format(number_format, value)
    except Exception:  # a format ssf cannot read: the plain value, as before
        return plain
    if not isinstance(text, str) or text.strip() == str(plain) or not text.strip():
        return plain
    return {"type": "cell", "value": plain, "text": text.strip()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@functools.cache
def _excel_formatter() -> Any:
    from ssf import SSF  # imported here: only spreadsheets need it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its locale support, which is not used, warns
        return SSF(locale_support=False, decimal_separator=".", thousands_separator=",")


def _csv_rows(data: bytes, row_cap: int) -> list[tuple[int, list[Any]]]:
    """The rows that hold something, with their line numbers: at most ``row_cap`` of them,
    of MAX_COLUMNS columns (data in a column past it is refused)."""
    text = _decode_csv(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, list[Any]]] = []
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for number, row in enumerate(reader, start=1):
            if any(_csv_value(cell) is not None for cell in row[MAX_COLUMNS:]):
                raise _too_wide(number)
            values = [_csv_value(cell) for cell in row[:MAX_COLUMNS]]
            if any(value is not None for value in values):
                if len(rows) == row_cap:
                    break
                rows.append((number, values))
    except csv.Error as exc:  # a field past the csv module's 131,072 characters, a stray NUL
        raise InvalidDataFile(
            _(
                "The CSV file could not be read at line %(line)s (%(exc)s); re-save it.",
                line=reader.line_num,
                exc=str(exc),
            ),
        ) from None
    return rows


def _decode_csv(data: bytes) -> str:
    """The text of a CSV as Excel and other systems save it: UTF-8 (with or without BOM),
    UTF-16 with its BOM (Excel's "Unicode text", tab-separated), or, in neither, GB18030/GBK
    (Excel on Simplified Chinese Windows) or Big5 (on Traditional), told apart by
    charset-normalizer. When the bytes do not decide it, or the best reading holds characters
    only a wrong reading makes (private-use, replacement), the file is refused rather than
    printed as garbage."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise _undecidable(
                    _("it starts as %(encoding)s but is not", encoding=encoding.upper())
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=list(_LEGACY_CHINESE)).best()
    text = None if best is None else str(best)
    if text is None or _MISDECODED.search(text):
        raise _undecidable(_("its bytes read as none of them cleanly"))
    return text


# Codecs that Chinese Excel saves CSV in, besides UTF-8 and UTF-16.
_LEGACY_CHINESE = {"gb18030": "GB18030/GBK", "big5": "Big5"}
# What a wrong reading leaves: private-use characters and replacement marks.
_MISDECODED = re.compile("[\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")


def _undecidable(why: Message) -> InvalidDataFile:
    return InvalidDataFile(
        _(
            "The CSV file's text encoding could not be told (%(why)s; tried UTF-8, UTF-16, "
            'GB18030/GBK and Big5). In Excel, save it as "CSV UTF-8 (Comma delimited)" and '
            "upload it again.",
            why=why,
        ),
        {"tried": ["UTF-8", "UTF-16", "GB18030/GBK", "Big5"]},
    )


def _csv_value(cell: str) -> Any:
    cell = cell.strip()
    if not cell:
        return None
    written = _CSV_WRITTEN_NUMBER.match(cell)
    if written is None:
        return cell
    digits = written["number"].replace(",", "")
    value: int | float = float(digits) if "." in digits else int(digits)
    if written["percent"]:
        value = float(Decimal(digits) / 100)
    if cell == str(value):
        return value
    return {"type": "cell", "value": value, "text": cell}  # 12.50, 1,234, 21%: as written


def _rows_to_documents(numbered: Sequence[tuple[int, Sequence[Any]]]) -> DataFile:
    """The documents of a sheet's rows that hold something (each with its row number)."""
    if not numbered:
        return DataFile([])
    # A title row above the header (one cell, often merged across the sheet) is skipped: the
    # header is the first row naming more than one column, where the sheet has such a row.
    start = 0
    while (
        start + 1 < len(numbered)
        and _filled(numbered[start][1]) == 1
        and any(_filled(row) > 1 for _, row in numbered[start + 1 :])
    ):
        start += 1
    header_number, header_row = numbered[start]
    labels: dict[str, str] = {}
    header = [
        _header_path(cell, column, header_number, labels)
        for column, cell in enumerate(header_row, start=1)
    ]
    data = numbered[start + 1 :]
    columns = list(dict.fromkeys(path[0] for path in header if path is not None))
    return DataFile(
        [_row_to_data(header, row) for _, row in data],
        [number for number, _ in data],
        columns,
        labels,
    )


def _filled(row: Sequence[Any]) -> int:
    return sum(cell is not None for cell in row)


# A header in the template's words with the variable name after it in brackets (ASCII or
# full-width): 填報日期（day）. A name with brackets could name no variable, so nothing is lost;
# the name in brackets is an ASCII one (a Chinese word in brackets is a unit: 人數（人）).
_ASCII_PATH = re.compile(r"[A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|\d+))*", re.ASCII)
_LABELLED = re.compile(r"^(?P<label>.*?)\s*[(（]\s*(?P<name>[^()（）\s]+)\s*[)）]$", re.DOTALL)


def _header_path(cell: Any, column: int, row: int, labels: dict[str, str]) -> list[str] | None:
    if cell is None:
        return None  # a column without a header is ignored
    name = str(cell.get("text") if isinstance(cell, dict) else cell).strip()
    if (labelled := _LABELLED.match(name)) and _ASCII_PATH.fullmatch(labelled["name"]):
        name = labelled["name"]
        if labelled["label"].strip():
            labels[name] = labelled["label"].strip()
    parts = name.split(".")
    if not all(parts):
        raise InvalidDataFile(
            _(
                "Column %(column)s's header %(name)s (row %(row)s, taken as the header row) has an"
                " empty part; header cells name the template's variables, such as unit or "
                "basic.students.",
                column=column,
                name=repr(name),
                row=row,
            ),
        )
    return parts


def _row_to_data(header: Sequence[list[str] | None], row: Sequence[Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for column, path in enumerate(header):
        if path is not None:  # a row ends at its last cell: the columns after it are empty
            _place(tree, path, row[column] if column < len(row) else None)
    finished: dict[str, Any] = _finish(tree)
    return finished


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
