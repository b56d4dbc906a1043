"""Simplified and Traditional Chinese: which one a text is written in.

OpenCC's character tables decide it: a character that its Traditional-to-Simplified table
changes is written in a Traditional-only form (國, 後, 為), one that its Simplified-to-Traditional
table changes in a Simplified-only form (国, 后, 为). Most characters are both (人, 中) and say
nothing.
"""

from __future__ import annotations

import collections
import functools

import opencc

from docrender.fonts import Script

# Below this share of the telling characters, a text says nothing either way.
_DECISIVE_SHARE = 0.8


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def written_script(text: str) -> Script | None:
    """The script ``text`` is written in, or None when it does not tell (no Chinese, or as
    many forms of each)."""
    counts = collections.Counter(c for c in text if "\u3400" <= c <= "\U0003134f")
    if not counts:
        return None
    characters = list(counts)
    # One character a line, so that OpenCC's phrase tables see each alone.
    as_simplified = _converter("t2s").convert("\n".join(characters)).split("\n")
    as_traditional = _converter("s2t").convert("\n".join(characters)).split("\n")
    traditional = simplified = 0
    for character, to_simplified, to_traditional in zip(
        characters, as_simplified, as_traditional, strict=False
    ):
        if to_simplified != character:
            traditional += counts[character]
        if to_traditional != character:
            simplified += counts[character]
    telling = traditional + simplified
    if telling and traditional / telling >= _DECISIVE_SHARE:
        return Script.TRADITIONAL
    if telling and simplified / telling >= _DECISIVE_SHARE:
        return Script.SIMPLIFIED
    return None
