from __future__ import annotations

import io
import json

import pytest
from openpyxl import Workbook

from docrender.data.files import read_data_file
from docrender.errors import InvalidDataFile, PayloadTooLarge, UnsupportedFileType

CSV = (
    "unit,basic.students,basic.code,honours.1,honours.2,facts.1.item,facts.1.value,date\n"
    "沙灣五小,766,00123,平安校園,,在校生,766人,2012年5月\n"
    "二中,,1e3,,,,,\n"
)


def test_csv_headers_build_objects_and_lists() -> None:
    first, second = read_data_file("units.csv", CSV.encode(), 100).documents
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
    documents = read_data_file("units.csv", CSV.encode(encoding), 100).documents
    assert [d["unit"] for d in documents] == ["沙灣五小", "二中"]
    assert documents[0]["honours"] == ["平安校園"]


def test_gbk_csv_is_not_garbled() -> None:
    text = "unit,date\n沙湾五小,2012年5月\n"  # simplified: all in GBK
    assert read_data_file("u.csv", text.encode("gbk"), 10).documents == [
        {"unit": "沙湾五小", "date": "2012年5月"}
    ]


def test_xlsx_numbers_and_dates() -> None:
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["unit", "basic.students", "basic.share", "date", "honours.1", "honours.2"])
    sheet.append(["沙灣五小", 766, 0.25, dt.datetime(2012, 5, 1), "平安校園", None])
    sheet.append([None, None, None, None, None, None])  # blank rows are skipped
    sheet["D2"].number_format = "yyyy-mm-dd"  # a date cell, as Excel formats one
    out = io.BytesIO()
    book.save(out)
    assert read_data_file("units.xlsx", out.getvalue(), 10).documents == [
        {
            "unit": "沙灣五小",
            "basic": {"students": 766, "share": 0.25},
            "date": "2012-05-01",
            "honours": ["平安校園"],
        },
    ]


def test_json_lists_and_job_bodies() -> None:
    rows = [{"unit": "a"}, {"unit": "b"}]
    assert read_data_file("d.json", json.dumps(rows).encode(), 10).documents == rows
    body = {"documents": [{"data": {"unit": "a"}, "name": "x"}]}
    assert read_data_file("d.json", json.dumps(body).encode(), 10).documents == [{"unit": "a"}]


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
        read_data_file(name, data, 10)


def xlsx(header: list[str], row: list[object], formats: dict[str, str]) -> bytes:
    book = Workbook()
    book.active.append(header)
    book.active.append(row)
    for cell, number_format in formats.items():
        book.active[cell].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def builtin_format(data: bytes, number_format: str, builtin_id: int) -> bytes:
    """The workbook with a custom number format swapped for one of Excel's built-in ids, as
    Chinese Excel saves 2012年5月1日 (id 31): openpyxl alone only knows the en-US ones."""
    import re
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/styles.xml":
                text = content.decode()
                code = number_format.replace('"', "&quot;")
                custom = re.search(
                    rf'<numFmt numFmtId="(\d+)" formatCode="{re.escape(code)}"/>', text
                )
                assert custom, text
                text = text.replace(custom.group(0), "").replace(
                    f'numFmtId="{custom.group(1)}"', f'numFmtId="{builtin_id}"'
                )
                content = text.encode()
            archive.writestr(item, content)
    return out.getvalue()


def test_xlsx_cells_print_as_the_sheet_shows_them() -> None:
    import datetime as dt

    data = xlsx(
        ["ratio", "price", "count", "day", "code", "plain"],
        [0.21, 12.5, 1234, dt.date(2012, 5, 1), "00123", 7],
        {"A2": "0%", "B2": "0.00", "C2": "#,##0", "D2": 'yyyy"年"m"月"d"日"'},
    )
    assert read_data_file("units.xlsx", data, 10).documents == [
        {
            "ratio": {"type": "cell", "value": 0.21, "text": "21%"},
            "price": {"type": "cell", "value": 12.5, "text": "12.50"},
            "count": {"type": "cell", "value": 1234, "text": "1,234"},
            "day": {"type": "cell", "value": "2012-05-01", "text": "2012年5月1日"},
            "code": "00123",  # text stays text
            "plain": 7,  # a number shown plainly stays a plain number
        }
    ]


