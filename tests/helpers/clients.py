"""Talking to the API as a client does, and setting up state a test needs directly."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from docrender.jobs.options import JobOptions
from docrender.jobs.store import JobStore, NewDocument, NewJob
from docrender.processes import poll_until
from tests.helpers.documents import make_docx


@dataclass
class Tenant:
    """A test client authenticated as one tenant."""

    client: FlaskClient
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def name(self) -> str:
        """The tenant this client's key belongs to."""
        return self.client.application.extensions["docrender"].settings.api_keys[self.key]

    def get(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def post(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def delete(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.delete(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def upload(self, data: bytes, filename: str = "template.docx") -> Any:
        return self.post("/v1/templates", data={"file": (io.BytesIO(data), filename)})

    def submit(
        self, template_id: str, documents: Sequence[Mapping[str, Any]], **options: Any
    ) -> Any:
        return self.post(
            "/v1/jobs", json={"template": template_id, "documents": documents, **options}
        )

    def merged(self, job_id: str, timeout: float = 60) -> Any:
        """The merged volume, once the task that follows the job's end has built it."""
        return self._bundled(f"/v1/jobs/{job_id}/merged", timeout)

    def archive(self, job_id: str, timeout: float = 60) -> Any:
        """The ZIP of the job's documents, once the task that follows its end has built it."""
        return self._bundled(f"/v1/jobs/{job_id}/archive", timeout)

    def _bundled(self, url: str, timeout: float) -> Any:
        def built() -> Any:
            response = self.get(url)
            return None if response.status_code == 409 else response

        response = poll_until(built, timeout, interval=0.2)
        assert response is not None, f"{url} was never built"
        return response

    def wait_for(self, job_id: str, timeout: float = 180) -> dict[str, Any]:
        """Poll the job until it finishes, as a client would."""

        def finished() -> dict[str, Any] | None:
            job = self.get(f"/v1/jobs/{job_id}").get_json()
            return job if job["finished_at"] is not None else None

        job = poll_until(finished, timeout, interval=0.2)
        assert job is not None, f"job {job_id} did not finish within {timeout}s"
        return job


def upload(tenant: Tenant, *paragraphs: str) -> str:
    return str(tenant.upload(make_docx(*paragraphs)).get_json()["id"])


def tenant_jobs(tenant: Tenant) -> list[str]:
    """The ids of every job the tenant has, as the API lists them (a tenant's own: other
    tests running meanwhile cannot change it)."""
    ids: list[str] = []
    cursor = ""
    while True:
        page = tenant.get(f"/v1/jobs?limit=100{cursor}").get_json()
        ids += [job["id"] for job in page["jobs"]]
        if page["next_cursor"] is None:
            return ids
        cursor = f"&cursor={page['next_cursor']}"


def record_job(
    store: JobStore,
    tenant: str,
    documents: Sequence[NewDocument],
    template_key: str = "k",
    **options: Any,
) -> str:
    """A job written straight into the job store (never queued); its id."""
    job_id = uuid.uuid4().hex
    store.create(NewJob(job_id, tenant, "tpl", template_key, JobOptions(**options), documents))
    return job_id


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that answers with ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    calls: list[Received] = field(default_factory=list)
    url: str = ""
