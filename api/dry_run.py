"""A dry run of a job: every document filled as its render would fill it, none converted,
nothing kept.

Check on the pages, ``POST /v1/jobs/dry-run`` and ``docrender validate`` give the render's own
verdict on the data before anything is made, so a row that passes does not fail later for its
data. First the job is validated as a submission is (a body that is no job is refused the same
way); then data missing a variable the template reads, or giving one the wrong shape, is
reported per document (unless ``"strict": false``); then the documents that fit are filled by
the workers' own code, in a *check* job (docrender/jobs/store.py): not listed, never
converted, sent to the interactive queue, waited for as a long poll waits, and discarded once
read, its files and their bytes on the tenant's quota with it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api import actions
from api.naming import document_names
from api.schemas import parse_job
from api.services import ApiServices
from api.submission import find_template, submit_job
from docrender.data.files import DataFile
from docrender.data.rich import check_rich
from docrender.data.strict_json import JSONValue
from docrender.data.validation import Problem, check_documents, problems_of, unused_columns
from docrender.errors import MissingVariables, RenderFailed, ServiceUnavailable, WrongShape
from docrender.i18n import Language, StoredWarning, _, kept
from docrender.jobs.store import DocumentStatus, JobKind
from docrender.responses import CheckedDocument, DryRunOut, JobWarning, said
from docrender.responses import Problem as ProblemOut

log = logging.getLogger(__name__)

CHECK_SECONDS = 60  # how long a dry run waits for the workers' verdict


@dataclass(frozen=True)
class DryRun:
    documents: list[Checked]
    # What the submitter should check (the data file's columns no tag reads), as a job says.
    warnings: list[StoredWarning]


@dataclass(frozen=True)
class Checked:
    """One document of a dry run: its index, name, sheet row (None for JSON) and problems."""

    index: int
    name: str
    row: int | None
    problems: list[Problem]


def dry_run(
    services: ApiServices,
    tenant: str,
    body: JSONValue,
    uploads: Mapping[str, bytes] | None = None,
    sheet: DataFile | None = None,
    request_id: str = "",
) -> DryRun:
    """Every document of the job ``body`` describes, with what would stop it printing."""
    uploads = uploads or {}
    template = find_template(services, tenant, body)
    request = parse_job(body)
    assert isinstance(body, dict)  # parse_job accepted it
    documents = [document.data for document in request.documents]
    names = document_names(
        request.name,
        [(doc.name, doc.data) for doc in request.documents],
        sheet.rows if sheet is not None else None,
    )
    problems: dict[int, list[Problem]] = {}
    for index, data in enumerate(documents):
        try:
            check_rich(data, template.styles)
        except RenderFailed as error:
            problems[index] = [Problem(error.code, error.text, dict(error.details or {}))]
    if request.strict:
        try:
            check_documents(template.inspection, documents)
        except (MissingVariables, WrongShape) as error:
            for found in error.details:
                problems.setdefault(found["document"], problems_of(found))
    fitting = [index for index in range(len(documents)) if index not in problems]
    if fitting:
        for position, problem in _fill(services, tenant, body, fitting, uploads, request_id):
            problems[fitting[position]] = [problem]
    rows = sheet.rows if sheet is not None else None
    unused = unused_columns(template.inspection, sheet.columns) if sheet is not None else None
    labels = sheet.labels if sheet is not None else {}
    return DryRun(
        [
            Checked(
                index,
                names[index],
                rows[index] if rows else None,
                [_as_headed(problem, labels) for problem in problems.get(index, [])],
            )
            for index in range(len(documents))
        ],
        [unused] if unused else [],
    )


def _as_headed(problem: Problem, labels: Mapping[str, str]) -> Problem:
    """The problem naming its column as the sheet's header does, where the header gave a
    label in the template's words (填報日期（day）), so the clerk finds the cell by its name."""
    column = problem.details.get("column")
    if not isinstance(column, str) or column not in labels or "column" not in problem.text.values:
        return problem
    text = dataclasses.replace(
        problem.text, values={**problem.text.values, "column": f"{labels[column]}（{column}）"}
    )
    return dataclasses.replace(problem, text=text)


def _fill(
    services: ApiServices,
    tenant: str,
    body: dict[str, Any],
    indexes: list[int],
    uploads: Mapping[str, bytes],
    request_id: str,
) -> list[tuple[int, Problem]]:
    """Fill documents ``indexes`` of ``body`` in a check job; the failures, by position."""
    documents = body["documents"]
    checked = {
        key: value for key, value in body.items() if key not in ("callback_url", "title", "name")
    }
    checked |= {"documents": [documents[index] for index in indexes], "strict": False}
    job, _replayed = submit_job(
        services, tenant, checked, None, request_id, uploads, None, kind=JobKind.CHECK
    )
    with actions.long_poll_slot(services, tenant):
        job = actions.wait_for_finish(services, tenant, job, CHECK_SECONDS)
    if job.finished_at is None:
        services.jobs.cancel_queued(job.id)  # the rest expires with it
        raise ServiceUnavailable(
            _(
                "The check did not finish within %(seconds)s seconds: the workers are busy or "
                "down. Try again in a minute.",
                seconds=CHECK_SECONDS,
            ),
        )
    failures = [
        (document.index, Problem(error["code"], kept(error), dict(error.get("details") or {})))
        for document in job.documents
        if document.status is DocumentStatus.FAILED and (error := document.error)
    ]
    actions.discard(services, job, uploads)
    return failures


def dry_run_view(checked: DryRun, language: Language) -> DryRunOut:
    """The dry run as the API answers it, its messages in ``language``."""
    return DryRunOut(
        documents=[
            CheckedDocument(
                index=document.index,
                name=document.name,
                row=document.row,
                problems=[
                    ProblemOut(
                        code=problem.code,
                        message=problem.text.render(language),
                        details=problem.details,
                    )
                    for problem in document.problems
                ],
            )
            for document in checked.documents
        ],
        fit=sum(not document.problems for document in checked.documents),
        warnings=[
            JobWarning.model_validate(said(warning, language)) for warning in checked.warnings
        ],
    )
