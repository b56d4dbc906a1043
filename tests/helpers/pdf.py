"""Reading PDFs the way a user checks them: their text, their fonts, their glyphs."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

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
            command = ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray",
                       f"-r{dpi}", f"-sOutputFile={tmp}/page-%04d.png", str(source)]  # fmt: skip
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
    from fontTools.ttLib import TTCollection, TTFont

    path = subprocess.run(
        ["fc-match", "-f", "%{file}", family], check=True, capture_output=True, text=True
    ).stdout
    fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
    covered = set(fonts[0].getBestCmap())
    return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in covered}
