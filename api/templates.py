"""/v1/templates: upload (with the variables the template reads), list, get, delete."""

from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, Response, g, jsonify, request

from api import error_schemas
from api.auth import require_tenant
from api.openapi import documented
from api.schemas import TemplateList, TemplateOut, TemplateUpload
from api.services import services
from docrender.errors import MalformedRequest, NotFound, PayloadTooLarge
from docrender.i18n import _

bp = Blueprint("templates", __name__)
bp.before_request(require_tenant)


@bp.post("/templates")
@documented(
    operation_id="uploadTemplate",
    tags=("templates",),
    ok={200: TemplateOut, 201: TemplateOut},
    errors=(413, 415, 422),
    form=TemplateUpload,
    typed_errors=error_schemas.TEMPLATE_UPLOAD,
)
def upload_template() -> tuple[Response, int]:
    """Upload a template.

    201 for a new template; 200 with the earlier id when this tenant already has the same
    bytes. A file that is not a Word document, is unsafe, or has a Jinja syntax error is
    refused with the reason."""
    upload = request.files.get("file")
    if upload is None:
        raise MalformedRequest(
            _("Send the template as a multipart/form-data field named 'file'."),
        )
    limit = services().settings.max_template_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            _("The template is larger than %(limit)s bytes.", limit=limit),
            {"limit": limit},
        )
    name = request.form.get("name") or PurePath(upload.filename or "").stem
    template, created = services().templates.add(g.tenant, data, name)
    return jsonify(TemplateOut.of(template).model_dump(mode="json")), 201 if created else 200


@bp.get("/templates")
@documented(operation_id="listTemplates", tags=("templates",), ok={200: TemplateList})
def list_templates() -> Response:
    """This tenant's templates."""
    templates = [TemplateOut.of(t) for t in services().templates.list(g.tenant)]
    return jsonify(TemplateList(templates=templates).model_dump(mode="json"))


@bp.get("/templates/<template_id>")
@documented(operation_id="getTemplate", tags=("templates",), ok={200: TemplateOut}, errors=(404,))
def get_template(template_id: str) -> Response:
    """One template."""
    template = services().templates.get(g.tenant, template_id)
    if template is None:
        raise NotFound(_("There is no template %(template_id)s.", template_id=repr(template_id)))
    return jsonify(TemplateOut.of(template).model_dump(mode="json"))


@bp.delete("/templates/<template_id>")
@documented(operation_id="deleteTemplate", tags=("templates",), ok={204: None}, errors=(404,))
def delete_template(template_id: str) -> tuple[str, int]:
    """Delete a template (jobs made from it keep their own copy)."""
    if not services().templates.delete(g.tenant, template_id):
        raise NotFound(_("There is no template %(template_id)s.", template_id=repr(template_id)))
    return "", 204
