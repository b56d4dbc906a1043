"""A document's embedded fonts print in that document and in no other, through the real stack:
one tenant's template embeds a font registered as Cambria whose 0 is drawn as a 9; another
tenant's documents in Cambria, converted after it by the same workers, print with the
deployment's Cambria (Caladea) and read as their text says."""

from __future__ import annotations

import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import docx_in_font
from tests.helpers.fonts import embed_font, font_drawing_nine_for_zero
from tests.helpers.pdf import pdf_fonts, renderings

pytestmark = pytest.mark.usefixtures("worker")


def families(pdf: bytes) -> set[str]:
    """The embedded font programs' family names, subset tags dropped."""
    return {font["name"].split("+", 1)[-1].split("-", 1)[0] for font in pdf_fonts(pdf)}


def make(tenant: Tenant, template: str, units: list[str]) -> list[bytes]:
    job_id = tenant.submit(template, [{"data": {"unit": u}} for u in units]).get_json()["id"]
    job = tenant.wait_for(job_id)
    assert job["status"] == "succeeded", job
    return [tenant.get(document["url"]).data for document in job["documents"]]


def test_one_tenants_embedded_font_prints_in_its_documents_and_no_others(
    tenants: tuple[Tenant, Tenant],
) -> None:
    hostile, normal = tenants
    template = docx_in_font("{{ unit }} Amount due: 1,000,017", "Cambria")
    uploaded = hostile.upload(
        embed_font(template, "Cambria", font_drawing_nine_for_zero("Cambria"))
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    report = {font["requested"]: font for font in uploaded.get_json()["fonts"]}
    assert report["Cambria"]["embedded"] and report["Cambria"]["exact"]  # prints as asked
    own = normal.upload(template).get_json()
    assert not {font["requested"]: font for font in own["fonts"]}["Cambria"]["embedded"]

    before = make(normal, own["id"], ["甲區"])[0]
    # Two documents, so that both of the worker's LibreOffice instances convert one.
    for pdf in make(hostile, uploaded.get_json()["id"], ["乙區", "丙區"]):
        assert "Cambria" in families(pdf)  # its own font prints in its own documents
    # The normal tenant's same document again, four times: exactly what it was before.
    for pdf in make(normal, own["id"], ["甲區"] * 4):
        assert families(pdf) == families(before), pdf_fonts(pdf)
        assert "Caladea" in families(pdf) and "Cambria" not in families(pdf)
        assert renderings(pdf) == renderings(before)
