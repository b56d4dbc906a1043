"""Line breaks in Chinese text as Word makes them, through the real stack: a number is never
cut between its digits (LibreOffice 7.4 printed the unit summary's 工勤人員13人） as
"工勤人員 1" / "3 人）"; 25.2 keeps it whole, as Word does)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess

import pytest

from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant

pytestmark = pytest.mark.usefixtures("worker")
TEMPLATES = PROJECT_ROOT / "templates"


def lines(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_no_number_of_the_unit_summaries_is_cut_between_its_digits(tenant: Tenant) -> None:
    units = json.loads((TEMPLATES / "units.json").read_text())
    template = tenant.upload((TEMPLATES / "unit-summary.docx").read_bytes(), "summary.docx")
    job = tenant.wait_for(
        tenant.submit(template.get_json()["id"], [{"data": unit} for unit in units]).get_json()[
            "id"
        ]
    )
    assert job["status"] == "succeeded", job
    printed = [lines(tenant.get(document["url"]).data) for document in job["documents"]]
    cut = [
        (before, after)
        for document in printed
        for before, after in itertools.pairwise(document)
        if re.search(r"\d$", before) and re.match(r"\d", after)
    ]
    assert cut == []
    # The case that broke: its number on one line, whole.
    assert any("13 人）" in line or "13人）" in line for line in printed[0]), printed[0]
