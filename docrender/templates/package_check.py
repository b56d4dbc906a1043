"""Refuse hostile DOCX packages before anything parses them.

A template comes from other systems and from people. Before python-docx or LibreOffice sees
it, the zip itself is checked (size when inflated, entry count, entry names), and so is what
the document could make LibreOffice do: run macros, start OLE objects, fetch a linked image,
include another file. Such templates are refused with a message naming what was found; a
clean copy made in Word or LibreOffice without those parts uploads fine.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from docrender.errors import InvalidTemplate, PayloadTooLarge, UnsafeTemplate
from docrender.i18n import Message, _, listing

MAX_ENTRIES = 2_000
MAX_INFLATED_BYTES = 200 * 1024 * 1024
# Word XML compresses about 5-20x; a zip bomb compresses thousands of times.
MAX_COMPRESSION_RATIO = 200
# Fields that make LibreOffice read other files or URLs, or talk to other programs, by the
# field's name: the first word of its instruction (a HYPERLINK whose URL says "link" is fine).
_DANGEROUS_FIELDS = frozenset(
    {"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT"}
)
# Relationships to parts that run code or pull in another document, whatever the part is named
# (the last word of the relationship's Type), with what to call them.
_UNSAFE_RELATIONSHIPS = {
    "vbaProject": _("macros"),
    "wordVbaData": _("macros"),
    "oleObject": _("an embedded OLE object"),
    "package": _("an embedded package"),
    "control": _("an ActiveX control"),
    "activeXControlBinary": _("an ActiveX control"),
    "aFChunk": _("an embedded document merged in (altChunk)"),
    "subDocument": _("a subdocument"),
}
# Content types that say a part is code, whatever it is named.
_UNSAFE_CONTENT_TYPES = ("macroenabled", "vbaproject", "vbadata", "activex", "oleobject")
# The signature of an OLE compound file: VBA projects and OLE objects are stored as one.
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# No entities resolved, nothing fetched: the part is read as the data it is.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_SAFE_LINK = re.compile(r"^(https?|mailto):", re.I)


@dataclass(frozen=True)
class Finding:
    part: str
    problem: Message


@dataclass(frozen=True)
class Relationship:
    type: str  # the last word of its Type URI
    target: str
    external: bool


def check_package(data: bytes) -> None:
    """Raise UnsafeTemplate (or PayloadTooLarge for a bomb) listing every problem found."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        _check_sizes(entries)
        findings = [f for entry in entries for f in _check_entry(archive, entry)]
    _refuse(findings)


def check_filled(package: Any) -> None:
    """The same checks on a filled document (a python-docx package), before it is converted:
    tags and data may have made what the template did not hold (a field instruction put
    together by a loop, markup passed through ``|safe``). Raises UnsafeTemplate."""
    findings = []
    for part in package.iter_parts():
        name = str(part.partname).lstrip("/")
        element = getattr(part, "_element", None)
        if element is not None:
            findings += _field_findings(name, element)
        rels = [
            Relationship(rel.reltype.rsplit("/", 1)[-1], rel.target_ref, rel.is_external)
            for rel in part.rels.values()
        ]
        findings += _relationship_findings(f"{name} (relationships)", rels)
    _refuse(findings, filled=True)


def _refuse(findings: list[Finding], filled: bool = False) -> None:
    if not findings:
        return
    joined = listing(_("%(problem)s (%(part)s)", problem=f.problem, part=f.part) for f in findings)
    details = [{"part": f.part, "problem": str(f.problem)} for f in findings]
    if filled:
        raise UnsafeTemplate(
            _(
                "Filling the template made parts docrender does not run: %(listed)s. The "
                "template's tags put them together from this document's data (or printed "
                "markup with |safe); print such values as text instead.",
                listed=joined,
            ),
            details,
        )
    raise UnsafeTemplate(
        _(
            "The template contains parts docrender does not run: %(listed)s. Remove them (or "
            "save a clean copy without macros, embedded objects and linked files) and upload "
            "again.",
            listed=joined,
        ),
        details,
    )


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise PayloadTooLarge(
            _(
                "The template holds %(count)s files; a DOCX template needs far fewer (at most "
                "%(limit)s).",
                count=len(entries),
                limit=MAX_ENTRIES,
            ),
            {"entries": len(entries), "limit": MAX_ENTRIES},
        )
    inflated = sum(entry.file_size for entry in entries)
    if inflated > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(
            _(
                "The template inflates to %(inflated)s bytes, more than %(limit)s.",
                inflated=inflated,
                limit=MAX_INFLATED_BYTES,
            ),
            {"inflated": inflated, "limit": MAX_INFLATED_BYTES},
        )
    for entry in entries:
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO:
            raise PayloadTooLarge(
                _(
                    "%(filename)s is compressed %(value)s to 1, as zip bombs are; a real document "
                    "is not.",
                    filename=entry.filename,
                    value=entry.file_size // entry.compress_size,
                ),
                {"part": entry.filename},
            )


