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

from docrender.errors import PayloadTooLarge, UnsafeTemplate

MAX_ENTRIES = 2_000
MAX_INFLATED_BYTES = 200 * 1024 * 1024
# Word XML compresses about 5-20x; a zip bomb compresses thousands of times.
MAX_COMPRESSION_RATIO = 200
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>", re.S)
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
# Field codes that make LibreOffice read other files or URLs, or talk to other programs.
_DANGEROUS_FIELDS = re.compile(rb"\b(INCLUDEPICTURE|INCLUDETEXT|LINK|DDE|DDEAUTO)\b")
_FIELD_CODE = re.compile(rb"<w:instrText[^>]*>([^<]*)</w:instrText>|w:instr=\"([^\"]*)\"")
_SAFE_LINK = re.compile(rb"^(https?|mailto):", re.I)


@dataclass(frozen=True)
class Finding:
    part: str
    problem: str


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
        )


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise PayloadTooLarge(
            f"The template holds {len(entries)} files; a DOCX template needs far fewer "
            f"(at most {MAX_ENTRIES}).",
            {"entries": len(entries), "limit": MAX_ENTRIES},
        )
    inflated = sum(entry.file_size for entry in entries)
    if inflated > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(
            f"The template inflates to {inflated} bytes, more than {MAX_INFLATED_BYTES}.",
            {"inflated": inflated, "limit": MAX_INFLATED_BYTES},
        )
    for entry in entries:
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO:
            raise PayloadTooLarge(
                f"{entry.filename} is compressed {entry.file_size // entry.compress_size} "
                "to 1, as zip bombs are; a real document is not.",
                {"part": entry.filename},
            )


def _check_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> list[Finding]:
    name = entry.filename
    lowered = name.lower()
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or "\\" in name:
        return [Finding(name, "an entry name that points outside the document")]
    if lowered.endswith("vbaproject.bin") or lowered.endswith("vbadata.xml"):
        return [Finding(name, "macros")]
    if lowered.startswith("word/activex/"):
        return [Finding(name, "an ActiveX control")]
    if lowered.startswith("word/embeddings/") and lowered.endswith(".bin"):
        return [Finding(name, "an embedded OLE object")]
    if lowered == "[content_types].xml" and b"macroEnabled" in archive.read(entry):
        return [Finding(name, "a macro-enabled document type")]
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
            Finding(name, f"an external {kind} ({target[:80].decode(errors='replace')})")
        )
    return findings


def _check_fields(name: str, xml: bytes) -> list[Finding]:
    # Word may split one field code over several runs ("INCLUDE" "PICTURE"): join them.
    codes = b"".join(m.group(1) or b"" for m in _FIELD_CODE.finditer(xml))
    codes += b" " + b" ".join(m.group(2) or b"" for m in _FIELD_CODE.finditer(xml))
    fields = {m.group(1).decode() for m in _DANGEROUS_FIELDS.finditer(codes.upper())}
    return [Finding(name, f"a {field} field") for field in sorted(fields)]
