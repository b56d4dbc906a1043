"""Typed errors. Each carries the one HTTP status and the machine code it maps to, and a
message that tells the caller what to fix: a Message (docrender/i18n.py), rendered in the
reader's language where the error is shown. The API turns them into the contract's error body;
workers record them on the failed document, message id and values kept for later readers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from docrender.i18n import Language, Message


class DocrenderError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    # Permanent errors fail the document at once; transient ones are retried with backoff.
    transient: ClassVar[bool] = False

    def __init__(self, text: Message, details: Any = None) -> None:
        super().__init__(str(text))
        self.text = text
        self.details = details

    @property
    def message(self) -> str:
        """The message in English: for logs, and for systems that read no other language."""
        return str(self.text)

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole across processes (docrender/templates/inspection.py): Exception's own pickling
        # would call __init__ with the message alone, losing the Message and the details.
        return _restore, (type(self), self.args, self.__dict__)

    def to_dict(self, language: Language = "en") -> dict[str, Any]:
        return {"code": self.code, "message": self.text.render(language), "details": self.details}


def _restore(kind: type[DocrenderError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


# --- request errors (API) ---------------------------------------------------------------


class MalformedRequest(DocrenderError):
    status, code = 400, "malformed_request"


class Unauthorized(DocrenderError):
    status, code = 401, "unauthorized"


class NotFound(DocrenderError):
    status, code = 404, "not_found"


class DocumentFailed(DocrenderError):
    status, code = 404, "document_failed"


class NotReady(DocrenderError):
    """Not finished yet: the answer says when to ask again (Retry-After)."""

    status, code = 409, "not_ready"
    retry_after: ClassVar[int] = 2


class IdempotencyKeyReused(DocrenderError):
    status, code = 409, "idempotency_key_reused"


class PayloadTooLarge(DocrenderError):
    status, code = 413, "payload_too_large"


class UnsupportedFileType(DocrenderError):
    status, code = 415, "unsupported_file_type"


class ValidationFailed(DocrenderError):
    status, code = 422, "validation_failed"


class UnknownTemplate(DocrenderError):
    status, code = 422, "unknown_template"


class MissingVariables(DocrenderError):
    status, code = 422, "missing_variables"


class WrongShape(DocrenderError):
    status, code = 422, "wrong_shape"


class InvalidDataFile(DocrenderError):
    status, code = 422, "invalid_data_file"


class DataFileTooComplex(InvalidDataFile):
    """Reading the data file ran past its time or memory limit."""

    code = "data_file_too_complex"


class InvalidNamePattern(DocrenderError):
    status, code = 422, "invalid_name_pattern"


class CallbackUrlRefused(DocrenderError):
    status, code = 422, "callback_url_refused"


class CallbackHostUnresolved(CallbackUrlRefused):
    """The callback's host name does not resolve (now: a webhook attempt may try again)."""


class WebhookSecretMissing(DocrenderError):
    status, code = 422, "webhook_secret_missing"


class RateLimited(DocrenderError):
    status, code = 429, "rate_limited"

    def __init__(self, text: Message, details: Any = None, retry_after: int = 1) -> None:
        super().__init__(text, details)
        self.retry_after = retry_after


class TooManyQueuedDocuments(RateLimited):
    code = "too_many_queued_documents"


class TooManyLongPolls(RateLimited):
    code = "too_many_long_polls"


class TooManyUploads(RateLimited):
    code = "too_many_uploads"


class StorageQuotaExceeded(DocrenderError):
    """What the tenant keeps would pass DOCRENDER_TENANT_STORAGE."""

    status, code = 413, "storage_quota_exceeded"


class ServiceUnavailable(DocrenderError):
    status, code = 503, "service_unavailable"
    retry_after: ClassVar[int] = 5


# --- template errors: found at upload, or at render time in a worker ----------------------


class InvalidTemplate(DocrenderError):
    """The file is a zip but not a readable Word document."""

    status, code = 422, "invalid_template"


class UnsafeTemplate(DocrenderError):
    """Macros, embedded objects, linked files: things a template must not make LibreOffice do."""

    status, code = 422, "unsafe_template"


class TemplateSyntaxError(DocrenderError):
    status, code = 422, "template_syntax_error"


class TemplateTooComplex(DocrenderError):
    """Inspecting the template ran past its time or memory limit."""

    status, code = 422, "template_too_complex"


class RenderFailed(DocrenderError):
    """The template could not be filled with this document's data (permanent)."""

    status, code = 422, "render_failed"


# --- converter errors (workers) ---------------------------------------------------------


class ConversionFailed(DocrenderError):
    """LibreOffice is healthy but could not convert this document (permanent)."""

    status, code = 422, "conversion_failed"


class DocumentQuarantined(DocrenderError):
    """Deliveries of this document keep killing their worker (permanent)."""

    status, code = 422, "quarantined"


class ConverterUnavailable(DocrenderError):
    """LibreOffice died, hung or is restarting: try again later (transient)."""

    status, code = 503, "converter_unavailable"
    transient = True


class ConversionTimedOut(ConverterUnavailable):
    """A conversion ran past the client timeout: LibreOffice hung on it, or on something
    else. Transient the first time; the job store counts it on the documents converted, and
    one that times out again alone fails (``conversion_timed_out``)."""

    code = "conversion_timed_out"
