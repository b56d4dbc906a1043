"""Images from the data (unit photos, seals, charts) put where the template prints them.

In the data, an image is an object with ``"type": "image"``, its bytes as base64 in ``data``
or the name of a file uploaded with the job in ``file``, and a size in mm, cm or in:

    {"type": "image", "data": "iVBORw0...", "width": "30mm"}
    {"type": "image", "file": "seal.png", "width": "4cm", "height": "4cm"}

The template prints it like any value: ``{{ photo }}``. One size keeps the image's proportions;
none uses its own. PNG and JPEG only: python-docx, which places the picture, reads no SVG.
Images are never fetched from a URL. A bad image (not PNG or JPEG, corrupt, too large, an
unknown file) fails only its own document, with a message that names it.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docx.shared import Length, Mm
from docxtpl import DocxTemplate, InlineImage
from PIL import Image, UnidentifiedImageError

from docrender.errors import RenderFailed

FORMATS = {"PNG", "JPEG"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mm|cm|in)\s*$")
_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4}
MAX_SIDE_MM = 1000


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


def is_image(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "image"


def inline_image(
    template: DocxTemplate,
    spec: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    limits: ImageLimits,
    path: str,
) -> InlineImage:
    def fail(reason: str) -> RenderFailed:
        return RenderFailed(f"The image at {path} {reason}.")

    if "url" in spec:
        raise fail("names a URL; images are never fetched: send its bytes as base64 in "
                   "'data', or upload it with the job and name it in 'file'")  # fmt: skip
    content = _content(spec, read_file, fail)
    if len(content) > limits.max_bytes:
        raise fail(f"is {len(content)} bytes, more than the {limits.max_bytes} allowed")
    _check_picture(content, limits, fail)
    width, height = (_length(spec.get(side), side, fail) for side in ("width", "height"))
    return InlineImage(template, io.BytesIO(content), width=width, height=height)


def _content(
    spec: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    fail: Callable[[str], RenderFailed],
) -> bytes:
    if isinstance(spec.get("data"), str):
        try:
            return base64.b64decode(spec["data"], validate=True)
        except (binascii.Error, ValueError):
            raise fail("has 'data' that is not valid base64") from None
    if isinstance(spec.get("file"), str):
        content = read_file(spec["file"])
        if content is None:
            raise fail(f"names the file {spec['file']!r}, which was not uploaded with the job")
        return content
    raise fail("needs its bytes: base64 in 'data', or an uploaded file's name in 'file'")


def _check_picture(
    content: bytes, limits: ImageLimits, fail: Callable[[str], RenderFailed]
) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as picture:
                kind, (width, height) = picture.format, picture.size
                if kind not in FORMATS:
                    raise fail(f"is {kind}; send PNG or JPEG")
                if width * height > limits.max_pixels:
                    raise fail(f"has {width}x{height} pixels, more than the "
                               f"{limits.max_pixels} allowed")  # fmt: skip
                picture.verify()  # the whole file, not only its header
    except RenderFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning,
            Image.DecompressionBombError):  # fmt: skip
        raise fail("is not a readable PNG or JPEG") from None


def _length(raw: Any, side: str, fail: Callable[[str], RenderFailed]) -> Length | None:
    if raw is None:
        return None
    match = _SIZE.match(str(raw))
    if not match:
        raise fail(f"has {side} {raw!r}; write it like '30mm', '2.5cm' or '1in'")
    millimetres = float(match.group(1)) * _MM_PER_UNIT[match.group(2)]
    if not 0 < millimetres <= MAX_SIDE_MM:
        raise fail(f"has {side} {raw!r}; it must be more than 0 and at most {MAX_SIDE_MM} mm")
    return Mm(millimetres)
