from __future__ import annotations

import io
import json

import pytest
from openpyxl import Workbook

from docrender.datafile import read_documents
from docrender.errors import InvalidDataFile, PayloadTooLarge, UnsupportedFileType

CSV = (
    "unit,basic.students,basic.code,honours.1,honours.2,facts.1.item,facts.1.value,date\n"
    "沙灣五小,766,00123,平安校園,,在校生,766人,2012年5月\n"
    "二中,,1e3,,,,,\n"
)


def test_csv_headers_build_objects_and_lists() -> None:
    first, second = read_documents("units.csv", CSV.encode(), 100)
    assert first == {
        "unit": "沙灣五小",
        "basic": {"students": 766, "code": "00123"},  # numbers stay numbers, zeros stay
        "honours": ["平安校園"],  # blanks dropped
        "facts": [{"item": "在校生", "value": "766人"}],
        "date": "2012年5月",
    }
    # Empty plain cells are missing values; a numbered group is always a list.
    assert second == {"unit": "二中", "basic": {"code": "1e3"}, "honours": [], "facts": []}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(encoding: str) -> None:
    documents = read_documents("units.csv", CSV.encode(encoding), 100)
    assert [d["unit"] for d in documents] == ["沙灣五小", "二中"]
    assert documents[0]["honours"] == ["平安校園"]


def test_gbk_csv_is_not_garbled() -> None:
    text = "unit,date\n沙湾五小,2012年5月\n"  # simplified: all in GBK
    assert read_documents("u.csv", text.encode("gbk"), 10) == [
        {"unit": "沙湾五小", "date": "2012年5月"}
    ]


def test_xlsx_numbers_and_dates() -> None:
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["unit", "basic.students", "basic.share", "date", "honours.1", "honours.2"])
    sheet.append(["沙灣五小", 766, 0.25, dt.datetime(2012, 5, 1), "平安校園", None])
    sheet.append([None, None, None, None, None, None])  # blank rows are skipped
    out = io.BytesIO()
    book.save(out)
    assert read_documents("units.xlsx", out.getvalue(), 10) == [
        {"unit": "沙灣五小", "basic": {"students": 766, "share": 0.25}, "date": "2012-05-01",
         "honours": ["平安校園"]},
    ]  # fmt: skip


def test_json_lists_and_job_bodies() -> None:
    rows = [{"unit": "a"}, {"unit": "b"}]
    assert read_documents("d.json", json.dumps(rows).encode(), 10) == rows
    body = {"documents": [{"data": {"unit": "a"}, "name": "x"}]}
    assert read_documents("d.json", json.dumps(body).encode(), 10) == [{"unit": "a"}]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("units.txt", b"a,b", UnsupportedFileType),
        ("units.csv", b"", InvalidDataFile),
        ("units.csv", b"unit,date\n", InvalidDataFile),
        ("units.xlsx", b"not a workbook", InvalidDataFile),
        ("units.json", b"{broken", InvalidDataFile),
        ("units.json", b'{"unit": "a"}', InvalidDataFile),
        ("units.json", b'[{"unit": "\\ud800"}]', InvalidDataFile),  # a lone surrogate
        ("units.json", b'[{"unit": 1e999}]', InvalidDataFile),
        ("units.csv", b"unit\n" + b"a\n" * 11, PayloadTooLarge),
        ("units.csv", b"unit,a..b\nx,y\n", InvalidDataFile),
    ],
)
def test_bad_files_say_what_is_wrong(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_documents(name, data, 10)
