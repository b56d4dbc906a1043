"""The pictures a template holds, as Word names them, and where each stands: docxtpl's
replace_pic in JSON (workers/fill/pictures.py swaps them; the registry keeps their names from
the upload, so that a document naming a picture the template has not is refused when the job
is sent).

A picture is found by any of the names Word gives it: its file in the package
(``image1.png``), its name (``Picture 1``, or the file name it was inserted from) or its alt
text (``公章``), in the body, tables, headers and footers. A picture Word inserted from an SVG
has two files: a PNG in the blip and the SVG in its ``svgBlip`` extension, which LibreOffice
prints in its stead; either file name finds it. Pictures Word writes in VML (a picture
watermark, a header made by an older Word, the fallback of a text box) are found by their file
and their title or alt text, as docxtpl's replace_media finds any picture by its file.
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
_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
_VML_TITLE = "{urn:schemas-microsoft-com:office:office}title"
_VML_ID = qn("r:id")
_SVG_BLIP = "{http://schemas.microsoft.com/office/drawing/2016/SVG/main}svgBlip"


@dataclass(frozen=True)
class Placed:
    """One picture where it stands: the names it answers to, its part, the element naming its
    file's relationship."""

    names: frozenset[str]
    part: Any  # the story part (document, header, footer) holding it
    blip: Any  # <a:blip r:embed="rIdN"> or VML's <v:imagedata r:id="rIdN">
    attribute: str = EMBED  # the attribute of ``blip`` holding the relationship id

    def point_to(self, relationship: str) -> None:
        """Show the picture of ``relationship`` (an image relationship of ``part``)."""
        self.blip.set(self.attribute, relationship)
        _drop_svg_original(self.blip)


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
            if blip is None:
                continue
            embed = blip.get(EMBED)
            if embed is None or embed not in part.rels or part.rels[embed].is_external:
                continue
            names = {
                posixpath.basename(str(part.rels[rid].target_part.partname))
                for rid in [embed, *(svg.get(EMBED) for svg in blip.iter(_SVG_BLIP))]
                if rid in part.rels and not part.rels[rid].is_external
            }
            for tag in (_DOC_PROPERTIES, _PICTURE_PROPERTIES):
                for properties in drawing.iter(tag):
                    names |= {properties.get("name") or "", properties.get("descr") or ""}
            found.append(Placed(_named(names), part, blip))
        for imagedata in part.element.iter(_IMAGEDATA):
            relationship = imagedata.get(_VML_ID)
            if relationship not in part.rels or part.rels[relationship].is_external:
                continue
            shape = imagedata.getparent()  # <v:shape alt="...">
            names = {
                posixpath.basename(str(part.rels[relationship].target_part.partname)),
                imagedata.get(_VML_TITLE) or "",
                (shape.get("alt") if shape is not None else None) or "",
            }
            found.append(Placed(_named(names), part, imagedata, _VML_ID))
    return found


def _named(names: set[str]) -> frozenset[str]:
    return frozenset(name.strip() for name in names if name.strip())


def _drop_svg_original(blip: Any) -> None:
    """Take the SVG Word keeps beside the blip's PNG out of ``blip``: LibreOffice prints the
    SVG rather than the blip, so a picture replaced in the blip alone would print unchanged."""
    for svg in list(blip.iter(_SVG_BLIP)):
        extension = svg.getparent()  # <a:ext uri="{96DAC541-...}">
        extensions = extension.getparent()  # <a:extLst>
        extensions.remove(extension)
        if len(extensions) == 0:
            extensions.getparent().remove(extensions)


def picture_names(document: Any) -> list[str]:
    """Every name the pictures of ``document`` answer to, sorted."""
    return sorted({name for placed in placed_pictures(document) for name in placed.names})
