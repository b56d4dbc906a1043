"""The deployment's own fonts (DOCRENDER_FONTS_DIR), through the real stack: a face the operator
installs there prints as asked, before any substitute docrender would otherwise choose, and
the font report says so. The test stack's directory holds a face named Georgia, which
docrender would otherwise draw with DejaVu Serif."""

from __future__ import annotations

import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import docx_in_font
from tests.helpers.pdf import pdf_fonts

pytestmark = pytest.mark.usefixtures("worker")


def test_a_face_in_the_fonts_directory_prints_before_any_substitute(tenant: Tenant) -> None:
    uploaded = tenant.upload(docx_in_font("{{ unit }}: Amount due 1,000,017", "Georgia")).get_json()
    georgia = {font["requested"]: font for font in uploaded["fonts"]}["Georgia"]
    assert (georgia["used"], georgia["exact"], georgia["embedded"]) == ("Georgia", True, False)
    job_id = tenant.submit(uploaded["id"], [{"data": {"unit": "Unit 7"}}]).get_json()["id"]
    job = tenant.wait_for(job_id)
    pdf = tenant.get(job["documents"][0]["url"]).data
    names = {font["name"].split("+", 1)[-1] for font in pdf_fonts(pdf)}
    assert "Georgia" in names and not any("DejaVu" in name for name in names), names
