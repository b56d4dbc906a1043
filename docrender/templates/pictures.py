"""The pictures a template holds, as Word names them, and where each stands: docxtpl's
replace_pic in JSON (workers/fill/pictures.py swaps them; the registry keeps their names from
the upload, so that a document naming a picture the template has not is refused when the job
is sent).

A picture is found by any of the names Word gives it: its file in the package
(``image1.png``), its name (``Picture 1``, or the file name it was inserted from) or its alt
text (``公章``), in the body, tables, headers and footers.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from docx.oxml.ns import qn

_DRAWING = qn("w:drawing")
_DOC_PROPERTIES = qn("wp:docPr")
_PICTURE_PROPERTIES = "{http://schemas.openxmlformats.org/drawingml/2006/picture}cNvPr"
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
EMBED = qn("r:embed")


@dataclass(frozen=True)
class Placed:
    """One picture where it stands: the names it answers to, its part, its blip element."""

    names: frozenset[str]
    part: Any  # the story part (document, header, footer) holding it
    blip: Any  # <a:blip r:embed="rIdN">: the relationship to swap


def placed_pictures(document: Any) -> list[Placed]:
    """Every picture of ``document`` (python-docx), in the body, headers and footers."""
    parts = [document.part]
    parts += [
        rel.target_part
        for rel in document.part.rels.values()
        if not rel.is_external and rel.reltype.endswith(("/header", "/footer"))
    ]
    found = []
    for part in parts:
        for drawing in part.element.iter(_DRAWING):
            blip = next(drawing.iter(_BLIP), None)
            embed = blip.get(EMBED) if blip is not None else None
            if embed is None or embed not in part.rels or part.rels[embed].is_external:
                continue
            names = {posixpath.basename(str(part.rels[embed].target_part.partname))}
            for tag in (_DOC_PROPERTIES, _PICTURE_PROPERTIES):
                for properties in drawing.iter(tag):
                    names |= {properties.get("name") or "", properties.get("descr") or ""}
            names = {name.strip() for name in names if name and name.strip()}
            found.append(Placed(frozenset(names), part, blip))
    return found


def picture_names(document: Any) -> list[str]:
    """Every name the pictures of ``document`` answer to, sorted."""
    return sorted({name for placed in placed_pictures(document) for name in placed.names})
