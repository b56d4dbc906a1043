"""The clerks' pages: sign in, templates, a batch (check, preview, render), its progress and
results, the jobs list. Server-rendered; the one script (static/progress.js) only follows a
job's progress.

Each page calls what the API's routes call (the template registry, submit_job, the job
store), so a batch made here is the same job the API makes, checked the same way. A page
never takes the API key after signing in: the session cookie (HttpOnly, SameSite=Strict,
Secure over TLS) keeps an identity of it (api/auth.py), and every form carries a CSRF token.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup

from api import actions
from api.auth import session_tenant, sign_in
from api.dry_run import dry_run
from api.errors import request_language
from api.naming import document_names, safe_name
from api.services import services
from api.submission import submit_job
from docrender.data.files import DataFile, read_uploaded_data_file
from docrender.data.validation import unused_columns
from docrender.errors import (
    DocrenderError,
    MissingVariables,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RenderFailed,
    WrongShape,
)
from docrender.i18n import Language, Message, _, kept, ngettext
from docrender.jobs.store import DocumentStatus, Job, JobKind, JobStatus
from docrender.storage import job_document_key
from docrender.templates.inspection import fill_in_sheet_for
from docrender.templates.registry import Template, template_key

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/web",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()
LANGUAGES: tuple[Language, ...] = ("zh-Hans", "zh-Hant", "en")
PREVIEW_SECONDS = 90
DATA_KEPT_SECONDS = 3600


# --- every request ------------------------------------------------------------------------


@bp.before_request
def before() -> ResponseReturnValue | None:
    if request.args.get("lang") in LANGUAGES:
        session["lang"] = request.args["lang"]
    g.language = session.get("lang") or request_language()
    if request.method == "POST":
        csrf.protect()
    if request.endpoint not in ("web.sign_in_page", "web.sign_in_form", "web.static"):
        g.tenant = session_tenant()
        if g.tenant is None:
            session.pop("tenant", None)
            session.pop("identity", None)
            return redirect(url_for("web.sign_in_page"))
        # The same budgets as the API's: a page is no way around them.
        services().rate_limit.check(g.tenant, read=request.method in ("GET", "HEAD"))
    return None


# Every page: scripts and styles from docrender only, no framing by any page (a same-site page
# framed /web/templates invisibly, and one click on its decoy deleted a template), forms that
# post only here.
_PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@bp.after_request
def page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _PAGE_POLICY
    response.headers["X-Frame-Options"] = "DENY"  # for browsers before CSP's frame-ancestors
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.app_context_processor
def words() -> dict[str, Any]:
    language = g.get("language", "en")
    return {
        "language": language,
        "languages": LANGUAGES,
        "status_name": lambda status: _STATUS_NAMES[str(status)].render(language),
        "moment": moment,
        # A stored error or warning in the reader's language (its message id was kept).
        "said": lambda item: kept(item).render(language),
        "data_codes": sorted(DATA_CODES),
        "data_failures": lambda job: [
            doc for doc in job.documents if doc.error and doc.error["code"] in DATA_CODES
        ],
    }


# Failures that come from a document's data, which correcting its row fixes (the others are
# the service's, which Retry is for).
DATA_CODES = frozenset({RenderFailed.code, MissingVariables.code, WrongShape.code})


def moment(iso: str) -> Markup:
    """A stored UTC moment, as a page shows it: in UTC, said so, which local-time.js turns
    into the reader's own time zone (named) where scripts run."""
    shown = f"{iso[:16].replace('T', ' ')} UTC"
    return Markup('<time datetime="{}" class="local">{}</time>').format(iso, shown)


# A job's status as a clerk reads it (the code stays in the URL and the API).
_STATUS_NAMES = {
    "queued": _("queued"),
    "running": _("running"),
    "succeeded": _("succeeded"),
    "partial": _("partly failed"),
    "failed": _("failed"),
    "cancelled": _("cancelled"),
}


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int]:
    return render_template(
        "message.html",
        message=_("This form expired or did not come from this page; reload and try again.").render(
            g.language
        ),
    ), 400


@bp.errorhandler(DocrenderError)
def refused(error: DocrenderError) -> tuple[str, int]:
    return render_template(
        "message.html", message=error.to_dict(g.language)["message"]
    ), error.status


