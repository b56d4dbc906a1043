from __future__ import annotations

import pytest

from docrender.errors import InvalidTemplate, TemplateSyntaxError, UnsupportedFileType
from docrender.templates.tags import inspect_template
from tests.helpers.documents import make_docx


def test_lists_top_level_variables_sorted_from_body_and_footer() -> None:
    template = make_docx(
        "{{ unit }} {{ basic.students }}",
        "{%p for s in sections %}",
        "{{ s.heading }} {{ loop.index }}",
        "{%p endfor %}",
        footer="{{ date }}",
    )
    assert inspect_template(template).variables == ["basic", "date", "sections", "unit"]


def test_sample_template_reads_the_report_fields(sample_template: bytes) -> None:
    assert inspect_template(sample_template).variables == [
        "closing",
        "date",
        "facts",
        "honours",
        "opening",
        "sections",
        "signature",
        "subtitle",
        "title",
        "unit",
    ]


def test_not_a_docx_is_an_unsupported_file_type() -> None:
    with pytest.raises(UnsupportedFileType):
        inspect_template(b"%PDF-1.7 not a word file")


def test_a_zip_that_is_not_a_word_document_is_refused() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedFileType, match="not a Word document"):
        inspect_template(buffer.getvalue())


def test_damaged_docx_is_invalid() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not-closed")
    with pytest.raises(InvalidTemplate):
        inspect_template(buffer.getvalue())


def test_syntax_error_names_the_tag() -> None:
    template = make_docx("fine {{ unit }}", "broken {{ unit | }}", "also fine")
    with pytest.raises(TemplateSyntaxError) as caught:
        inspect_template(template)
    assert "{{ unit | }}" in caught.value.message
    assert caught.value.details["tags"] == ["{{ unit | }}"]
    assert caught.value.details["part"] == "body"


def test_unclosed_block_is_a_syntax_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="endfor"):
        inspect_template(make_docx("{%p for x in items %}", "{{ x }}"))


def test_loops_are_listed_with_their_nesting() -> None:
    template = make_docx(
        "{%p for s in sections %}",
        "{%p for p in s.points %}",
        "{{ p }}",
        "{%p endfor %}",
        "{%p endfor %}",
        "{%p for k in basic.list %}",
        "{%p endfor %}",
        "{%p for x in items | sort %}",  # computed: its shape is unknown, so not listed
        "{%p endfor %}",
    )
    assert inspect_template(template).loops == ["basic.list", "sections", "sections[].points"]
