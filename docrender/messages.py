"""The languages docrender speaks to people: English, and Chinese in Simplified or
Traditional characters, chosen by a request's Accept-Language or a job's ``messages`` option.

Every message a person reads is written twice where it is made: in English, and in Chinese
(Simplified; the Traditional text is OpenCC's Taiwan-standard conversion of it). Codes never
change with the language: systems match on them.
"""

from __future__ import annotations

from typing import Literal

from docrender.templates.filters import to_hant

Language = Literal["en", "zh-Hans", "zh-Hant"]
LANGUAGES: tuple[Language, ...] = ("en", "zh-Hans", "zh-Hant")

# Accept-Language tags, as browsers and clients send them, and the language each means.
_TAGS: dict[str, Language] = {
    "en": "en", "zh-hans": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant",
}  # fmt: skip


def negotiate(accept_language: str | None) -> Language | None:
    """The language an Accept-Language header asks for first among ours; None when it names
    none of them (then the job's choice, or English)."""
    weighted = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        tag = tag.strip().lower()
        language = _TAGS.get(tag) or _TAGS.get(tag[:7]) or _TAGS.get(tag.split("-")[0])
        if language and quality > 0:
            weighted.append((-quality, position, language))
    return min(weighted)[2] if weighted else None


def localized(english: str, chinese: str | None, language: Language) -> str:
    """The message in ``language``; English where no Chinese was written."""
    if language == "en" or not chinese:
        return english
    return chinese if language == "zh-Hans" else to_hant(chinese)
