"""The New batch page's data file, without a browser: a clerk's sheet is read as the API reads
one, in a bounded child, within the row and column caps."""

from __future__ import annotations

import dataclasses
import io
import re
import uuid

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from docrender.settings import Settings
from tests.helpers.documents import make_docx, sheet_claiming, workbook
from tests.helpers.processes import peak_memory_growth


def signed_in_with_template(settings: Settings) -> tuple[FlaskClient, str]:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    key = f"key-{tenant}"
    client = create_app(dataclasses.replace(settings, api_keys={key: tenant})).test_client()
    uploaded = client.post("/v1/templates", headers={"Authorization": f"Bearer {key}"},
                           data={"file": (io.BytesIO(make_docx("{{ unit }}")), "t.docx")})  # fmt: skip
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": _token(client, "sign-in")})
    return client, uploaded.get_json()["id"]


def _token(client: FlaskClient, page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get(f"/web/{page}").get_data(as_text=True))  # fmt: skip
    assert found is not None
    return found.group(1)


def check(client: FlaskClient, template: str, sheet: bytes) -> TestResponse:
    return client.post("/web/batch", headers={"Accept-Language": "zh-TW"}, data={
        "csrf_token": _token(client, "batch"), "template": template, "action": "check",
        "data": (io.BytesIO(sheet), "units.xlsx"),
    })  # fmt: skip


def test_a_sheet_claiming_every_column_is_checked_within_the_caps(settings: Settings) -> None:
    client, template = signed_in_with_template(settings)
    page, grown = peak_memory_growth(
        lambda: check(client, template, sheet_claiming("A1:XFD8000", 8000))
    )
    assert page.status_code == 200
    assert ">8000<" in page.get_data(as_text=True)  # its row
    assert grown < 100, f"the API process grew by {grown:.0f} MiB"


def test_data_past_the_columns_a_sheet_may_have_is_refused_on_the_page(
    settings: Settings,
) -> None:
    client, template = signed_in_with_template(settings)
    wide = workbook([["unit", "count"], ["甲", 1], ["乙", *([None] * 298), "far"]])
    page = check(client, template, wide)
    assert page.status_code == 422
    assert "第 3 列在第 256 欄之後還有資料" in page.get_data(as_text=True)
