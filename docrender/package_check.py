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

from lxml import etree

from docrender.errors import InvalidTemplate, PayloadTooLarge, UnsafeTemplate

MAX_ENTRIES = 2_000
MAX_INFLATED_BYTES = 200 * 1024 * 1024
# Word XML compresses about 5-20x; a zip bomb compresses thousands of times.
MAX_COMPRESSION_RATIO = 200
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>", re.S)
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
# Fields that make LibreOffice read other files or URLs, or talk to other programs, by the
# field's name: the first word of its instruction (a HYPERLINK whose URL says "link" is fine).
_DANGEROUS_FIELDS = frozenset({"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK", "DDE",
                               "DDEAUTO", "IMPORT"})  # fmt: skip
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# No entities resolved, nothing fetched: the part is read as the data it is.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_SAFE_LINK = re.compile(rb"^(https?|mailto):", re.I)


@dataclass(frozen=True)
class Finding:
    part: str
    problem: str
    zh: str  # the problem in Chinese (docrender/messages.py)


def check_package(data: bytes) -> None:
    """Raise UnsafeTemplate (or PayloadTooLarge for a bomb) listing every problem found."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        _check_sizes(entries)
        findings = [f for entry in entries for f in _check_entry(archive, entry)]
    if findings:
        raise UnsafeTemplate(
            "The template contains parts docrender does not run: "
            + "; ".join(f"{f.problem} ({f.part})" for f in findings[:5])
            + ". Remove them (or save a clean copy without macros, embedded objects and "
            "linked files) and upload again.",
            [{"part": f.part, "problem": f.problem} for f in findings],
            zh="模板含有 docrender 不运行的部分："
            + "；".join(f"{f.part} 中的{f.zh}" for f in findings[:5])
            + "。请删除它们（或另存一份不含宏、嵌入对象和链接文件的干净副本）后重新上传。",
        )


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise PayloadTooLarge(
            f"The template holds {len(entries)} files; a DOCX template needs far fewer "
            f"(at most {MAX_ENTRIES}).",
            {"entries": len(entries), "limit": MAX_ENTRIES},
            zh=f"模板含有 {len(entries)} 个文件；DOCX 模板远不需要这么多（最多 {MAX_ENTRIES} 个）。",
        )
    inflated = sum(entry.file_size for entry in entries)
    if inflated > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(
            f"The template inflates to {inflated} bytes, more than {MAX_INFLATED_BYTES}.",
            {"inflated": inflated, "limit": MAX_INFLATED_BYTES},
            zh=f"模板解压后有 {inflated} 字节，超过 {MAX_INFLATED_BYTES}。",
        )
    for entry in entries:
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO:
            raise PayloadTooLarge(
                f"{entry.filename} is compressed {entry.file_size // entry.compress_size} "
                "to 1, as zip bombs are; a real document is not.",
                {"part": entry.filename},
                zh=f"{entry.filename} 的压缩比是 {entry.file_size // entry.compress_size} 比 1，这是压缩炸弹的特征，真实文档不会这样。",
            )


def _check_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> list[Finding]:
    name = entry.filename
    lowered = name.lower()
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or "\\" in name:
        return [
            Finding(name, "an entry name that points outside the document", "指向文档之外的条目名")
        ]
    if lowered.endswith("vbaproject.bin") or lowered.endswith("vbadata.xml"):
        return [Finding(name, "macros", "宏")]
    if lowered.startswith("word/activex/"):
        return [Finding(name, "an ActiveX control", "ActiveX 控件")]
    if lowered.startswith("word/embeddings/") and lowered.endswith(".bin"):
        return [Finding(name, "an embedded OLE object", "嵌入的 OLE 对象")]
    if lowered == "[content_types].xml" and b"macroEnabled" in archive.read(entry):
        return [Finding(name, "a macro-enabled document type", "启用宏的文档类型")]
    if lowered.endswith(".rels"):
        return _check_relationships(name, archive.read(entry))
    if lowered.startswith("word/") and lowered.endswith(".xml"):
        return _check_fields(name, archive.read(entry))
    return []


def _check_relationships(name: str, xml: bytes) -> list[Finding]:
    findings = []
    for tag in _RELATIONSHIP.findall(xml):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get(b"TargetMode", b"").lower() != b"external":
            continue
        kind = attributes.get(b"Type", b"").rsplit(b"/", 1)[-1].decode(errors="replace")
        target = attributes.get(b"Target", b"")
        if kind == "hyperlink" and _SAFE_LINK.match(target):
            continue  # a clickable web or mail link: LibreOffice does not fetch it
        findings.append(
            Finding(
                name,
                f"an external {kind} ({target[:80].decode(errors='replace')})",
                f"外部 {kind}（{target[:80].decode(errors='replace')}）",
            )
        )
    return findings


def _check_fields(name: str, xml: bytes) -> list[Finding]:
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidTemplate(
            f"The DOCX's {name} is not well-formed XML ({exc}); open and re-save it in Word or "
            "LibreOffice, then upload again.",
            zh=f"DOCX 中的 {name} 不是格式正确的 XML（{exc}）；请在 Word 或 LibreOffice 中打开并另存后再上传。",
        ) from None
    found = {field for field in field_names(root) if field in _DANGEROUS_FIELDS}
    return [Finding(name, f"a {field} field", f"{field} 域") for field in sorted(found)]


def field_names(root: etree._Element) -> list[str]:
    """The name of every field in a WordprocessingML part: simple fields (``w:fldSimple``)
    and complex ones, whose instruction Word may split over several runs ("INCLUDE"
    "PICTURE") between a ``w:fldChar`` begin and its separate or end; fields nest."""
    names = []
    instructions: list[list[str]] = []  # one per open complex field, innermost last
    for element in root.iter(f"{_W}fldSimple", f"{_W}fldChar", f"{_W}instrText"):
        if element.tag == f"{_W}fldSimple":
            names.append(_first_word(element.get(f"{_W}instr") or ""))
        elif element.tag == f"{_W}instrText":
            if not instructions:  # an instruction with no field begun: read it all the same
                instructions.append([])
            instructions[-1].append(element.text or "")
        else:
            kind = element.get(f"{_W}fldCharType")
            if kind == "begin":
                instructions.append([])
            elif kind in ("separate", "end") and instructions:
                names.append(_first_word("".join(instructions.pop())))
    names += [_first_word("".join(parts)) for parts in instructions]  # never closed
    return [name for name in names if name]


def _first_word(instruction: str) -> str:
    words = instruction.split()
    return words[0].upper() if words else ""