@bp.errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    message = NotFound(_("There is no such page.")).to_dict(g.language)["message"]
    return render_template("message.html", message=message), 404


# --- signing in and out -------------------------------------------------------------------


@bp.get("/sign-in")
def sign_in_page() -> str:
    return render_template("sign_in.html")


@bp.post("/sign-in")
def sign_in_form() -> ResponseReturnValue:
    address = request.remote_addr or "unknown"
    try:
        services().sign_ins.check(address)  # before the key is tried: guessing stays slow
    except RateLimited as error:
        page = render_template("sign_in.html", error=error.to_dict(g.language)["message"])
        return page, 429, {"Retry-After": str(error.retry_after)}
    signed = sign_in(request.form.get("api_key", "").strip())
    if signed is None:
        services().sign_ins.failed(address)
        return render_template(
            "sign_in.html",
            error=_("That API key is not valid; check it or ask for a new one.").render(g.language),
        ), 401
    language = session.get("lang")
    session.clear()  # a new session for the new identity
    session.update(
        tenant=signed[0],
        identity=signed[1],
        session=services().page_sessions.start(signed[0]),
        **({"lang": language} if language else {}),
    )
    return redirect(url_for("web.jobs_page"))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    if isinstance(session_id := session.get("session"), str):
        services().page_sessions.end(session_id)  # a copy of the cookie signs in no more
    language = session.get("lang")
    session.clear()  # the identity goes; the language chosen stays
    if language:
        session["lang"] = language
    return redirect(url_for("web.sign_in_page"))


# --- templates ----------------------------------------------------------------------------


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("web.jobs_page"))


@bp.get("/templates")
def templates_page() -> str:
    templates = services().templates.list(g.tenant)
    return render_template("templates.html", templates=templates, fonts=_font_words)


@bp.post("/templates")
def upload_template() -> ResponseReturnValue:
    upload = request.files.get("template")
    if upload is None or not upload.filename:
        return _templates_error(
            _("A Word template (.docx) with tags such as {{ unit }}.").render(g.language), 400
        )
    data = upload.stream.read(services().settings.max_template_bytes + 1)
    name = Path(upload.filename).stem
    try:
        if len(data) > services().settings.max_template_bytes:
            limit = services().settings.max_template_bytes
            raise PayloadTooLarge(_("The template is larger than %(limit)s bytes.", limit=limit))
        template, new = services().templates.add(g.tenant, data, name)
    except DocrenderError as error:
        return _templates_error(error.to_dict(g.language)["message"], error.status)
    if new:
        flash(_("The template was uploaded.").render(g.language))
    else:  # the same bytes as a template already here: nothing was added
        flash(
            _(
                "This file is already here, as the template “%(name)s”; nothing was added.",
                name=template.name,
            ).render(g.language)
        )
    return redirect(url_for("web.templates_page"))


@bp.get("/templates/<template_id>/delete")
def confirm_delete_template(template_id: str) -> str:
    """Deleting asks first, on a page of its own (it works without JavaScript): the list's
    Delete is a link here, not the deletion."""
    return render_template("delete_template.html", template=_template(template_id))


@bp.post("/templates/<template_id>/delete")
def delete_template(template_id: str) -> ResponseReturnValue:
    if not services().templates.delete(g.tenant, template_id):
        abort(404)
    flash(_("The template was deleted.").render(g.language))
    return redirect(url_for("web.templates_page"))


@bp.get("/templates/<template_id>/fill-in.xlsx")
def fill_in(template_id: str) -> Response:
    template = _template(template_id)
    data = services().storage.read(_template_key(template))
    sheet = fill_in_sheet_for(g.tenant, data, template.inspection, g.language)
    return send_file(
        _bytes(sheet),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{safe_name(template.name) or 'template'}-fill-in.xlsx",
    )


def _templates_error(message: str, status: int) -> tuple[str, int]:
    templates = services().templates.list(g.tenant)
    page = render_template("templates.html", templates=templates, fonts=_font_words, error=message)
    return page, status


