"""The OpenAPI document: it describes every route, and schemathesis, generating requests
from it against the real app (and Redis), finds no 5xx and no answer that breaks it."""

from __future__ import annotations

import dataclasses

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from api import create_app
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx

KEY = "openapi-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def schema_app(settings: Settings) -> Flask:
    # A generous rate limit: hypothesis sends hundreds of requests a second.
    return create_app(
        dataclasses.replace(
            settings,
            api_keys={KEY: "openapi"},
            rate_limit="100000/second",
            read_rate_limit="100000/second",
        )
    )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def run_cases(strategy: SearchStrategy[schemathesis.Case], examples: int = 60) -> None:
    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=True,  # the same requests every run: a failure reproduces
        database=None,
    )
    def answers_within_the_document(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    answers_within_the_document()


def real_resources(app: Flask) -> dict[str, object]:
    """A template and a finished job of the tenant, so that requests also reach answers
    other than 404: a job, a document, an archive, a merged volume."""
    client = Tenant(app.test_client(), KEY)
    template = client.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = client.submit(template, [{"data": {"unit": "甲"}}]).get_json()["id"]
    client.wait_for(job)
    client.merged(job)
    return {"template_id": template, "job_id": job, "index": 0}


@pytest.mark.usefixtures("worker")  # so /readyz is ready: a 503 there is no bug but counts
def test_no_5xx_and_every_answer_fits_the_document(settings: Settings) -> None:
    # Each operation in turn, with hypothesis driving schemathesis's strategies for it.
    # (schemathesis's pytest integration, from_fixture, breaks on pytest 9.)
    app = schema_app(settings)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    known = real_resources(app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) == 15, "every operation's schema reads"
    for operation in operations:
        run_cases(operation.as_strategy())  # requests that fit the document
        try:  # requests that break it on purpose
            run_cases(operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
        except hypothesis.errors.Unsatisfiable:
            assert "{" not in operation.path and operation.method == "get", operation.label
        ids = {name: value for name, value in known.items() if f"{{{name}}}" in operation.path}
        if ids:  # the tenant's real template and job
            run_cases(operation.as_strategy(path_parameters=ids), examples=10)


def test_the_document_is_openapi_3_1_and_names_every_route(settings: Settings) -> None:
    app = schema_app(settings)
    document = app.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    routes = {
        (method, rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}  # type: ignore[operator]
        # The clerks' pages (/web, and / that leads there) are pages, not the API.
        if rule.endpoint != "static"
        and rule.rule != "/"
        and not rule.rule.startswith(("/openapi", "/docs", "/apidoc", "/web", "/metrics"))
    }
    assert routes == documented
    job_in = document["components"]["schemas"]["JobIn"]
    assert job_in["additionalProperties"] is False and "callback_url" in job_in["properties"]
    page = app.test_client().get("/docs")
    assert page.status_code == 200 and b"/openapi.json" in page.data


def test_the_document_says_what_generated_clients_need(settings: Settings) -> None:
    document = create_app(settings).test_client().get("/openapi.json").get_json()
    operations = {
        op["operationId"]: (path, method, op)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    }
    assert set(operations) == {
        "getHealth",
        "getReadiness",
        "uploadTemplate",
        "listTemplates",
        "getTemplate",
        "deleteTemplate",
        "createJob",
        "listJobs",
        "getJob",
        "dryRunJob",
        "retryJob",
        "cancelJob",
        "downloadMerged",
        "downloadDocument",
        "downloadArchive",
    }
    # Downloads are files, with their names in Content-Disposition.
    for name, media in (
        ("downloadArchive", "application/zip"),
        ("downloadMerged", "application/pdf"),
        ("downloadDocument", "application/pdf"),
    ):
        ok = operations[name][2]["responses"]["200"]
        assert ok["content"][media]["schema"] == {"type": "string", "format": "binary"}
        assert "Content-Disposition" in ok["headers"]
    # Headers: Location and Idempotent-Replayed, Retry-After on 429/503, X-Request-ID always.
    create = operations["createJob"][2]
    assert {"Location", "X-Request-ID"} <= set(create["responses"]["202"]["headers"])
    assert "Idempotent-Replayed" in create["responses"]["200"]["headers"]
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert {p["name"] for p in create["parameters"]} >= {"Idempotency-Key", "X-Request-ID"}
    # Typed error details per code.
    refs = {
        ref["$ref"].rsplit("/", 1)[1]
        for ref in create["responses"]["422"]["content"]["application/json"]["schema"]["anyOf"]
    }
    assert {"MissingVariablesError", "WrongShapeError", "ValidationFailedError"} <= refs
    # No 422 where the server never sends one (a bad wait is 400); no unused schemas.
    assert "422" not in operations["getJob"][2]["responses"]
    assert not {"JobHeaders", "WaitQuery"} & set(document["components"]["schemas"])
    job = document["components"]["schemas"]["JobOut"]["properties"]
    assert job["created_at"]["format"] == "date-time"