def _check_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> list[Finding]:
    name = entry.filename
    lowered = name.lower()
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or "\\" in name:
        return [Finding(name, _("an entry name that points outside the document"))]
    if lowered.endswith("vbaproject.bin") or lowered.endswith("vbadata.xml"):
        return [Finding(name, _("macros"))]
    if lowered.startswith("word/activex/"):
        return [Finding(name, _("an ActiveX control"))]
    if lowered.startswith("word/embeddings/") and lowered.endswith(".bin"):
        return [Finding(name, _("an embedded OLE object"))]
    with archive.open(entry) as part:
        if part.read(len(_COMPOUND_FILE)) == _COMPOUND_FILE:
            return [Finding(name, _("an embedded OLE object or macros"))]
    if not lowered.endswith((".xml", ".rels")):
        return []
    root = _parse(name, archive.read(entry))
    if lowered == "[content_types].xml":
        return _content_type_findings(name, root, archive)
    if lowered.endswith(".rels"):
        rels = [
            Relationship(
                (element.get("Type") or "").rsplit("/", 1)[-1],
                element.get("Target") or "",
                (element.get("TargetMode") or "").lower() == "external",
            )
            for element in root.iter("{*}Relationship")
        ]
        return _relationship_findings(name, rels)
    return _field_findings(name, root)


def _parse(name: str, xml: bytes) -> etree._Element:
    """The part's XML, read as a parser reads it: character references, CDATA and any
    namespace prefix resolved, so what is checked is what LibreOffice would see."""
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        # The checking child's memory ran out (``code``: lxml has it; lxml-stubs 0.5.1 does not).
        if exc.code == etree.ErrorTypes.ERR_NO_MEMORY:  # type: ignore[attr-defined]
            raise MemoryError(f"parsing {name}") from None
        raise InvalidTemplate(
            _(
                "The DOCX's %(name)s is not well-formed XML (%(exc)s); open and re-save it in Word"
                " or LibreOffice, then upload again.",
                name=name,
                exc=exc,
            ),
        ) from None


def _content_type_findings(
    name: str, root: etree._Element, archive: zipfile.ZipFile
) -> list[Finding]:
    """Parts declared as code: by an Override, or by a Default for an extension some part
    has (Word declares every .bin as an OLE object's type, used or not)."""
    extensions = {entry.filename.rsplit(".", 1)[-1].lower() for entry in archive.infolist()}
    types = [
        (element.get("ContentType") or "").lower()
        for element in root.iter("{*}Override", "{*}Default")
        if etree.QName(element).localname == "Override"
        or (element.get("Extension") or "").lower() in extensions
    ]
    if any(unsafe in kind for kind in types for unsafe in _UNSAFE_CONTENT_TYPES):
        return [Finding(name, _("a part of a macro-enabled or embedded-object type"))]
    return []


def _relationship_findings(name: str, rels: list[Relationship]) -> list[Finding]:
    findings = []
    for rel in rels:
        if rel.type in _UNSAFE_RELATIONSHIPS:
            problem = _UNSAFE_RELATIONSHIPS[rel.type]
            findings.append(
                Finding(
                    name, _("%(problem)s (%(target)s)", problem=problem, target=rel.target[:80])
                )
            )
        elif rel.external and not (rel.type == "hyperlink" and _SAFE_LINK.match(rel.target)):
            # A clickable web or mail link is fine: LibreOffice does not fetch it.
            findings.append(
                Finding(
                    name,
                    _("an external %(kind)s (%(target)s)", kind=rel.type, target=rel.target[:80]),
                )
            )
    return findings


def _field_findings(name: str, root: etree._Element) -> list[Finding]:
    found = {field for field in field_names(root) if field in _DANGEROUS_FIELDS}
    return [Finding(name, _("a %(field)s field", field=field)) for field in sorted(found)]


def field_names(root: etree._Element) -> list[str]:
    """The name of every field in a WordprocessingML part: simple fields (``w:fldSimple``)
    and complex ones, whose instruction Word may split over several runs ("INCLUDE"
    "PICTURE") between a ``w:fldChar`` begin and its separate or end; fields nest."""
    names = []
    instructions: list[list[str]] = []  # one per open complex field, innermost last
    # By local name: Word's transitional namespace or the strict one, any prefix.
    for element in root.iter("{*}fldSimple", "{*}fldChar", "{*}instrText"):
        local = etree.QName(element).localname
        if local == "fldSimple":
            names.append(_first_word(_attribute(element, "instr")))
        elif local == "instrText":
            if not instructions:  # an instruction with no field begun: read it all the same
                instructions.append([])
            instructions[-1].append(element.text or "")
        else:
            kind = _attribute(element, "fldCharType")
            if kind == "begin":
                instructions.append([])
            elif kind in ("separate", "end") and instructions:
                names.append(_first_word("".join(instructions.pop())))
    names += [_first_word("".join(parts)) for parts in instructions]  # never closed
    return [name for name in names if name]


def _attribute(element: etree._Element, local: str) -> str:
    """An attribute by local name, in whatever namespace the part put it."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname == local:
            return str(value)
    return ""


def _first_word(instruction: str) -> str:
    words = instruction.split()
    return words[0].upper() if words else ""
