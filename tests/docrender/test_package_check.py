"""Hostile DOCX packages are refused at upload, before any parser inflates them."""

from __future__ import annotations

import pytest

from docrender.errors import PayloadTooLarge, UnsafeTemplate
from docrender.templating import inspect_template
from tests.helpers.documents import external, tamper


def field_runs(*parts: str) -> bytes:
    """A complex field as Word writes it: begin, instruction runs, separate, end."""
    runs = "".join(f"<w:r><w:instrText>{part}</w:instrText></w:r>" for part in parts)
    return (f'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>').encode()  # fmt: skip


def field(*parts: str) -> bytes:
    runs = "".join(f"<w:r><w:instrText>{part}</w:instrText></w:r>" for part in parts)
    return f"<w:p>{runs}</w:p>".encode()


def test_a_clean_template_with_a_web_link_passes() -> None:
    inspect_template(tamper(rels=external("hyperlink", "https://example.org/")))


@pytest.mark.parametrize(
    ("package", "problem"),
    [
        (tamper({"word/vbaProject.bin": b"\xd0\xcf"}), "macros"),
        (tamper({"word/embeddings/oleObject1.bin": b"\xd0\xcf"}), "embedded OLE object"),
        (tamper({"word/activeX/activeX1.xml": b"<x/>"}), "ActiveX"),
        (tamper({"../../etc/evil": b"x"}), "outside the document"),
        (tamper(rels=external("image", "http://127.0.0.1:9/canary.png")), "external image"),
        (tamper(rels=external("hyperlink", "file:///etc/passwd")), "external hyperlink"),
        (tamper(rels=external("attachedTemplate", "file:///x.dotm")), "attachedTemplate"),
        (tamper(body=field(" INCLUDE", 'PICTURE "http://127.0.0.1:9/x.png" ')), "INCLUDEPICTURE"),
        (tamper(body=field(' INCLUDETEXT "/etc/passwd" ')), "INCLUDETEXT"),
        (tamper(body=b'<w:p><w:fldSimple w:instr=" DDEAUTO cmd x "/></w:p>'), "DDEAUTO"),
    ],
)
def test_hostile_parts_are_refused_naming_them(package: bytes, problem: str) -> None:
    with pytest.raises(UnsafeTemplate) as caught:
        inspect_template(package)
    assert problem in caught.value.message
    assert caught.value.details


def test_zip_bomb_is_refused_before_inflating() -> None:
    bomb = tamper({"word/media/padding.xml": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # small on the wire...
    with pytest.raises(PayloadTooLarge, match="zip bombs"):
        inspect_template(bomb)


def test_huge_entry_counts_are_refused() -> None:
    many = tamper({f"customXml/extra{i}.xml": b"<a/>" for i in range(2100)})
    with pytest.raises(PayloadTooLarge, match="holds"):
        inspect_template(many)


@pytest.mark.parametrize(
    "body",
    [
        # A web link whose address says "link" is a HYPERLINK field, not a LINK field.
        b"<w:p><w:fldSimple w:instr=' HYPERLINK \"https://example.org/?link=1\" '/></w:p>",
        field_runs(' HYPERLINK "https://example.org/?link=1&amp;dde=2" '),
    ],
)
def test_fields_are_judged_by_their_name_not_their_arguments(body: bytes) -> None:
    inspect_template(tamper(body=body))


@pytest.mark.parametrize(
    "body",
    [
        field_runs(" &#73;NCLUDEPICTURE", ' "http://127.0.0.1:9/x.png" '),  # a character reference
        field_runs(" INCLUDE", "PICTURE", ' "http://127.0.0.1:9/x.png" '),  # split over runs
        b"<w:p><w:fldSimple w:instr='LINK Excel.Sheet.8 \"C:\\\\x.xls\" ' /></w:p>",  # single quotes
    ],
)
def test_dangerous_fields_are_found_however_they_are_spelled(body: bytes) -> None:
    with pytest.raises(UnsafeTemplate):
        inspect_template(tamper(body=body))
