"""Images from the data (unit photos, seals, charts) put where the template prints them.

In the data, an image is an object with ``"type": "image"``, its bytes as base64 in ``data``
or the name of a file uploaded with the job in ``file``, and a size in mm, cm or in:

    {"type": "image", "data": "iVBORw0...", "width": "30mm"}
    {"type": "image", "file": "seal.png", "width": "4cm", "height": "4cm"}

The template prints it like any value: ``{{ photo }}``. One size keeps the image's proportions;
none uses its own. PNG, JPEG and SVG. python-docx, which places pictures, reads no SVG, so an
SVG is placed as a PNG stand-in of its proportions whose bytes are then swapped for the SVG:
LibreOffice reads the SVG itself and the PDF keeps it as vectors. An SVG may not refer to
anything outside itself (no external images, fonts or entities), since LibreOffice would load
them. Images are never fetched from a URL. A bad image (another format, corrupt, too large, an
unknown file) fails only its own document, with a message that names it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docx.document import Document
from docx.opc.packuri import PackURI
from docx.parts.image import ImagePart
from docx.shared import Length, Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from docrender.errors import RenderFailed
from docrender.i18n import Message, _

FORMATS = {"PNG", "JPEG"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mm|cm|in)\s*$")
_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4}
MAX_SIDE_MM = 1000


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


def inline_image(
    template: DocxTemplate,
    spec: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    limits: ImageLimits,
    path: str,
    svgs: dict[bytes, bytes],
) -> InlineImage:
    """The picture for one image object; an SVG's stand-in PNG is recorded in ``svgs``
    (stand-in bytes -> SVG bytes) for ``swap_in_svgs`` once the template is filled."""

    def fail(reason: Message) -> RenderFailed:
        return RenderFailed(_("The image at %(path)s %(reason)s.", path=path, reason=reason))

    if "url" in spec:
        raise fail(
            _(
                "names a URL; images are never fetched: send its bytes as base64 in "
                "'data', or upload it with the job and name it in 'file'"
            )
        )
    content = picture_bytes(spec, read_file, limits, path, svgs)
    width, height = (_length(spec.get(side), side, fail) for side in ("width", "height"))
    if content in svgs and width is None and height is None:
        width = Mm(DEFAULT_SVG_WIDTH_MM)
    return InlineImage(template, io.BytesIO(content), width=width, height=height)


def picture_bytes(
    spec: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    limits: ImageLimits,
    path: str,
    svgs: dict[bytes, bytes],
) -> bytes:
    """The checked bytes of an image value as python-docx places them, for a new picture
    (``inline_image``) or one replacing a template's (workers/fill/pictures.py): a PNG or
    JPEG as it is, an SVG as a stand-in PNG recorded in ``svgs`` for ``swap_in_svgs``."""

    def fail(reason: Message) -> RenderFailed:
        return RenderFailed(_("The image at %(path)s %(reason)s.", path=path, reason=reason))

    if not isinstance(spec, dict) or spec.get("type") != "image":
        raise fail(_('is no image value ({"type": "image", ...})'))
    content = _content(spec, read_file, fail)
    _check_bytes(content, limits, fail)
    if looks_like_svg(content):
        stand_in = _stand_in(content, svg_proportions(content, fail))
        svgs[stand_in] = content
        return stand_in
    _check_picture(content, limits, fail)
    return content


def _check_bytes(
    content: bytes, limits: ImageLimits, fail: Callable[[Message], RenderFailed]
) -> None:
    if len(content) > limits.max_bytes:
        raise fail(
            _(
                "is %(count)s bytes, more than the %(max_bytes)s allowed",
                count=len(content),
                max_bytes=limits.max_bytes,
            ),
        )


def _content(
    spec: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    fail: Callable[[Message], RenderFailed],
) -> bytes:
    if isinstance(spec.get("data"), str):
        try:
            return base64.b64decode(spec["data"], validate=True)
        except (binascii.Error, ValueError):
            raise fail(_("has 'data' that is not valid base64")) from None
    if isinstance(spec.get("file"), str):
        content = read_file(spec["file"])
        if content is None:
            raise fail(
                _(
                    "names the file %(file)s, which was not uploaded with the job",
                    file=repr(spec["file"]),
                ),
            )
        return content
    raise fail(
        _("needs its bytes: base64 in 'data', or an uploaded file's name in 'file'"),
    )


def _check_picture(
    content: bytes, limits: ImageLimits, fail: Callable[[Message], RenderFailed]
) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as picture:
                kind, (width, height) = picture.format, picture.size
                if kind not in FORMATS:
                    raise fail(
                        _("is %(kind)s; send PNG, JPEG or SVG", kind=kind),
                    )
                if width * height > limits.max_pixels:
                    raise fail(
                        _(
                            "has %(width)sx%(height)s pixels, more than the %(limit)s allowed",
                            width=width,
                            height=height,
                            limit=limits.max_pixels,
                        )
                    )
                picture.verify()  # the whole file, not only its header
    except RenderFailed:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Warning,
        Image.DecompressionBombError,
    ):
        raise fail(_("is not a readable PNG, JPEG or SVG")) from None


def _length(raw: Any, side: str, fail: Callable[[Message], RenderFailed]) -> Length | None:
    if raw is None:
        return None
    match = _SIZE.match(str(raw))
    if not match:
        raise fail(
            _(
                "has %(side)s %(raw)s; write it like '30mm', '2.5cm' or '1in'",
                side=side,
                raw=repr(raw),
            ),
        )
    millimetres = float(match.group(1)) * _MM_PER_UNIT[match.group(2)]
    if not 0 < millimetres <= MAX_SIDE_MM:
        raise fail(
            _(
                "has %(side)s %(raw)s; it must be more than 0 and at most %(limit)s mm",
                side=side,
                raw=repr(raw),
                limit=MAX_SIDE_MM,
            ),
        )
    return Mm(millimetres)


DEFAULT_SVG_WIDTH_MM = 50
_SVG = "{http://www.w3.org/2000/svg}svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def looks_like_svg(content: bytes) -> bool:
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)


# An SVG LibreOffice draws must stay small once its <use> references are expanded: 2.7 KB of
# nested <use> can stand for ten million shapes and hang a conversion.
MAX_SVG_ELEMENTS = 10_000
MAX_SVG_EXPANDED = 100_000
_SVG_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)
# url(...) to anything but a fragment of the SVG itself, in any case, quoted or not.
_OUTSIDE_URL = re.compile(r"url\(\s*(?![\s'\"]*#)", re.I)
_EMBEDDED_PICTURE = re.compile(r"data:image/(png|jpeg|gif);", re.I)


def svg_proportions(content: bytes, fail: Callable[[Message], RenderFailed]) -> float:
    """Width / height of a self-contained, bounded SVG; refuses one that is not. The SVG is
    parsed, not searched: what is checked is what LibreOffice's parser will read."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise _svg_with_doctype(fail)
    try:
        root = etree.fromstring(content, _SVG_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise fail(_("is not a readable SVG")) from None
    info = root.getroottree().docinfo
    # A DOCTYPE another encoding hid (``doctype``: lxml has it; lxml-stubs 0.5.1 does not).
    if info.doctype or info.internalDTD is not None:  # type: ignore[union-attr]
        raise _svg_with_doctype(fail)
    if (info.encoding or "UTF-8").upper() not in ("UTF-8", "US-ASCII", "ASCII"):
        raise fail(_("is an SVG in %(encoding)s; save it as UTF-8", encoding=info.encoding))
    if root.tag != _SVG:
        raise fail(_("is not an SVG (its root element is not <svg>)"))
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    if len(elements) > MAX_SVG_ELEMENTS:
        raise fail(
            _(
                "is an SVG of %(count)s elements, more than %(limit)s",
                count=len(elements),
                limit=MAX_SVG_ELEMENTS,
            )
        )
    for element in elements:
        _check_svg_element(element, fail)
    _check_expansion(root, elements, fail)
    return _aspect(root, fail)


def _svg_with_doctype(fail: Callable[[Message], RenderFailed]) -> RenderFailed:
    return fail(_("is an SVG with a DOCTYPE or entities; remove them"))


def _check_svg_element(element: Any, fail: Callable[[Message], RenderFailed]) -> None:
    local = etree.QName(element).localname
    if local in ("script", "foreignObject"):
        raise fail(_("is an SVG with <%(local)s>; remove it", local=local))
    for attribute, value in element.attrib.items():
        if etree.QName(attribute).localname == "href" and not (
            value.startswith("#") or _EMBEDDED_PICTURE.match(value)
        ):
            raise fail(
                _(
                    "is an SVG that refers to something outside itself (%(value)s); "
                    "embed a PNG or JPEG as data: or remove it",
                    value=repr(value[:60]),
                )
            )
        if _OUTSIDE_URL.search(value) or "@import" in value.lower():
            raise _svg_style_outside(fail)
    if local == "style" and (
        _OUTSIDE_URL.search(text := element.text or "") or "@import" in text.lower()
    ):
        raise _svg_style_outside(fail)


def _svg_style_outside(fail: Callable[[Message], RenderFailed]) -> RenderFailed:
    return fail(_("is an SVG whose style refers to something outside itself"))


def _check_expansion(
    root: Any, elements: list[Any], fail: Callable[[Message], RenderFailed]
) -> None:
    """Count the elements the SVG stands for once every <use> is replaced by what it
    references, as a renderer expands it; refuse a reference cycle or too many."""
    by_id = {element.get("id"): element for element in elements if element.get("id")}
    sizes: dict[Any, int] = {}
    expanding: set[Any] = set()

    def size(element: Any) -> int:
        if element in sizes:
            return sizes[element]
        if element in expanding:
            raise fail(_("is an SVG whose <use> elements refer to each other in a cycle"))
        expanding.add(element)
        total = 1 + sum(size(child) for child in element if isinstance(child.tag, str))
        if etree.QName(element).localname == "use":
            href = next(
                (v for k, v in element.attrib.items() if etree.QName(k).localname == "href"), ""
            )
            target = by_id.get(href[1:]) if href.startswith("#") else None
            if target is not None:
                total += size(target)
        expanding.discard(element)
        sizes[element] = total = min(total, MAX_SVG_EXPANDED + 1)
        return total

    try:
        expanded = size(root)
    except RecursionError:  # a chain of <use> thousands long
        expanded = MAX_SVG_EXPANDED + 1
    if expanded > MAX_SVG_EXPANDED:
        raise fail(
            _(
                "is an SVG whose <use> elements expand to more than %(limit)s shapes",
                limit=MAX_SVG_EXPANDED,
            )
        )


def _aspect(root: Any, fail: Callable[[Message], RenderFailed]) -> float:
    """Width / height from the viewBox, or else from width and height; each a finite
    positive number (NaN and infinity are numbers to float(), not to a page)."""
    view_box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(view_box) == 4:
        width, height = _number(view_box[2]), _number(view_box[3])
        if width and height and width > 0 and height > 0:
            return width / height
    width = _number(re.sub(r"[a-z%]+$", "", root.get("width", "")))
    height = _number(re.sub(r"[a-z%]+$", "", root.get("height", "")))
    if width is None or height is None:
        raise fail(
            _("is an SVG without a size: give it a viewBox, or width and height"),
        )
    if width <= 0 or height <= 0:
        raise fail(_("is an SVG whose width or height is not positive"))
    return width / height


def _number(raw: str) -> float | None:
    """A finite number, or None."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _stand_in(svg: bytes, proportions: float) -> bytes:
    """A blank PNG of the SVG's proportions, unique to it (python-docx shares identical
    pictures, and each stand-in must be swapped for its own SVG)."""
    width = 1000
    height = max(1, min(100_000, round(width / max(proportions, 0.001))))
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("docrender-svg", hashlib.sha256(svg).hexdigest())
    Image.new("1", (width, height), 1).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def swap_in_svgs(document: Document, svgs: dict[bytes, bytes]) -> None:
    """Replace each stand-in picture part with its SVG."""
    if not svgs:
        return
    for part in document.part.package.iter_parts():
        if isinstance(part, ImagePart) and part.blob in svgs:
            part._blob = svgs[part.blob]  # python-docx has no public setter for a part's bytes
            part._content_type = "image/svg+xml"
            part.partname = PackURI(part.partname.rsplit(".", 1)[0] + ".svg")
