"""A client generated from /openapi.json the way integrators make one (openapi-python-client,
pinned in the dev dependencies) does the whole flow against the real stack and gets typed
answers: files for downloads, typed error details, the declared headers. The spec also passes
openapi-spec-validator."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from api import create_app
from docrender.settings import Settings
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text

pytestmark = pytest.mark.usefixtures("worker")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[str]:
    """The package openapi-python-client generates from the service's document."""
    spec = create_app(settings).test_client().get("/openapi.json").get_json()
    validate(spec)  # openapi-spec-validator: a valid OpenAPI 3.1 document
    work = tmp_path_factory.mktemp("generated")
    (work / "openapi.json").write_text(json.dumps(spec))
    package = f"docrender_client_{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}  # its ruff hook
    subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--output-path",
            str(work / package),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    sys.path.insert(0, str(work))
    yield package
    sys.path.remove(str(work))


def client_for(generated: str, app: Any, key: str) -> Any:
    client_module = importlib.import_module(f"{generated}.client")
    return client_module.AuthenticatedClient(
        base_url="http://docrender.test",
        token=key,
        httpx_args={"transport": httpx.WSGITransport(app=app)},
    )


def operation(generated: str, name: str) -> ModuleType:
    return importlib.import_module(f"{generated}.api.{name}")


def test_the_whole_flow_through_a_generated_client(generated: str, settings: Settings) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(dataclasses.replace(settings, api_keys={"key-g": tenant}))
    client = client_for(generated, app, "key-g")
    models = importlib.import_module(f"{generated}.models")
    types = importlib.import_module(f"{generated}.types")

    upload = operation(generated, "templates.upload_template").sync_detailed(
        client=client,
        body=models.TemplateUpload(
            file=types.File(
                payload=io.BytesIO(make_docx("單位：{{ unit }}", "落款：{{ signature }}")),
                file_name="notice.docx",
                mime_type="application/octet-stream",
            )
        ),
    )
    assert upload.status_code == 201 and isinstance(upload.parsed, models.TemplateOut)
    template = upload.parsed.id

    # A typed 422: every document's missing names, as objects.
    create = operation(generated, "jobs.create_job")
    refused = create.sync_detailed(
        client=client,
        body=models.JobIn.from_dict(
            {"template": template, "documents": [{"data": {"unit": "甲"}}]}
        ),
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.MissingVariablesError)
    [problem] = refused.parsed.error.details
    assert problem.document == 0 and problem.missing == ["signature"]

    body = models.JobIn.from_dict(
        {
            "template": template,
            "name": "{{ unit }}-通知",
            "documents": [
                {"data": {"unit": "沙灣縣第二中學", "signature": "沙灣縣教育局"}},
                {"data": {"unit": "阜康市第二中學", "signature": "阜康市教育局"}},
            ],
        }
    )
    key = uuid.uuid4().hex
    accepted = create.sync_detailed(
        client=client, body=body, idempotency_key=key, x_request_id="trace-42"
    )
    assert accepted.status_code == 202 and isinstance(accepted.parsed, models.JobOut)
    job_id = accepted.parsed.id
    assert accepted.headers["Location"] == f"/v1/jobs/{job_id}"
    assert accepted.headers["X-Request-ID"] == "trace-42"
    replay = create.sync_detailed(client=client, body=body, idempotency_key=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.id == job_id

    job = operation(generated, "jobs.get_job").sync(client=client, job_id=job_id, wait=60)
    while job.finished_at is None:  # a long poll answers by 60 s at most
        job = operation(generated, "jobs.get_job").sync(client=client, job_id=job_id, wait=60)
    assert job.status.value == "succeeded" and job.finished_at.year >= 2026  # a datetime

    document = operation(generated, "files.download_document").sync_detailed(
        client=client, job_id=job_id, index=0
    )
    assert isinstance(document.parsed, types.File)
    pdf = document.parsed.payload.read()
    assert "沙灣縣第二中學" in pdf_text(pdf)
    assert "filename*=UTF-8''" in document.headers["Content-Disposition"]  # its Chinese name
    download_archive = operation(generated, "files.download_archive").sync_detailed
    # 409 for the moment between the job's end and its archive being stored
    while (archive := download_archive(client=client, job_id=job_id)).status_code == 409:
        time.sleep(0.2)
    assert isinstance(archive.parsed, types.File)
    names = zipfile.ZipFile(archive.parsed.payload).namelist()
    assert sorted(names) == ["沙灣縣第二中學-通知.pdf", "阜康市第二中學-通知.pdf"]


def test_rate_limited_answers_are_typed_with_retry_after(
    generated: str, settings: Settings
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    app = create_app(
        dataclasses.replace(settings, api_keys={"key-r": tenant}, read_rate_limit="2/minute")
    )
    client = client_for(generated, app, "key-r")
    models = importlib.import_module(f"{generated}.models")
    list_templates = operation(generated, "templates.list_templates")
    answers = [list_templates.sync_detailed(client=client) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    limited = answers[-1]
    assert isinstance(limited.parsed, models.RateLimitedError)
    assert limited.parsed.error.details.limit == "2 per 1 minute"
    assert int(limited.headers["Retry-After"]) >= 1
