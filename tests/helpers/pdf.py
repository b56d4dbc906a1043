"""Reading PDFs the way a user checks them: their text, their fonts, their glyphs."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

import pikepdf
from fontTools.misc import psLib
from fontTools.ttLib import TTFont
from PIL import Image


def pdf_text(pdf: bytes) -> str:
    return _poppler("pdftotext", pdf, "-")


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts' table as dicts: name, type, emb (yes/no)..."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    fonts = []
    for line in lines:
        fields = line.split()
        # name type... encoding emb sub uni object-id gen: read from the right
        fonts.append({"name": fields[0], "emb": fields[-5], "uni": fields[-3]})
    return fonts


def renderings(pdf: bytes, renderer: str = "poppler", dpi: int = 50) -> list[bytes]:
    """Each page drawn in grey by poppler (pdftoppm, through FreeType) or by Ghostscript (its
    own font code), as image bytes to compare."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        if renderer == "poppler":
            command = ["pdftoppm", "-r", str(dpi), "-gray", str(source), f"{tmp}/page"]
        else:
            command = [
                "gs",
                "-q",
                "-dSAFER",
                "-dBATCH",
                "-dNOPAUSE",
                "-sDEVICE=pnggray",
                f"-r{dpi}",
                f"-sOutputFile={tmp}/page-%04d.png",
                str(source),
            ]
        subprocess.run(command, check=True, capture_output=True)
        pages = sorted(path for path in Path(tmp).iterdir() if path.name.startswith("page"))
        return [Image.open(page).tobytes() for page in pages]


def squash(text: str) -> str:
    """Text without white space: pdftotext breaks lines and spaces CJK from Latin."""
    return re.sub(r"\s+", "", text)


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(
            [tool, file.name, *args], check=True, capture_output=True, text=True
        ).stdout


def characters_without_glyph(text: str, family: str) -> set[str]:
    """Characters of ``text`` that the installed font ``family`` has no glyph for: what would
    print as tofu (or in a substitute face) in the PDF."""
    from fontTools.ttLib import TTCollection

    path = subprocess.run(
        ["fc-match", "-f", "%{file}", family], check=True, capture_output=True, text=True
    ).stdout
    fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
    covered = set(fonts[0].getBestCmap())
    return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in covered}


def recoverable(pdf: bytes, characters: str) -> set[str]:
    """Those of ``characters`` a reader can recover from any object of the PDF: as a ToUnicode
    or CMap entry (<7EDD>), a glyph name (uni7EDD, u7EDD), or in a string (the title, an
    outline entry, ActualText). Read independently of docrender's own PDF code."""
    streams: list[bytes] = []
    strings: list[str] = []

    def walk(item: object, depth: int = 0) -> None:
        if depth > 50:
            return
        if isinstance(item, pikepdf.String | pikepdf.Name):
            strings.append(str(item))
        elif isinstance(item, pikepdf.Array):
            for inner in item:
                if not getattr(inner, "is_indirect", False):
                    walk(inner, depth + 1)
        elif isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
            for inner in item.values():
                if not getattr(inner, "is_indirect", False):
                    walk(inner, depth + 1)

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for item in document.objects:
            if isinstance(item, pikepdf.Stream):
                try:
                    streams.append(item.read_bytes())
                except pikepdf.PdfError:  # an image filter pikepdf does not decode
                    streams.append(item.read_raw_bytes())
            walk(item)
    data, text = b"\n".join(streams), "\n".join(strings)
    found = set()
    for character in set(characters):
        code = f"{ord(character):04X}"
        forms = [f"<{code}>", f"uni{code}", f"u{code}", f"<{code.lower()}>"]
        if (not character.isascii() and character in text) or any(
            form in text or form.encode() in data for form in forms
        ):
            found.add(character)
    return found


def glyphs_held_and_drawn(pdf: bytes) -> list[tuple[str, int, int]]:
    """For each embedded simple font: its name, how many glyphs its program holds (outlines
    other than .notdef and a composite's parts), and how many codes the PDF gives a width
    (what its text can draw)."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for font in document.objects:
            if not isinstance(font, pikepdf.Dictionary) or font.get("/Type") != "/Font":
                continue
            descriptor = font.get("/FontDescriptor")
            if descriptor is None:
                continue
            drawn = sum(1 for width in font.get("/Widths", []) if width != 0)
            if "/FontFile2" in descriptor:
                program = TTFont(io.BytesIO(descriptor.FontFile2.read_bytes()))
                glyf = program["glyf"]
                outlined = [
                    name for name in program.getGlyphOrder()[1:] if glyf[name].numberOfContours != 0
                ]
                # A composite's parts (the dot of an i) are held for it, not drawn by a code.
                parts = {
                    part
                    for name in outlined
                    if glyf[name].isComposite()
                    for part in glyf[name].getComponentNames(glyf)
                }
                held = len(set(outlined) - parts)
            elif "/FontFile" in descriptor:
                charstrings = psLib.suckfont(descriptor.FontFile.read_bytes())["CharStrings"]
                held = len([name for name in charstrings if name != ".notdef"])
            else:
                continue
            found.append((str(font.BaseFont), held, drawn))
    return found
