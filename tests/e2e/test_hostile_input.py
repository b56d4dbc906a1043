"""Hostile templates and data through the real stack: refused at upload, or failing only
their own document while the worker lives on."""

from __future__ import annotations

import json

import pytest

from tests.helpers.clients import Tenant
from tests.helpers.documents import external, make_docx, tamper
from tests.helpers.pdf import pdf_text

pytestmark = pytest.mark.usefixtures("worker")


def test_hostile_packages_are_refused_at_upload(tenant: Tenant) -> None:
    bomb = tamper({"word/media/padding.xml": b"\0" * (50 * 1024 * 1024)})
    assert tenant.upload(bomb).status_code == 413
    macros = tenant.upload(tamper({"word/vbaProject.bin": b"\xd0\xcf"}))
    assert macros.status_code == 422 and macros.get_json()["error"]["code"] == "unsafe_template"
    linked = tenant.upload(tamper(rels=external("image", "http://127.0.0.1:9/x.png")))
    assert linked.status_code == 422
    assert linked.get_json()["error"]["details"][0]["problem"].startswith("an external image")


def test_runaway_and_giant_templates_fail_their_document_and_the_worker_lives(
    tenant: Tenant,
) -> None:
    runaway = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    for source, reason in ((runaway, "took longer than 5s"), ("{{ 'x' * 10**9 }}", "sandbox")):
        template = tenant.upload(make_docx("{{ unit }}", source)).get_json()["id"]
        job = tenant.wait_for(tenant.submit(template, [{"data": {"unit": "x"}}]).get_json()["id"])
        assert job["status"] == "failed"
        assert job["documents"][0]["error"]["code"] == "render_failed"
        assert reason in job["documents"][0]["error"]["message"]
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.wait_for(tenant.submit(template, [{"data": {"unit": "還在"}}]).get_json()["id"])
    assert job["status"] == "succeeded"


def test_injection_and_xml_breaking_data_print_literally(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("[{{ unit }}]", "[{{ note }}]")).get_json()["id"]
    data = {
        "unit": '</w:t></w:r></w:p><w:p><w:r><w:t>injected & "quoted" <b>',
        "note": "控制\x00字元\x0b與\x1f符號",
    }
    job = tenant.wait_for(tenant.submit(template, [{"data": data}]).get_json()["id"])
    assert job["status"] == "succeeded", job
    text = pdf_text(tenant.get(job["documents"][0]["url"]).data)
    assert '[</w:t></w:r></w:p><w:p><w:r><w:t>injected & "quoted" <b>]' in text
    assert "[控制字元與符號]" in text  # characters XML cannot hold are dropped
    # A lone surrogate (JSON "\\ud800") is not a character at all: refused.
    body = {"template": template, "documents": [{"data": {"unit": "\ud800", "note": ""}}]}
    refused = tenant.post(
        "/v1/jobs", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 400
    assert "surrogate" in refused.get_json()["error"]["message"]


def test_fields_the_filling_puts_together_fail_their_document_alone(tenant: Tenant) -> None:
    """The template passes the upload check (its field's name is a tag), but this document's
    data makes it an INCLUDEPICTURE; another's data makes markup through |safe. Checked again
    after filling: those two fail, the neighbour prints."""
    field = (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> {{ a }}{{ b }}'
        ' "http://127.0.0.1:9/x.png" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/>'
        "</w:r></w:p><w:p><w:r><w:t>{{ unit }}{{ markup|safe }}</w:t></w:r></w:p>"
    )
    template = tenant.upload(tamper(body=field.encode())).get_json()["id"]
    markup = (
        '</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
        ' INCLUDETEXT "/etc/passwd" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/>'
        "</w:r><w:r><w:t>"
    )
    documents = [
        {"data": {"unit": "甲", "a": "PA", "b": "GE", "markup": ""}},
        {"data": {"unit": "乙", "a": "INCLUDE", "b": "PICTURE", "markup": ""}},
        {"data": {"unit": "丙", "a": "PA", "b": "GE", "markup": markup}},
    ]
    job = tenant.wait_for(tenant.submit(template, documents, strict=False).get_json()["id"])
    statuses = [(d["status"], (d["error"] or {}).get("code")) for d in job["documents"]]
    assert statuses == [
        ("succeeded", None),
        ("failed", "unsafe_template"),
        ("failed", "unsafe_template"),
    ]
    assert "INCLUDEPICTURE" in job["documents"][1]["error"]["message"]
    assert "INCLUDETEXT" in job["documents"][2]["error"]["message"]
    assert "甲" in pdf_text(tenant.get(job["documents"][0]["url"]).data)
