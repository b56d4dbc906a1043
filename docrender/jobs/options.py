"""The options a job is made with, in one typed object.

Validated once at submission (the API's request model is these options plus the template and
the documents), kept whole in the job record, and handed whole to the worker. A new option is
added here and read where it is used; nothing in between lists the options.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from docrender.fonts.substitutes import LanguageTag
from docrender.i18n import Language
from docrender.jobs.formats import FormatName, PdfOptions

MAX_URL_LENGTH = 2000  # of a callback_url
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")


def _one_line(value: Any) -> Any:
    """A text on one line, None when nothing is left of it (other values for pydantic to
    refuse)."""
    if not isinstance(value, str):
        return value
    return _SPACES.sub(" ", value).strip() or None


class JobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # pdfa: PDF/A-2b (docrender/jobs/formats.py).
    format: FormatName = "pdf"
    pdf_options: PdfOptions | None = None
    # Refuse data missing a variable the template reads (docrender/data/validation.py).
    strict: StrictBool = True
    # With strict: a document whose data does not fit fails alone, its problems as its error,
    # and the others are made (a retry with its corrected data makes it later), instead of
    # the whole job being refused.
    fail_alone: StrictBool = False
    # A name pattern for every document without a name of its own (api/naming.py).
    name: str | None = Field(default=None, max_length=500)
    # The East Asian language of the documents' text where the template does not say it on
    # the run: it picks Simplified or Traditional glyph forms (docrender/fonts/substitutes.py).
    language: LanguageTag | None = None
    # "zh": Chinese typography for pasted text: half-width punctuation next to Chinese text
    # becomes full-width, spaces between Chinese characters go (docrender/fonts/chinese.py).
    typography: Literal["zh"] | None = None
    # The language of the messages people read about this job (its documents' errors and
    # warnings), where a request does not ask for one with Accept-Language; its webhook's.
    messages: Language | None = None
    # The batch's title, for the people who look for it: the job lists show it and the
    # downloads are named after it (the pages default it to the template's and the data
    # file's names). One line: white space and control characters become single spaces.
    title: Annotated[str | None, BeforeValidator(_one_line)] = Field(default=None, max_length=200)
    # POSTed the finished job, signed (docrender/webhooks/rules.py).
    callback_url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
