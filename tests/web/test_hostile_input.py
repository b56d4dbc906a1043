"""The pages given what a hostile or careless user sends, without a browser: a clerk's sheet is
read as the API reads one (in a bounded child, within the row and column caps), a link's
cursor that is no number is a 400 page, and a template name is kept on one line."""

from __future__ import annotations

import dataclasses
import io
import re
import uuid

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from docrender.settings import Settings
from tests.helpers.documents import make_docx, sheet_claiming, workbook
from tests.helpers.processes import peak_memory_growth


@dataclasses.dataclass(frozen=True)
class Clerk:
    client: FlaskClient  # signed in to the pages
    template: str  # the id of a template the tenant uploaded
    key: str  # the tenant's API key


def signed_in_with_template(settings: Settings, name: str = "t") -> Clerk:
    """A clerk signed in to the pages, whose tenant uploaded a template (through the API,
    named ``name``)."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    key = f"key-{tenant}"
    client = create_app(dataclasses.replace(settings, api_keys={key: tenant})).test_client()
    uploaded = client.post(
        "/v1/templates",
        headers={"Authorization": f"Bearer {key}"},
        data={
            "file": (io.BytesIO(make_docx("{{ unit }}")), "t.docx"),
            "name": name,
        },
    )
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": _token(client, "sign-in")})
    return Clerk(client, uploaded.get_json()["id"], key)


def _token(client: FlaskClient, page: str) -> str:
    found = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(f"/web/{page}").get_data(as_text=True)
    )
    assert found is not None
    return found.group(1)


def check(client: FlaskClient, template: str, sheet: bytes) -> TestResponse:
    return client.post(
        "/web/batch",
        headers={"Accept-Language": "zh-TW"},
        data={
            "csrf_token": _token(client, "batch"),
            "template": template,
            "action": "check",
            "data": (io.BytesIO(sheet), "units.xlsx"),
        },
    )


@pytest.mark.usefixtures("worker")  # Check fills the rows it read, as the render will
def test_a_sheet_claiming_every_column_is_checked_within_the_caps(settings: Settings) -> None:
    clerk = signed_in_with_template(settings)
    client, template = clerk.client, clerk.template
    page, grown = peak_memory_growth(
        lambda: check(client, template, sheet_claiming("A1:XFD8000", 8000))
    )
    assert page.status_code == 200
    assert ">8000<" in page.get_data(as_text=True)  # its row
    assert grown < 100, f"the API process grew by {grown:.0f} MiB"


def test_data_past_the_columns_a_sheet_may_have_is_refused_on_the_page(
    settings: Settings,
) -> None:
    clerk = signed_in_with_template(settings)
    client, template = clerk.client, clerk.template
    wide = workbook([["unit", "count"], ["甲", 1], ["乙", *([None] * 298), "far"]])
    page = check(client, template, wide)
    assert page.status_code == 422
    assert "第 3 列在第 256 欄之後還有資料" in page.get_data(as_text=True)


def test_a_jobs_page_cursor_that_is_no_number_is_a_400_page(settings: Settings) -> None:
    client = signed_in_with_template(settings).client
    for before in ("nan", "inf", "-5", "abc"):  # nan was a 500
        page = client.get(f"/web/jobs?before={before}")
        assert page.status_code == 400, before
        assert "is not a next_cursor" in page.get_data(as_text=True)
    assert client.get("/web/jobs?before=99999999999999").status_code == 200


@pytest.mark.parametrize("name", ["經費表\r\nSet-Cookie: x=1", "a\u2028b\x00c", "\r\n", " " * 500])
def test_a_template_name_is_kept_on_one_line(settings: Settings, name: str) -> None:
    """A name with CR/LF was stored as sent, and its fill-in sheet's download was a 500."""
    clerk = signed_in_with_template(settings, name)
    client, template = clerk.client, clerk.template
    expected = " ".join(re.sub(r"[\x00-\x1f\u2028]", " ", name).split()) or "template"
    assert (
        client.get("/v1/templates", headers={"Authorization": f"Bearer {clerk.key}"}).get_json()[
            "templates"
        ][0]["name"]
        == expected
    )
    sheet = client.get(f"/web/templates/{template}/fill-in.xlsx")
    assert sheet.status_code == 200
    assert "\n" not in sheet.headers["Content-Disposition"]