def _font_words(font: dict[str, Any]) -> str:
    """What a clerk needs to know of a font: whether it prints as asked."""
    if font.get("embedded"):
        return _("in the template: prints as asked").render(g.language)
    if font.get("exact") or not font.get("used"):
        return _("prints as asked").render(g.language)
    if font.get("different_style"):
        return _("prints in another style: %(used)s", used=font["used"]).render(g.language)
    return _("prints with %(used)s (same style)", used=font["used"]).render(g.language)


# --- a batch ------------------------------------------------------------------------------


@bp.get("/batch")
def batch_page() -> str:
    return render_template("batch.html", **_batch_context())


@bp.post("/batch")
def batch_form() -> ResponseReturnValue:
    action = request.form.get("action", "check")
    context = _batch_context()
    template = context["chosen"]
    kept = _keep_data_file()
    context["kept"] = kept
    if template is not None and kept is not None and not context["title"]:
        context["title"] = default_title(template, kept["name"])
    if template is None or kept is None:
        chosen = _("Choose a template first.") if template is None else _("Choose the data file.")
        context["error"] = chosen.render(g.language)
        return render_template("batch.html", **context), 400
    pattern = request.form.get("name_pattern", "").strip() or None
    try:
        sheet = read_uploaded_data_file(
            g.tenant,
            kept["name"],
            base64.b64decode(kept["data"]),
            services().settings.max_documents_per_job,
        )
        if action == "render":
            job = _submit(template, sheet.documents, pattern, sheet, context["title"])
            return redirect(url_for("web.job_page", job_id=job.id))
        context["rows"] = _checked_rows(template, sheet, pattern)
        context["unused"] = unused_columns(template.inspection, sheet.columns)
        if action == "preview" and sheet.documents:
            context["preview"] = _preview(template, sheet.documents[0], pattern)
    except DocrenderError as error:
        context["error"] = error.to_dict(g.language)["message"]
        return render_template("batch.html", **context), error.status
    return render_template("batch.html", **context)


def _batch_context() -> dict[str, Any]:
    templates = services().templates.list(g.tenant)
    chosen_id = request.values.get("template")
    chosen = next((t for t in templates if t.id == chosen_id), None)
    return {
        "templates": templates,
        "chosen": chosen,
        "pattern": request.form.get("name_pattern", ""),
        "title": " ".join(request.form.get("title", "").split()),
        "empty_ok": _empty_ok(),
        "kept": None,
    }


def _empty_ok() -> bool:
    """Whether the clerk chose to print missing values empty (the API's "strict": false)."""
    return request.form.get("empty_ok") == "1"


def default_title(template: Template, data_file: str) -> str:
    """A batch's title when the clerk gives none: the template's name and the data file's."""
    return f"{template.name} · {Path(data_file).stem}"


def _keep_data_file() -> dict[str, str] | None:
    """The data file of this step: the one just chosen, or the one kept from the previous
    step (Check, then Render, without choosing it again), for an hour, in Redis. One kept
    file per tenant, so pages cannot fill Redis; a page whose file was replaced by another
    tab's asks for it again."""
    upload = request.files.get("data")
    client, key = services().redis, f"docrender:web:data:{g.tenant}"
    if upload is not None and upload.filename:
        kept = {
            "name": Path(upload.filename).name,
            "token": secrets.token_urlsafe(16),
            "data": base64.b64encode(upload.read()).decode(),
        }
        client.set(key, json.dumps(kept), ex=DATA_KEPT_SECONDS)
        return kept
    raw = client.get(key)
    found: dict[str, str] | None = json.loads(raw) if raw else None
    if found is None or not secrets.compare_digest(found["token"], request.form.get("kept", "")):
        return None
    return dict(found)


def _checked_rows(template: Template, sheet: DataFile, pattern: str | None) -> list[dict[str, Any]]:
    """Every row with its sheet row number, the name its document gets, and its problems as
    the render would meet them (a dry run: api/dry_run.py), each a sentence for the clerk and,
    where the template read the value, a line for its author."""
    body = _job_body(template, sheet.documents, pattern)
    checked = dry_run(services(), g.tenant, body, None, sheet).documents
    return [
        {
            "row": document.row or document.index + 1,
            "name": document.name,
            "problems": [
                {
                    "text": problem.text.render(g.language),
                    "author": _for_the_author(problem.details),
                }
                for problem in document.problems
            ],
        }
        for document in checked
    ]


