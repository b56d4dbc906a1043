"""Word's character grid rewritten for LibreOffice (workers/fill/grid.py), given what a template
may hold besides Word's usual numbers: measures with units, as the schema allows them, and
values Word would not read, which are ignored rather than failing the document. (The grid
printed through the real stack: tests/e2e/test_gongwen_grid.py.)"""

from __future__ import annotations

import io

import docx
import pytest
from docx.document import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from tests.helpers.documents import make_docx
from workers.fill import grid


def on_a_grid(char_space: str, size: str | None) -> Document:
    """A document of one Chinese run on a 28-character grid, its size given as ``size``."""
    document = docx.Document(io.BytesIO(make_docx("关于开展民族团结进步创建活动的通知")))
    section = document.element.body.find(qn("w:sectPr"))
    for old in section.findall(qn("w:docGrid")):
        section.remove(old)
    grid_element = OxmlElement("w:docGrid")
    grid_element.set(qn("w:type"), "linesAndChars")
    grid_element.set(qn("w:linePitch"), "579")
    grid_element.set(qn("w:charSpace"), char_space)
    section.append(grid_element)
    if size is not None:
        run = document.element.body.find(f".//{qn('w:r')}")
        properties = run.find(qn("w:rPr"))
        if properties is None:
            properties = OxmlElement("w:rPr")
            run.insert(0, properties)
        measure = OxmlElement("w:sz")
        measure.set(qn("w:val"), size)
        properties.append(measure)
    return document


def spacing(document: Document) -> list[str | None]:
    return [element.get(qn("w:val")) for element in document.element.body.iter(qn("w:spacing"))]


def test_a_size_with_its_unit_is_read_as_word_reads_it() -> None:
    in_half_points, in_points = on_a_grid("-3355", "32"), on_a_grid("-3355", "16pt")
    assert grid.fit_character_grid(in_half_points) and grid.fit_character_grid(in_points)
    assert spacing(in_points) == spacing(in_half_points) != []


@pytest.mark.parametrize(
    "char_space, size",
    [
        ("abc", "32"),
        ("-3355", "large"),
        ("-3355", "99999999999"),
        ("1e400", "16pt"),
        ("-3355", "9999999pt"),
    ],
)
def test_values_word_would_not_read_are_ignored_not_a_failure(char_space: str, size: str) -> None:
    document = on_a_grid(char_space, size)
    assert grid.fit_character_grid(document)  # was a ValueError: the document failed
    grid_element = document.element.body.find(f".//{qn('w:docGrid')}")
    assert grid_element.get(qn("w:type")) == "lines"
    assert all(value is not None and abs(int(value)) < 1 << 20 for value in spacing(document))
