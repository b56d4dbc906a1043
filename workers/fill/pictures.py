"""Pictures of the template replaced from a document's data: docxtpl's replace_pic, in JSON.

A designer places a dummy picture (a seal, a logo, a photo frame) at the right size, in the
body, a table, a header or a footer; each document names it as Word does (its file in the
package, its name or its alt text: docrender/templates/pictures.py) and gives the picture to
put there, an image value as the data's:

    {"data": {...}, "pictures": {"公章": {"type": "image", "file": "seal-03.png"}}}

The new picture takes the dummy's place and size (the frame is the designer's). PNG, JPEG or
SVG, with the same limits and checks as the data's images; an SVG goes in as images.py puts
one in a new picture (a stand-in PNG python-docx can place, swapped for the SVG), so it stays
vectors in the PDF.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from docrender.errors import RenderFailed
from docrender.i18n import _
from docrender.templates.pictures import picture_names, placed_pictures
from workers.fill.images import ImageLimits, picture_bytes, swap_in_svgs


def replace_pictures(
    document: Document,
    pictures: Mapping[str, dict[str, Any]],
    read_file: Callable[[str], bytes | None],
    limits: ImageLimits,
) -> None:
    """Put each of ``pictures`` (by a name of the template's picture) where that picture
    stands, everywhere it does."""
    placed = placed_pictures(document)
    svgs: dict[bytes, bytes] = {}  # stand-in PNG -> the SVG it stands for
    for name, spec in pictures.items():
        targets = [picture for picture in placed if name in picture.names]
        if not targets:
            raise RenderFailed(
                _(
                    "The template has no picture %(name)s; its pictures are: %(names)s.",
                    name=repr(name),
                    names=", ".join(picture_names(document)) or _("none"),
                ),
            )
        content = picture_bytes(spec, read_file, limits, f"pictures.{name}", svgs)
        for picture in targets:
            # The package's image part for these bytes, related from the part the picture
            # stands in (a header is a plain XML part here: StoryPart.get_or_add_image's
            # two steps, done by hand).
            image_part = picture.part.package.get_or_add_image_part(io.BytesIO(content))
            picture.point_to(picture.part.relate_to(image_part, RT.IMAGE))
    swap_in_svgs(document, svgs)