def _for_the_author(details: dict[str, Any]) -> str:
    """Where the template read the value at fault, for the template's author ("" if unknown)."""
    if not details.get("tag"):
        return ""
    return _(
        "In the template: %(tag)s (%(part)s, paragraph “%(paragraph)s”)",
        tag=details["tag"],
        part=details.get("part", ""),
        paragraph=details.get("paragraph", ""),
    ).render(g.language)


def _job_body(
    template: Template, documents: list[dict[str, Any]], pattern: str | None
) -> dict[str, Any]:
    """The job the form describes, as the API takes it: the clerk's language for its
    messages, missing values printed empty only if she chose so."""
    body: dict[str, Any] = {
        "template": template.id,
        "documents": [{"data": data} for data in documents],
        "messages": g.language,
        "strict": not _empty_ok(),
    }
    if pattern:
        body["name"] = pattern
    return body


def _submit(
    template: Template,
    documents: list[dict[str, Any]],
    pattern: str | None,
    sheet: DataFile | None,
    title: str | None = None,
    kind: JobKind = JobKind.BATCH,
) -> Job:
    # A row whose data does not fit is left out (failed with its problems, to be fixed on
    # the batch's page), not a reason to refuse the others; or printed empty.
    body = _job_body(template, documents, pattern) | {"fail_alone": True}
    if title:
        body["title"] = title
    return submit_job(services(), g.tenant, body, None, "", {}, sheet, kind=kind)[0]


def _preview(template: Template, first: dict[str, Any], pattern: str | None) -> dict[str, str]:
    """The first row's document made through the real stack (a preview: not one of the
    clerk's batches), its first page as an image. The page waits for it as a long poll
    does, in one of the tenant's slots."""
    job = _submit(template, [first], pattern, None, kind=JobKind.PREVIEW)
    with actions.long_poll_slot(services(), g.tenant):
        found = actions.wait_for_finish(services(), g.tenant, job, PREVIEW_SECONDS)
    if found.finished_at is None:
        return {
            "error": _(
                "The preview took longer than %(seconds)s seconds: the workers are busy or down. "
                "Try again in a minute.",
                seconds=PREVIEW_SECONDS,
            ).render(g.language)
        }
    document = found.documents[0]
    pdf = None
    if document.status is DocumentStatus.SUCCEEDED:
        pdf = services().storage.read(job_document_key(job.id, 0, "pdf"))
    actions.discard(services(), found, {})
    if pdf is None:
        # The document's own error, in the clerk's language (its message id was kept).
        message = kept(document.error) if document.error else ""
        return {
            "error": _("The preview could not be made: %(message)s", message=message).render(
                g.language
            )
        }
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "preview.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(source),
                str(Path(work) / "page"),
            ],
            check=True,
            timeout=30,
            capture_output=True,
        )
        png = (Path(work) / "page.png").read_bytes()
    return {"image": base64.b64encode(png).decode(), "job": job.id}


# --- jobs ---------------------------------------------------------------------------------


@bp.get("/jobs")
def jobs_page() -> str:
    status = request.args.get("status") or None
    if status not in (None, *JobStatus):
        status = None
    before = actions.job_cursor(request.args.get("before"))
    jobs, last = services().jobs.list(g.tenant, 20, before, status)
    next_before = None if last is None else f"{last:.0f}"
    return render_template(
        "jobs.html", jobs=jobs, next_before=next_before, status=status, statuses=list(JobStatus)
    )


@bp.get("/jobs/<job_id>")
def job_page(job_id: str) -> str:
    return render_template("job.html", job=_job(job_id))


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> ResponseReturnValue:
    return _act(job_id, "retry")


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> ResponseReturnValue:
    return _act(job_id, "cancel")


