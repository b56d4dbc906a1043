"""Images from the data, checked before they go into a document."""

from __future__ import annotations

import base64
import io

import pytest
from docxtpl import InlineImage
from PIL import Image

from docrender.errors import RenderFailed
from docrender.templating import open_template
from tests.helpers import make_docx
from workers.images import ImageLimits
from workers.render import docx_bytes, fill_template
from workers.values import prepare_values


def picture(kind: str = "PNG", size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def image(content: bytes, **extra: str) -> dict[str, str]:
    return {"type": "image", "data": base64.b64encode(content).decode(), **extra}


def embed(
    value: object, limits: ImageLimits | None = None, files: dict[str, bytes] | None = None
) -> object:
    template = open_template(make_docx("{{ photo }}"))
    return prepare_values(template, value, (files or {}).get, limits or ImageLimits())


def test_images_at_any_depth_become_pictures_and_the_rest_stays() -> None:
    data = {"unit": "甲", "staff": [{"photo": image(picture(), width="30mm")}]}
    embedded = embed(data)
    assert embedded["unit"] == "甲"  # type: ignore[index]
    assert isinstance(embedded["staff"][0]["photo"], InlineImage)  # type: ignore[index]


def test_a_filled_document_holds_the_picture() -> None:
    filled = fill_template(make_docx("{{ photo }}"), {"photo": image(picture("JPEG"), width="2cm")})
    assert any(part.partname.endswith(".jpg") or part.partname.endswith(".jpeg")
               for part in filled.part.package.parts)  # fmt: skip
    assert docx_bytes(filled)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"type": "image", "data": "not base64!"}, "not valid base64"),
        (image(b"just text"), "not a readable PNG or JPEG"),
        (image(picture()[:60]), "not a readable PNG or JPEG"),  # truncated
        (image(picture("GIF")), "is GIF; send PNG or JPEG"),
        (image(picture(), width="30px"), "write it like '30mm'"),
        (image(picture(), width="0mm"), "more than 0"),
        ({"type": "image", "url": "http://169.254.169.254/x.png"}, "never fetched"),
        ({"type": "image", "file": "seal.png"}, "not uploaded with the job"),
        ({"type": "image"}, "needs its bytes"),
    ],
)
def test_a_bad_image_is_a_clear_error_naming_it(value: object, says: str) -> None:
    with pytest.raises(RenderFailed, match=r"The image at staff\[0\]\.photo") as error:
        embed({"staff": [{"photo": value}]})
    assert says in error.value.message


def test_limits_on_bytes_and_pixels() -> None:
    with pytest.raises(RenderFailed, match="more than the 100 allowed"):
        embed({"photo": image(picture())}, ImageLimits(max_bytes=100))
    with pytest.raises(RenderFailed, match="300x200 pixels"):
        embed({"photo": image(picture())}, ImageLimits(max_pixels=50_000))


def test_an_uploaded_file_is_found_by_name() -> None:
    embedded = embed({"seal": {"type": "image", "file": "seal.png"}}, files={"seal.png": picture()})
    assert isinstance(embedded["seal"], InlineImage)  # type: ignore[index]
