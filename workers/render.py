"""Fill a DOCX template with one document's data (docxtpl, sandboxed Jinja)."""

from __future__ import annotations

import io
from typing import Any

import jinja2

from docrender.errors import RenderFailed
from docrender.templating import make_environment, open_template


def render_docx(template: bytes, data: dict[str, Any]) -> bytes:
    """Return the filled DOCX. A template or data problem raises RenderFailed (permanent)."""
    document = open_template(template)
    try:
        document.render(data, jinja_env=make_environment())
    except jinja2.exceptions.SecurityError as exc:
        raise RenderFailed(
            f"The template tried something the sandbox forbids ({exc}); remove that tag."
        ) from None
    except jinja2.TemplateError as exc:
        raise RenderFailed(f"The template could not be filled with this data: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise RenderFailed(
            f"The data does not fit the template ({exc.__class__.__name__}: {exc})"
        ) from None
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
