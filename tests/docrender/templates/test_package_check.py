"""Hostile DOCX packages are refused at upload, before any parser inflates them."""

from __future__ import annotations

import pytest

from docrender.errors import PayloadTooLarge, UnsafeTemplate
from docrender.templates.tags import inspect_template
from tests.helpers.documents import external, make_docx, tamper


def field_runs(*parts: str) -> bytes:
    """A complex field as Word writes it: begin, instruction runs, separate, end."""
    runs = "".join(f"<w:r><w:instrText>{part}</w:instrText></w:r>" for part in parts)
    return (
        f'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    ).encode()


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


W_MAIN = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


@pytest.mark.parametrize(
    ("package", "problem"),
    [
        # TargetMode in single quotes, and spelled with a character reference
        (
            tamper(
                rels=b"<Relationship Id='rIdQ' TargetMode='External' Target='http://127.0.0.1:9/x'"
                b" Type='http://schemas.openxmlformats.org/officeDocument/2006/relationships/image'/>"
            ),
            "external image",
        ),
        (
            tamper(
                rels=b'<Relationship Id="rIdQ" TargetMode="&#69;xternal" Target="http://127.0.0.1:9/x"'
                b' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"/>'
            ),
            "external image",
        ),
        # CDATA, another prefix for Word's namespace, the strict namespace
        (
            tamper(body=field_runs("<![CDATA[ INCLUDEPICTURE ]]>", ' "http://127.0.0.1:9/x.png" ')),
            "INCLUDEPICTURE",
        ),
        (
            tamper(
                body=f'<q:p xmlns:q="{W_MAIN}"><q:r><q:instrText> INCLUDETEXT "/etc/passwd" '
                "</q:instrText></q:r></q:p>".encode()
            ),
            "INCLUDETEXT",
        ),
        (
            tamper(
                body=b'<w:p><s:fldSimple xmlns:s="http://purl.oclc.org/ooxml/wordprocessingml/main"'
                b' s:instr=" DDE cmd x "/></w:p>'
            ),
            "DDE",
        ),
        # a part outside word/, a VBA project under another name, a declared macro type
        (
            tamper(
                {
                    "customXml/evil.xml": f'<w:p xmlns:w="{W_MAIN}"><w:fldSimple w:instr="LINK x"/></w:p>'.encode()
                }
            ),
            "LINK",
        ),
        (tamper({"word/media/image9.png": OLE}), "OLE object or macros"),
        (
            tamper(
                {
                    "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                    b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                    b'vnd.ms-word.document.&#109;acroEnabled.main+xml"/></Types>'
                }
            ),
            "macro-enabled",
        ),
        # a document merged in whole (altChunk): its text would print
        (
            tamper(
                {"word/extra.docx": make_docx("hidden")},
                rels=b'<Relationship Id="rIdA" Target="extra.docx" Type="http://schemas.openxml'
                b'formats.org/officeDocument/2006/relationships/aFChunk"/>',
            ),
            "altChunk",
        ),
    ],
    ids=[
        "single-quotes",
        "char-reference",
        "cdata",
        "other-prefix",
        "strict-namespace",
        "outside-word",
        "renamed-vba",
        "macro-type",
        "altchunk",
    ],
)
def test_packages_are_parsed_not_pattern_matched(package: bytes, problem: str) -> None:
    with pytest.raises(UnsafeTemplate) as caught:
        inspect_template(package)
    assert problem in caught.value.message
