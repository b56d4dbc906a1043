"""Several documents of one template converted in one LibreOffice load, then split apart.

Most of LibreOffice's work per document is fixed: loading the package and its styles, setting
up layout and the PDF export. Measured on the sample reports, a report converted alone costs
about ten times what it adds inside a larger document (bench/results). So the documents of a
job, all filled from the same template, are put one after the other in one DOCX, each in its
own section (its own header and footer, page numbers from 1), converted once, and the PDF is
cut at the first page of each document, found through a bookmark LibreOffice exports as a
named destination. Each cut document carries only what it draws itself: its own fonts, glyphs,
widths and ToUnicode entries, nothing of its neighbours (workers/pdf/separation.py).

Only what stays the same when documents sit side by side is combined: see ``batchable``.
Anything else (numbered lists that would count on across documents, NUMPAGES, footnotes,
cross-references, several sections, relationships added by the data) converts one by one.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import pikepdf
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.parts.image import ImagePart
from lxml import etree

from docrender.fonts.template import default_script
from docrender.jobs.formats import PLAIN
from docrender.templates.styles import StyleSheet
from workers.pdf import separation
from workers.pdf.outlines import Outline

# Named destinations of the documents' first paragraphs: "DocrenderStart0", ... (letters and
# digits only: LibreOffice escapes other characters in destination names).
MARKER_PREFIX = "DocrenderStart"
# unoserver filter options for a combined document: a plain PDF's (each document's cut is what
# it would be converted alone), and Writer bookmarks become named destinations.
SPLIT_FILTER_OPTIONS = [*PLAIN, "ExportBookmarksToPDFDestination=true"]

_HEADER_FOOTER = {RT.HEADER, RT.FOOTER}
# Fields whose result depends on the whole document rather than the page or the data.
_FIELD_NAME = re.compile(r"^\s*([A-Za-z]+)")
_PAGE_LOCAL_FIELDS = {"PAGE"}
_ALLOWED_NUMBER_FORMATS = {"bullet", "none"}


def carries_fonts(document: Document) -> bool:
    """Whether the document embeds fonts (its font table's relationships name font parts).
    LibreOffice would keep them for the documents it converts after: such a document converts
    alone, on an instance stopped right after it."""
    return any(
        rel.reltype == RT.FONT
        for part in document.part.package.iter_parts()
        for rel in part.rels.values()
    )


def batchable(document: Document) -> bool:
    """Whether a document filled from this template reads the same when converted as part
    of a combined document. Checked on a filled document, so the answer covers what the
    template's tags produced."""
    if carries_fonts(document):
        return False  # its fonts must print in it alone
    body = document.element.body
    if body.findall(f".//{qn('w:pPr')}/{qn('w:sectPr')}"):
        return False  # several sections: page styles and numbering restarts get ambiguous
    if body.find(qn("w:sectPr")) is None or len(body) < 2:
        return False
    for tag in ("w:footnoteReference", "w:endnoteReference", "w:commentReference"):
        if body.find(f".//{qn(tag)}") is not None:
            return False
    for name in body.iter(qn("w:bookmarkStart")):
        if name.get(qn("w:name")) != "_GoBack":
            return False  # duplicate names across documents would break internal links
    for story in [body, *_header_footer_elements(document)]:
        if not _fields_are_page_local(story):
            return False
    return _lists_are_bulleted(document)


def compatible(first: Document, other: Document) -> bool:
    """Whether ``other``'s body can move into ``first``'s package unchanged (``conversion_key``)."""
    return conversion_key(first) == conversion_key(other)


def conversion_key(document: Document) -> Hashable:
    """What documents converted together must share, read once per document so that grouping
    a job is one lookup a document: the same relationships (images, hyperlinks, styles...)
    under the same ids, the same pictures, byte for byte (two documents' pictures may share a
    part name, media/image4.png, and differ: each unit's photo, or its seal swapped in for the
    template's by workers/fill/pictures.py; a moved body or header would show the first's),
    and the same default language (settled per document from its text: it picks the
    Simplified or Traditional glyph forms, and a moved body would take the first's). Data-made
    links or images differ, and such a document converts alone."""
    images = sorted(
        (str(part.partname), hashlib.sha1(part.blob).hexdigest())
        for part in document.part.package.iter_parts()
        if isinstance(part, ImagePart)
    )
    return (
        tuple(sorted(_body_relationships(document).items())),
        tuple(images),
        default_script(document.styles.element),
    )


def combine(documents: Sequence[Document]) -> Document:
    """One document holding each of ``documents`` (filled from one template, each
    ``batchable`` and ``compatible`` with the first) as its own section. Consumes them."""
    combined = documents[0]
    body = combined.element.body
    _mark_start(list(body), 0)
    for position, document in enumerate(documents[1:], start=1):
        previous_section = body[-1]  # the body-level sectPr, which now ends the previous one
        other_body = document.element.body
        section = _adopt_header_footer_parts(combined, document, other_body[-1])
        _restart_page_numbers(section)
        _end_section_here(body, previous_section)
        content = list(other_body)[:-1]
        _mark_start(content, position)
        for element in content:
            body.append(element)
        body.append(section)
    return combined


@dataclass(frozen=True)
class Cut:
    """One document's share of a combined conversion: its pages there, and its own PDF (None
    when its own share of the fonts cannot be told for sure: cut, it could carry its
    neighbours' text, so it converts alone)."""

    pages: range
    pdf: bytes | None


def split(pdf: bytes, documents: Sequence[Document]) -> list[Cut]:
    """Cut a combined PDF back into one PDF per document, at their named destinations. Each
    gets its own document's title, author, subject and keywords (the combined conversion gave
    them all the first one's), its part of the outline, and only the fonts, glyphs and images it
    draws (workers/pdf/separation.py)."""
    with pikepdf.open(io.BytesIO(pdf)) as combined:
        starts = _starts(combined, len(documents))
        ranges = [
            range(start, end) for start, end in itertools.pairwise([*starts, len(combined.pages)])
        ]
        separated = separation.separate(combined, ranges)
        outline = Outline(combined)
        return [
            Cut(pages, _extract(combined, pages, outline, document) if own else None)
            for pages, document, own in zip(ranges, documents, separated, strict=True)
        ]


def _starts(pdf: pikepdf.Pdf, count: int) -> list[int]:
    """The first page of each of ``count`` documents, from their named destinations."""
    destinations: dict[str, pikepdf.Object] = {}
    if "/Dests" in pdf.Root:  # where LibreOffice writes them
        destinations.update((str(name), value) for name, value in pdf.Root.Dests.items())
    if "/Names" in pdf.Root and "/Dests" in pdf.Root.Names:
        tree = pikepdf.NameTree(pdf.Root.Names.Dests)
        destinations.update((f"/{name}", value) for name, value in tree.items())
    page_index = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
    starts = []
    for position in range(count):
        destination = destinations.get(f"/{MARKER_PREFIX}{position}")
        if isinstance(destination, pikepdf.Dictionary):
            destination = destination.get("/D")
        page = page_index.get(destination[0].objgen) if destination is not None else None
        if page is None:
            raise ValueError(f"the combined PDF has no start for document {position}")
        starts.append(page)
    if starts[0] != 0 or any(a >= b for a, b in itertools.pairwise(starts)):
        raise ValueError(f"document starts out of order: {starts}")
    return starts


def _extract(combined: pikepdf.Pdf, pages: range, outline: Outline, document: Document) -> bytes:
    with pikepdf.new() as part:
        part.pages.extend(combined.pages[pages.start : pages.stop])
        # As converted alone: the text's language, and the title shown instead of the file name.
        if "/Lang" in combined.Root:
            part.Root.Lang = pikepdf.String(str(combined.Root.Lang))
        if "/ViewerPreferences" in combined.Root:
            part.Root.ViewerPreferences = pikepdf.Dictionary(
                {str(key): value for key, value in combined.Root.ViewerPreferences.items()}
            )
        with part.open_outline() as headings:
            headings.root.extend(outline.copied(pages, part, 0))
        properties = document.core_properties
        info = {str(key): value for key, value in combined.docinfo.items()}
        for key, value in (
            ("/Title", properties.title),
            ("/Author", properties.author),
            ("/Subject", properties.subject),
            ("/Keywords", properties.keywords),
        ):
            if value:
                info[key] = pikepdf.String(value)
            else:
                info.pop(key, None)
        part.docinfo = part.make_indirect(pikepdf.Dictionary(info))
        out = io.BytesIO()
        # Every stream is deflated already but the Type 1 programs cut for this document,
        # which are mostly encrypted bytes (separation.py): deflating them again on save cost
        # more worker CPU than the rest of the cut. The small objects go in object streams
        # (0.8 -> 0.5 ms a save, 1 KB less), and the file says the PDF version LibreOffice
        # wrote, as the document converted alone does.
        part.save(
            out,
            compress_streams=False,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            min_version=combined.pdf_version,
        )
        return out.getvalue()


# -- combining ------------------------------------------------------------------------------


def _mark_start(elements: list[etree._Element], position: int) -> None:
    """A bookmark on the document's first paragraph (in a table's first cell if it opens
    with one): LibreOffice exports it as a named destination on the document's first page."""
    for element in elements:
        paragraph = element if element.tag == qn("w:p") else element.find(f".//{qn('w:p')}")
        if paragraph is None:
            continue
        properties = paragraph.find(qn("w:pPr"))
        at = 0 if properties is None else paragraph.index(properties) + 1  # before any run
        for offset, tag in enumerate(("w:bookmarkStart", "w:bookmarkEnd")):
            mark = etree.Element(qn(tag))
            mark.set(qn("w:id"), str(900000 + position))  # far above any id Word hands out
            if tag == "w:bookmarkStart":
                mark.set(qn("w:name"), f"{MARKER_PREFIX}{position}")
            paragraph.insert(at + offset, mark)
        return
    raise ValueError("a document without a paragraph cannot be marked")


def _end_section_here(body: etree._Element, section: etree._Element) -> None:
    """Move the body-level ``section`` into the last paragraph before it, which makes that
    paragraph the end of the section (WordprocessingML keeps a section's properties there)."""
    body.remove(section)
    last = body[-1]
    if last.tag != qn("w:p"):
        last = etree.SubElement(body, qn("w:p"))  # after a table: an empty carrier paragraph
    properties = last.find(qn("w:pPr"))
    if properties is None:
        properties = etree.Element(qn("w:pPr"))
        last.insert(0, properties)
    properties.append(section)


def _restart_page_numbers(section: etree._Element) -> None:
    numbering = section.find(qn("w:pgNumType"))
    if numbering is None:
        numbering = etree.Element(qn("w:pgNumType"))
        # Schema order: pgNumType comes after pgSz/pgMar/paperSrc/pgBorders/lnNumType.
        anchor = None
        for tag in ("w:lnNumType", "w:pgBorders", "w:paperSrc", "w:pgMar", "w:pgSz"):
            anchor = section.find(qn(tag))
            if anchor is not None:
                break
        if anchor is None:
            section.insert(0, numbering)
        else:
            anchor.addnext(numbering)
    if numbering.get(qn("w:start")) is None:
        numbering.set(qn("w:start"), "1")
    kind = section.find(qn("w:type"))
    if kind is not None:
        kind.set(qn("w:val"), "nextPage")


def _adopt_header_footer_parts(
    combined: Document, document: Document, section: etree._Element
) -> etree._Element:
    """Copies of ``document``'s header and footer parts in ``combined``'s package, and a copy
    of its section properties pointing at them."""
    section = copy.deepcopy(section)
    package = combined.part.package
    parts_by_name = {str(part.partname): part for part in package.iter_parts()}
    for reference in section:
        if reference.tag not in (qn("w:headerReference"), qn("w:footerReference")):
            continue
        # Through the relationship, not related_parts: docxtpl swaps the filled part in there.
        source = document.part.rels[reference.get(qn("r:id"))].target_part
        kind = "header" if reference.tag == qn("w:headerReference") else "footer"
        part = type(source)(
            package.next_partname(f"/word/{kind}%d.xml"),
            source.content_type,
            source.element,  # the filled document is consumed: no copy needed
            package,
        )
        for rId, rel in source.rels.items():
            target = (
                rel.target_ref if rel.is_external else parts_by_name[str(rel.target_part.partname)]
            )
            part.rels.add_relationship(rel.reltype, target, rId, rel.is_external)
        reference.set(
            qn("r:id"), combined.part.relate_to(part, RT.HEADER if kind == "header" else RT.FOOTER)
        )
    return section


def _body_relationships(document: Document) -> dict[str, tuple[str, str]]:
    return {
        rId: (rel.reltype, rel.target_ref)
        for rId, rel in document.part.rels.items()
        if rel.reltype not in _HEADER_FOOTER
    }


# -- eligibility ----------------------------------------------------------------------------


def _header_footer_elements(document: Document) -> list[etree._Element]:
    return [
        rel.target_part.element
        for rel in document.part.rels.values()
        if rel.reltype in _HEADER_FOOTER and not rel.is_external
    ]


def _fields_are_page_local(story: etree._Element) -> bool:
    instructions = [field.get(qn("w:instr")) or "" for field in story.iter(qn("w:fldSimple"))]
    # Complex fields: the instruction may be split over several runs; its first word names it.
    instructions += [text.text or "" for text in story.iter(qn("w:instrText"))]
    for instruction in instructions:
        name = _FIELD_NAME.match(instruction)
        if name and name.group(1).upper() not in _PAGE_LOCAL_FIELDS:
            return False
    return True


def _lists_are_bulleted(document: Document) -> bool:
    """Numbered lists would count on from one document into the next; bullets don't. A
    paragraph's numbering may come from its style or any style that one is based on, and a
    paragraph without a style has the default paragraph style's. A numbering definition that
    cannot be read (no abstractNumId, as another editor may write it) counts as numbered."""
    part = document.part
    body = document.element.body
    used_numbering = {
        value.get(qn("w:val")) for value in body.iter(qn("w:numId")) if value.get(qn("w:val"))
    }
    sheet = StyleSheet(part.styles.element)
    used_styles = {sheet.paragraph_style(paragraph) for paragraph in body.iter(qn("w:p"))}
    for style_id in used_styles:
        for style in sheet.chain(style_id):
            used_numbering |= {value.get(qn("w:val")) for value in style.iter(qn("w:numId"))}
    used_numbering.discard("0")  # numId 0 means "no numbering"
    if not used_numbering:
        return True
    try:
        numbering = part.numbering_part.element
    except (KeyError, NotImplementedError):
        return False
    abstract_by_num = {
        num.get(qn("w:numId")): (
            None
            if (abstract := num.find(qn("w:abstractNumId"))) is None
            else abstract.get(qn("w:val"))
        )
        for num in numbering.iter(qn("w:num"))
    }
    formats: dict[str | None, set[str | None]] = {}
    for abstract in numbering.iter(qn("w:abstractNum")):
        formats[abstract.get(qn("w:abstractNumId"))] = {
            fmt.get(qn("w:val")) for fmt in abstract.iter(qn("w:numFmt"))
        }
    for num_id in used_numbering:
        abstract_id = abstract_by_num.get(num_id)
        found = None if abstract_id is None else formats.get(abstract_id)
        if found is None or not found <= _ALLOWED_NUMBER_FORMATS:
            return False
    return True
