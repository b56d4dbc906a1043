"""Simplified and Traditional Chinese: which one a text is written in, and Chinese
typography for text pasted from other systems.

OpenCC's character tables decide it: a character that its Traditional-to-Simplified table
changes is written in a Traditional-only form (國, 後, 為), one that its Simplified-to-Traditional
table changes in a Simplified-only form (国, 后, 为). Most characters are both (人, 中) and say
nothing.
"""

from __future__ import annotations

import collections
import functools
import re

import opencc

from docrender.fonts.substitutes import Script

_IDEOGRAPH = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Below this share of the telling characters, a text says nothing either way.
_DECISIVE_SHARE = 0.8


def holds_chinese(text: str) -> bool:
    """Whether ``text`` holds a Chinese character (a CJK ideograph, of any block)."""
    return _IDEOGRAPH.search(text) is not None


@functools.cache
def converter(config: str) -> opencc.OpenCC:
    """OpenCC's converter for ``config`` (t2s, s2t, s2tw...), made once per process."""
    return opencc.OpenCC(config)


# Per character, whether OpenCC writes it otherwise in Simplified and in Traditional text (a
# document's characters are looked up once per process: most recur from one document to the
# next). At most every ideograph Unicode has: a few MB.
_TELLS: dict[str, tuple[bool, bool]] = {}


def written_script(text: str) -> Script | None:
    """The script ``text`` is written in, or None when it does not tell (no Chinese, or as
    many forms of each)."""
    counts = collections.Counter(_IDEOGRAPH.findall(text))
    if not counts:
        return None
    unseen = [character for character in counts if character not in _TELLS]
    if unseen:
        # One character a line, so that OpenCC's phrase tables see each alone.
        as_simplified = converter("t2s").convert("\n".join(unseen)).split("\n")
        as_traditional = converter("s2t").convert("\n".join(unseen)).split("\n")
        for character, to_simplified, to_traditional in zip(
            unseen, as_simplified, as_traditional, strict=False
        ):
            _TELLS[character] = (to_simplified != character, to_traditional != character)
    traditional = simplified = 0
    for character, count in counts.items():
        is_traditional, is_simplified = _TELLS.get(character, (False, False))
        traditional += count * is_traditional
        simplified += count * is_simplified
    telling = traditional + simplified
    if telling and traditional / telling >= _DECISIVE_SHARE:
        return Script.TRADITIONAL
    if telling and simplified / telling >= _DECISIVE_SHARE:
        return Script.SIMPLIFIED
    return None


# --- Chinese typography (the job option "typography": "zh") ----------------------------------

# Ideographs, and the full-width punctuation and forms that sit among them.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK = f"{_HAN}\u3000-\u303f\uff01-\uff60\u2018\u2019\u201c\u201d"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Left alone whatever surrounds them: links, e-mail addresses, file paths.
_UNTOUCHED = re.compile(r"(?:https?://|ftp://|www\.)[^\s，。；）]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])[ \t\u00a0]+(?=[{_CJK}])")


def typeset(text: str) -> str:
    """``text`` with Chinese typography: half-width , ; : ? ! ( ) and quotes next to Chinese
    text become their full-width forms, and spaces between two Chinese characters go. Numbers
    (1,234 and 3:30), Latin words and links are never touched."""
    if not _CJK_CHAR.search(text):
        return text
    pieces, last = [], 0
    for link in _UNTOUCHED.finditer(text):
        pieces += [_typeset_prose(text[last : link.start()]), link.group(0)]
        last = link.end()
    pieces.append(_typeset_prose(text[last:]))
    return "".join(pieces)


def _typeset_prose(text: str) -> str:
    characters = list(text)
    for index, character in enumerate(characters):
        if character not in _FULL_WIDTH:
            continue
        before = _neighbour(characters, index, -1)
        after = _neighbour(characters, index, +1)
        # After Chinese text, or before it unless a Latin word comes first ("25,身高" but
        # "ABC,中文" stays); so never between digits or Latin letters ("1,234", "3:30", "f(x)").
        latin_word = before.isascii() and before.isalpha()
        if _is_cjk(before) or (_is_cjk(after) and not latin_word):
            characters[index] = _FULL_WIDTH[character]
    text = _quotes("".join(characters), '"', "“", "”")
    text = _quotes(text, "'", "‘", "’")
    text = _close_parentheses(text)
    return _SPACE_BETWEEN_CJK.sub("", text)


def _neighbour(characters: list[str], index: int, step: int) -> str:
    index += step
    while 0 <= index < len(characters) and characters[index] in " \t":
        index += step
    return characters[index] if 0 <= index < len(characters) else ""


def _is_cjk(character: str) -> bool:
    return bool(character) and bool(_CJK_CHAR.match(character))


def _quotes(text: str, straight: str, opening: str, closing: str) -> str:
    """Pairs of straight quotes around Chinese text become curly full-width ones."""

    def curl(match: re.Match[str]) -> str:
        inside = match.group(1)
        return f"{opening}{inside}{closing}" if _CJK_CHAR.search(inside) else match.group(0)

    return re.sub(f"{straight}([^{straight}\\n]*){straight}", curl, text)


def _close_parentheses(text: str) -> str:
    """A ")" that closes a full-width "（" becomes full-width too: （男)->（男）."""
    out, open_full = [], 0
    for character in text:
        if character == "（":
            open_full += 1
        elif character in ")）" and open_full:
            open_full -= 1
            character = "）"
        out.append(character)
    return "".join(out)