@bp.post("/jobs/<job_id>/fix")
def fix_rows(job_id: str) -> ResponseReturnValue:
    """The clerk's corrected rows for a batch's failed documents: each row is matched to its
    document by the name it gives (the whole sheet may come back, or only the rows that
    failed), checked as Check checks (a dry run), and those that now fit are made again in
    the same batch with their new data; those still wrong are listed with their problems."""
    job = _job(job_id)
    upload = request.files.get("data")
    if upload is None or not upload.filename:
        return _job_error(job, _("Choose the data file."), 400)
    try:
        sheet = read_uploaded_data_file(
            g.tenant,
            Path(upload.filename).name,
            upload.read(),
            services().settings.max_documents_per_job,
        )
        failed = {
            doc.name: doc.index for doc in job.documents if doc.status is DocumentStatus.FAILED
        }
        names = document_names(
            job.options.name, [(None, data) for data in sheet.documents], sheet.rows
        )
        picked = [position for position, name in enumerate(names) if name in failed]
        if not picked:
            return _job_error(
                job,
                _(
                    "No row of %(file)s is one of this batch's failed documents (rows are "
                    "matched by the name they give their document: %(names)s).",
                    file=Path(upload.filename).name,
                    names=", ".join(sorted(failed)),
                ),
                422,
            )
        body = {
            "template": job.template,
            "documents": [{"data": sheet.documents[position]} for position in picked],
            "messages": g.language,
            "strict": job.options.strict,
        }
        checked = dry_run(services(), g.tenant, body).documents
        fixed = {
            failed[names[position]]: sheet.documents[position]
            for position, verdict in zip(picked, checked, strict=True)
            if not verdict.problems
        }
        still_wrong = [
            {
                "row": sheet.rows[position] if sheet.rows else position + 1,
                "name": names[position],
                "problems": [problem.text.render(g.language) for problem in verdict.problems],
            }
            for position, verdict in zip(picked, checked, strict=True)
            if verdict.problems
        ]
        if fixed:
            actions.retry_failed(services(), g.tenant, job_id, fixed)
    except DocrenderError as error:
        return _job_error(job, error.text, error.status)
    if fixed:
        flash(
            ngettext(
                "%(count)s corrected row is being made again in this batch.",
                "%(count)s corrected rows are being made again in this batch.",
                len(fixed),
            ).render(g.language)
        )
    if still_wrong:
        page = render_template("job.html", job=_job(job_id), still_wrong=still_wrong)
        return page, 200 if fixed else 422
    return redirect(url_for("web.job_page", job_id=job_id))


def _job_error(job: Job, message: Message, status: int) -> tuple[str, int]:
    return render_template("job.html", job=job, error=message.render(g.language)), status


def _act(job_id: str, action: str) -> ResponseReturnValue:
    """Retry or cancel with the service functions the API's routes call, so the same rules
    apply (the queued cap, what is set aside); an error is shown on the job's page."""
    job = _job(job_id)
    g.tenant = job.tenant
    try:
        act = actions.retry_failed if action == "retry" else actions.cancel_queued
        acted = act(services(), job.tenant, job_id)
    except DocrenderError as error:
        page = render_template(
            "job.html", job=_job(job_id), error=error.to_dict(g.language)["message"]
        )
        return page, error.status
    flash(_acted(action, acted.count).render(g.language))
    return redirect(url_for("web.job_page", job_id=job_id))


def _acted(action: str, count: int) -> Message:
    """What Retry or Cancel did (``count`` documents made again or cancelled), in the clerk's
    words."""
    if action == "retry":
        if not count:
            return _(
                "No failed document could be made again: those that crashed or hung LibreOffice "
                "are set aside. Check their data and template."
            )
        return ngettext(
            "%(count)s failed document is being made again.",
            "%(count)s failed documents are being made again.",
            count,
        )
    if not count:
        return _("Nothing was left to cancel: every document had already started or finished.")
    return ngettext(
        "%(count)s waiting document was cancelled; those already started finish.",
        "%(count)s waiting documents were cancelled; those already started finish.",
        count,
    )


# --- helpers ------------------------------------------------------------------------------


def _template(template_id: str) -> Template:
    template = services().templates.get(g.tenant, template_id)
    if template is None:
        abort(404)
    return template


def _template_key(template: Template) -> str:
    return template_key(g.tenant, template.id)


def _job(job_id: str) -> Job:
    job = services().jobs.get(job_id, g.tenant)
    if job is None:
        raise NotFound(_("There is no job %(job_id)s.", job_id=job_id))
    return job


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
