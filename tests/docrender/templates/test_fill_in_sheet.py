"""The fill-in sheet is a clerk's: it names exactly the columns a template reads, each in the
template's own words with the variable name in brackets, its dates and numbers typed, enough
items for a loop, no example row to send by mistake, and what to type said on a sheet of its
own in her language; a sheet filled in as it comes back fits the template."""

from __future__ import annotations

import datetime as dt
import io

import docx
import openpyxl
import pytest

from docrender.data.files import read_data_file
from docrender.data.validation import check_documents
from docrender.errors import InvalidDataFile
from docrender.templates.fill_in_sheet import fill_in_sheet, sheet_columns
from docrender.templates.tags import inspect_template
from tests.helpers.documents import make_docx
from tests.helpers.samples import SAMPLE_TEMPLATE


def test_loops_become_numbered_columns_item_by_item() -> None:
    template = make_docx(
        "{{ unit }} {{ basic.code }}",
        "{% for f in facts %}{{ f.item }}: {{ f.value }}{% endfor %}",
        "{% for h in honours %}{{ h }}{% endfor %}{{ loop_free|default('') }}",
    )
    inspection = inspect_template(template)
    columns = sheet_columns(template, inspection)
    facts = [f"facts.{n}.{field}" for n in range(1, 7) for field in ("item", "value")]
    assert columns == [
        "unit",
        "basic.code",
        *facts,  # six items: the sample data needs six
        *[f"honours.{n}" for n in range(1, 13)],  # twelve plain values
        "loop_free",
    ]


def report_with_labels() -> bytes:
    """A form as a bureau writes it: labels before colons, and a table whose header row names
    the columns of a {%tr for %} loop."""
    document = docx.Document()
    document.add_paragraph("{{ unit }}")
    document.add_paragraph('填報日期：{{ day|date("%Y年%-m月%-d日") }}')
    document.add_paragraph("經費總額：{{ budget|thousands }} 元")
    table = document.add_table(rows=4, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "項目", "金額"
    table.cell(1, 0).text = "{%tr for f in facts %}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{{ f.item }}", "{{ f.amount|fixed(2) }}"
    table.cell(3, 0).text = "{%tr endfor %}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_headers_are_the_templates_words_and_cells_are_typed() -> None:
    template = report_with_labels()
    inspection = inspect_template(template)
    book = openpyxl.load_workbook(io.BytesIO(fill_in_sheet(template, inspection, "zh-Hant")))
    data, how = book.worksheets
    headers = [cell.value for cell in data[1]]
    assert headers[:5] == [
        "unit",
        "填報日期（day）",
        "經費總額（budget）",
        "項目 1（facts.1.item）",
        "金額 1（facts.1.amount）",
    ]
    # No example row to send by mistake (the typed cells below are formatted, and empty).
    assert not any(any(row) for row in data.iter_rows(min_row=2, values_only=True))
    rules = {str(rule.sqref): rule for rule in data.data_validations.dataValidation}
    assert rules["B2:B1001"].type == "date" and "2012/5/1" in rules["B2:B1001"].error
    assert rules["C2:C1001"].type == "decimal" and rules["E2:E1001"].type == "decimal"
    assert data["B2"].number_format == "yyyy/m/d"
    assert how.title == "填寫說明"
    said = [row[1] for row in how.iter_rows(values_only=True) if row[0] == "填報日期（day）"]
    assert said == ["日期，如 2012/5/1"]
    # Filled in as a clerk fills it, it reads back by the names in brackets.
    filled = ["沙灣縣第一中學", dt.datetime(2012, 5, 1), 1640000, "人數", 12.5]
    for column, value in enumerate(filled, start=1):
        data.cell(2, column).value = value
    out = io.BytesIO()
    book.save(out)
    read = read_data_file("填報.xlsx", out.getvalue(), 10)
    (row,) = read.documents
    assert row["unit"] == "沙灣縣第一中學" and row["facts"] == [{"item": "人數", "amount": 12.5}]
    assert read.labels["day"] == "填報日期"
    check_documents(inspection, read.documents)


def test_a_sheet_downloaded_and_sent_unfilled_is_refused() -> None:
    template = report_with_labels()
    sheet = fill_in_sheet(template, inspect_template(template))
    with pytest.raises(InvalidDataFile, match="no rows of data"):
        read_data_file("fill-in.xlsx", sheet, 10)


@pytest.mark.parametrize(
    "template",
    [SAMPLE_TEMPLATE.read_bytes(), SAMPLE_TEMPLATE.with_name("unit-summary.docx").read_bytes()],
)
def test_the_sheet_filled_in_fits_its_template(template: bytes) -> None:
    inspection = inspect_template(template)
    book = openpyxl.load_workbook(io.BytesIO(fill_in_sheet(template, inspection)))
    data = book.worksheets[0]
    for column in range(1, data.max_column + 1):  # every column filled
        data.cell(2, column).value = "1"
    out = io.BytesIO()
    book.save(out)
    sheet = read_data_file("fill-in.xlsx", out.getvalue(), 10)
    assert len(sheet.documents) == 1
    check_documents(inspection, sheet.documents, sheet.places())  # raises if it does not fit
