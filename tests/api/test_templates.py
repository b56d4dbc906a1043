from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import uuid
from typing import Any

import psutil

from api import create_app
from docrender import children
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.processes import wait_until


def test_upload_returns_the_template_with_its_variables(
    tenant: Tenant, sample_template: bytes
) -> None:
    response = tenant.upload(sample_template, "report.docx")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {
        "id",
        "name",
        "sha256",
        "size",
        "variables",
        "created_at",
        "loops",
        "fonts",
        "optional",
        "pictures",
    }
    assert body["name"] == "report"
    assert body["pictures"] == []  # the sample report holds no picture
    assert body["sha256"] == hashlib.sha256(sample_template).hexdigest()
    assert body["size"] == len(sample_template)
    assert "unit" in body["variables"] and body["variables"] == sorted(body["variables"])
    assert "sections[].points" in body["loops"]  # what the template iterates, nesting included


def test_same_bytes_again_is_200_with_the_same_id(tenant: Tenant) -> None:
    template = make_docx("{{ a }}")
    first = tenant.upload(template).get_json()
    again = tenant.upload(template, "renamed.docx")
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


def test_list_get_delete(tenant: Tenant) -> None:
    created = tenant.upload(make_docx("{{ x }}")).get_json()
    listed = tenant.get("/v1/templates").get_json()["templates"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert tenant.get(f"/v1/templates/{created['id']}").get_json() == created
    assert tenant.delete(f"/v1/templates/{created['id']}").status_code == 204
    assert tenant.get(f"/v1/templates/{created['id']}").status_code == 404
    assert tenant.delete(f"/v1/templates/{created['id']}").status_code == 404


def test_another_tenant_sees_none_of_it(tenants: tuple[Tenant, Tenant]) -> None:
    owner, other = tenants
    created = owner.upload(make_docx("{{ x }}")).get_json()
    assert other.get(f"/v1/templates/{created['id']}").status_code == 404
    assert other.delete(f"/v1/templates/{created['id']}").status_code == 404
    assert other.get("/v1/templates").get_json() == {"templates": []}
    # The same bytes uploaded by the other tenant are its own, new template.
    assert other.upload(make_docx("{{ x }}")).status_code in (200, 201)


def test_not_a_docx_is_415(tenant: Tenant) -> None:
    response = tenant.upload(b"plain text, not a document", "notes.docx")
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_file_type"


def test_jinja_syntax_error_is_422_naming_the_tag(tenant: Tenant) -> None:
    response = tenant.upload(make_docx("ok {{ unit }}", "{% for s in sections %}{{ s }}"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "template_syntax_error"
    assert "{% for s in sections %}" in error["message"]


def test_upload_without_a_file_field_is_400(tenant: Tenant) -> None:
    response = tenant.post("/v1/templates", data={"name": "x"})
    assert response.status_code == 400
    assert "'file'" in response.get_json()["error"]["message"]


def test_a_template_too_costly_to_inspect_is_422_and_holds_nobody_else(
    tenants: tuple[Tenant, Tenant],
) -> None:
    """docxtpl's tag patching is quadratic in a run of braces (70,000 took 48 s of one API
    thread) and recursive (8,000 overflowed the stack into a 500). Inspection runs in a child
    process with a deadline: both are 422; while the first runs, the same tenant's next
    upload is a 429 at once and another tenant's upload answers at its usual pace; the API
    process itself does not grow."""
    hostile, calm = tenants
    process = psutil.Process()
    rss_before = process.memory_info().rss
    answers: list[Any] = []

    def upload() -> None:
        started = time.monotonic()
        answers.append((hostile.upload(make_docx("{" * 70_000)), time.monotonic() - started))

    attack = threading.Thread(target=upload)
    attack.start()
    wait_until(lambda: hostile.name in children._running)  # its inspection is running
    second = hostile.upload(make_docx("{{ unit }}"))
    assert second.status_code == 429 and second.get_json()["error"]["code"] == "too_many_uploads"
    started = time.monotonic()
    ordinary = calm.upload(make_docx(f"{{{{ unit }}}} {uuid.uuid4()}"))
    calm_seconds = time.monotonic() - started
    attack.join()
    assert ordinary.status_code == 201 and calm_seconds < 5, calm_seconds
    ((response, seconds),) = answers
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "template_too_complex" and error["details"] == {"limit": "15 seconds"}
    assert seconds < 25, seconds
    assert process.memory_info().rss - rss_before < 100 * 1024 * 1024

    deep = hostile.upload(make_docx("{" * 8_000))  # was a 500: RecursionError
    assert deep.status_code == 422
    assert deep.get_json()["error"]["details"] == {"limit": "nesting depth"}


def test_a_tenant_past_its_storage_quota_is_413_until_it_frees_room(settings: Settings) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    first, second = make_docx("{{ unit }} 一"), make_docx("{{ unit }} 二")
    quota = len(first) + len(second) // 2
    small = dataclasses.replace(
        settings, api_keys={f"key-{name}": name}, tenant_storage_bytes=quota
    )
    tenant = Tenant(create_app(small).test_client(), f"key-{name}")
    kept = tenant.upload(first)
    assert kept.status_code == 201
    refused = tenant.upload(second)
    assert refused.status_code == 413, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "storage_quota_exceeded"
    assert error["details"] == {"limit": quota, "used": len(first), "incoming": len(second)}
    assert tenant.upload(first).status_code == 200  # the same bytes again take no room
    # A job would copy the template: refused too, with nothing queued.
    job = tenant.submit(kept.get_json()["id"], [{"data": {"unit": "甲"}}])
    assert job.status_code == 413
    assert tenant.delete(f"/v1/templates/{kept.get_json()['id']}").status_code == 204
    assert tenant.upload(second).status_code == 201
