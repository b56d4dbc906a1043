"""The fill-in sheet names exactly the columns a template reads, and a sheet filled in as it
comes back fits the template."""

from __future__ import annotations

import pytest

from docrender.data.files import read_data_file
from docrender.data.validation import check_documents
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
    assert sheet_columns(template, inspection) == [
        "unit",
        "basic.code",
        "facts.1.item",
        "facts.1.value",
        "facts.2.item",
        "facts.2.value",
        "honours.1",
        "honours.2",
        "honours.3",
        "loop_free",
    ]


@pytest.mark.parametrize(
    "template",
    [SAMPLE_TEMPLATE.read_bytes(), SAMPLE_TEMPLATE.with_name("unit-summary.docx").read_bytes()],
)
def test_the_sheet_as_downloaded_fits_its_template(template: bytes) -> None:
    inspection = inspect_template(template)
    sheet = read_data_file("fill-in.xlsx", fill_in_sheet(template, inspection), 10)
    assert len(sheet.documents) == 1  # the sample row
    check_documents(inspection, sheet.documents, sheet.places())  # raises if it does not fit
