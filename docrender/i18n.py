"""The languages docrender speaks to people: English, and Chinese in Simplified or Traditional
characters, chosen by a request's Accept-Language or a job's ``messages`` option.

A sentence a person reads is made where it is known (``_("...")`` or ``ngettext``) as a
``Message``: its English message id and named values, nothing rendered yet. It is rendered in
the reader's language where the reader is known: an API response, a page, a webhook body. So a
document that fails in a worker is recorded with its message id and values, and read later in
the language of whoever asks. The translations are gettext catalogs, one per written form, in
docrender/translations/<locale>/LC_MESSAGES/messages.po (zh_Hans, zh_Hant), extracted from the
code and kept up to date by ``make catalogs`` (docs/translations.md). Codes never change with
the language: systems match on them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.support import NullTranslations, Translations

Language = Literal["en", "zh-Hans", "zh-Hant"]
LANGUAGES: tuple[Language, ...] = ("en", "zh-Hans", "zh-Hant")

TRANSLATIONS = Path(__file__).with_name("translations")
# The catalog of each language but English, which the message ids are written in.
CATALOGS: dict[Language, str] = {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant"}


class KeptMessage(TypedDict):
    """A Message as JSON (``Message.to_json``): what a job record keeps of a sentence."""

    id: str
    values: NotRequired[dict[str, Any]]  # text, numbers, or KeptMessages
    plural: NotRequired[str]
    count: NotRequired[int | None]


class StoredMessage(TypedDict):
    """An error or warning as a job record keeps it: its code, its English message, and its
    message id and values (``text``), so each reader gets their language."""

    code: str
    message: str
    text: NotRequired[KeptMessage]
    # What a reader may act on beyond the sentence (a render failure's column and value, and
    # where the template read it: tag, part, paragraph).
    details: NotRequired[dict[str, Any]]


class StoredWarning(StoredMessage):
    """A warning may say more than its sentence, for systems to act on."""

    characters: NotRequired[list[str]]  # missing_glyphs: the characters without a glyph
    columns: NotRequired[list[str]]  # unused_columns: the data file's columns no tag reads


@dataclass(frozen=True)
class Message:
    """A sentence to be read: its English message id (``%(name)s`` placeholders) and values,
    which may be Messages themselves (a reason inside a sentence). ``plural`` and ``count``
    make it a plural message, ``ngettext``'s."""

    id: str
    values: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def render(self, language: Language = "en") -> str:
        translations = catalog(language)
        if self.plural is not None:
            text = translations.ngettext(self.id, self.plural, self.count or 0)
        else:
            text = translations.gettext(self.id)
        values = {
            name: value.render(language) if isinstance(value, Message) else value
            for name, value in self.values.items()
        }
        return text % values if values else text

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> KeptMessage:
        """The message as a job record keeps it, to be rendered when someone reads it."""
        out: KeptMessage = {"id": self.id}
        if self.values:
            out["values"] = {
                name: value.to_json() if isinstance(value, Message) else _plain(value)
                for name, value in self.values.items()
            }
        if self.plural is not None:
            out["plural"], out["count"] = self.plural, self.count
        return out

    @classmethod
    def from_json(cls, kept: Mapping[str, Any]) -> Message:
        values = {
            name: cls.from_json(value) if isinstance(value, dict) and "id" in value else value
            for name, value in (kept.get("values") or {}).items()
        }
        return cls(kept["id"], values, kept.get("plural"), kept.get("count"))


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else str(value)


def _(message_id: str, **values: Any) -> Message:
    """A sentence to be read (pybabel extracts the calls of ``_``). Values other than text,
    numbers and Messages (an exception, a path) are kept as their text: a Message crosses
    processes and goes into job records whole."""
    return Message(message_id, _kept(values))


def ngettext(singular: str, plural: str, count: int, **values: Any) -> Message:
    """A sentence whose wording depends on ``count`` (also given to it as ``%(count)s``)."""
    return Message(singular, {"count": count, **_kept(values)}, plural, count)


def _kept(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value if isinstance(value, Message) else _plain(value)
        for name, value in values.items()
    }


@functools.cache
def catalog(language: Language) -> NullTranslations:
    """The compiled catalog of ``language`` (deploy/bootstrap.sh compiles the .po files)."""
    if language not in CATALOGS:
        return NullTranslations()
    loaded = Translations.load(str(TRANSLATIONS), [CATALOGS[language]])
    if not isinstance(loaded, Translations):
        raise RuntimeError(
            f"No compiled catalog for {language} in {TRANSLATIONS}: run `make catalogs` "
            "(or deploy/bootstrap.sh) to compile the .po files."
        )
    return loaded


# A browser names a handful of languages; a header naming hundreds is read no further.
MAX_TAGS = 16


@functools.lru_cache(maxsize=256)
def language_of(tag: str) -> Language | None:
    """The language a BCP 47 tag (zh-TW, zh-Hans-CN, en-GB...) means among ours: its script,
    or the script Babel's likely subtags give its territory or its language."""
    tag = tag.strip().replace("_", "-")
    primary = tag.partition("-")[0].lower()
    if primary == "en":
        return "en"
    if primary != "zh":  # Babel is asked only about Chinese, where the script matters
        return None
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    script = locale.script or Locale.parse(get_global("likely_subtags")["zh"]).script
    return cast(Language, f"zh-{script}") if script in ("Hans", "Hant") else None


def negotiate(preferred: Iterable[str]) -> Language | None:
    """The first of ``preferred`` (tags, best first, as werkzeug's ``accept_languages``
    gives them) that is one of our languages; None when none is among the first MAX_TAGS."""
    for tag in itertools.islice(preferred, MAX_TAGS):
        language = language_of(tag)
        if language:
            return language
    return None


def kept(item: Mapping[str, Any]) -> Message:
    """The message of an error or warning a job record keeps: its ``text`` (id and values),
    or, where a record has none, its English ``message`` as it is."""
    text = item.get("text")
    if isinstance(text, dict) and "id" in text:
        return Message.from_json(text)
    return Message("%(message)s", {"message": item.get("message", "")})


# Lists of one to five items, a message id each, so that each language joins them its own way
# (English with semicolons, Chinese with its own).
_LISTS = (
    _("%(item0)s").id,
    _("%(item0)s; %(item1)s").id,
    _("%(item0)s; %(item1)s; %(item2)s").id,
    _("%(item0)s; %(item1)s; %(item2)s; %(item3)s").id,
    _("%(item0)s; %(item1)s; %(item2)s; %(item3)s; %(item4)s").id,
)


def listing(items: Iterable[Message | str]) -> Message:
    """The first five of ``items`` as one list (a longer list says how many more itself)."""
    shown = list(items)[: len(_LISTS)]
    return Message(_LISTS[len(shown) - 1], {f"item{i}": item for i, item in enumerate(shown)})