def test_chinese_excels_built_in_date_formats_are_dates() -> None:
    import datetime as dt

    custom = 'yyyy"年"m"月"d"日"'
    data = builtin_format(xlsx(["day"], [dt.date(2012, 5, 1)], {"A2": custom}), custom, 31)
    assert read_data_file("units.xlsx", data, 10).documents == [
        {"day": {"type": "cell", "value": "2012-05-01", "text": "2012年5月1日"}}
    ]


def test_csv_numbers_keep_their_written_form() -> None:
    documents = read_data_file(
        "u.csv", b'a,b,c,d,e,f,g\n12.50,"1,234",21%,00123,7,-3.5,1,23\n', 10
    ).documents
    assert documents[0] == {
        "a": {"type": "cell", "value": 12.5, "text": "12.50"},
        "b": {"type": "cell", "value": 1234, "text": "1,234"},
        "c": {"type": "cell", "value": 0.21, "text": "21%"},
        "d": "00123",
        "e": 7,
        "f": -3.5,
        "g": 1,
    }


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [("big5", ","), ("gb18030", ","), ("utf-16", "\t"), ("utf-8-sig", ",")],
)
def test_traditional_and_simplified_excel_encodings(encoding: str, separator: str) -> None:
    text = f"單位{separator}人數\n沙灣縣第二中學{separator}766\n阜康市第二中學{separator}1200\n"
    if encoding == "gb18030":
        text = text.replace("單位", "单位").replace("沙灣縣", "沙湾县")
    documents = read_data_file("u.csv", text.encode(encoding), 10).documents
    assert [d["人數"] for d in documents] == [766, 1200]
    assert documents[1]["單位" if encoding != "gb18030" else "单位"] == "阜康市第二中學"


@pytest.mark.parametrize(
    "data", ["name,city\nJosé,Zürich\n".encode("latin-1"), bytes(range(128, 256)) * 3]
)
def test_undecidable_bytes_are_refused_saying_what_was_tried(data: bytes) -> None:
    with pytest.raises(
        InvalidDataFile, match="tried UTF-8, UTF-16, GB18030/GBK and Big5"
    ) as caught:
        read_data_file("u.csv", data, 10)
    assert "CSV UTF-8" in caught.value.message


def test_reading_stops_at_the_row_cap() -> None:
    rows = "unit\n" + "".join(f"第{i}校\n" for i in range(50_000))
    with pytest.raises(PayloadTooLarge, match="more than 100 rows"):
        read_data_file("units.csv", rows.encode(), 100)
    book = Workbook()
    for i in range(300):
        book.active.append([f"第{i}校"] if i else ["unit"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(PayloadTooLarge, match="more than 100 rows"):
        read_data_file("units.xlsx", out.getvalue(), 100)


def test_rows_keep_their_sheet_numbers_past_gaps() -> None:
    book = Workbook()
    book.active.append(["unit", "count"])
    book.active["A9000"] = "甲"
    out = io.BytesIO()
    book.save(out)
    assert read_data_file("units.xlsx", out.getvalue(), 100).documents == [{"unit": "甲"}]


def test_csv_rows_wider_than_the_column_cap_or_its_fields_are_refused() -> None:
    wide = "unit,count\n甲," + "," * 300 + "far\n"
    with pytest.raises(InvalidDataFile, match="Row 2 has data past column 256"):
        read_data_file("units.csv", wide.encode(), 100)
    huge_field = 'unit,note\n甲,"' + "長" * 200_000 + '"\n'
    with pytest.raises(InvalidDataFile, match="at line 2"):
        read_data_file("units.csv", huge_field.encode(), 100)


def test_a_number_format_longer_than_excels_is_refused_naming_the_cell() -> None:
    book = Workbook()
    book.active.append(["unit", "share"])
    book.active.append(["甲", 0.5])
    book.active["B2"].number_format = "0." + "0" * 300
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidDataFile, match="Cell B2's number format is 302 characters"):
        read_data_file("units.xlsx", out.getvalue(), 100)
