"""The fonts of Chinese documents, and the free fonts that stand in for them.

Templates name the fonts of Chinese official documents (GB/T 9704 公文: 方正小标宋简体 titles,
仿宋_GB2312 body, 黑体 and 楷体_GB2312 headings) and of Office (宋体, 微软雅黑...). None of them is on
a Linux server, and LibreOffice's own fallback turns them all into one face, whichever happens to
be installed. This table maps each name to an installed free face of the same style, in a
Simplified and a Traditional variant, since their glyph forms differ (骨 直 令 角 微): the text's
language picks the variant, never the Japanese or Korean faces of the same collections. The
Western faces of Office and macOS (Calibri, Cambria, Arial, Times New Roman...) map to their
metric-compatible twins, so that lines and pages break where Word breaks them.

``fontconfig_rules()`` turns the table into a fontconfig file that every LibreOffice instance
reads (workers/convert/libreoffice.py sets FONTCONFIG_FILE), and ``substitute()`` answers, for the
font report, what a name will be rendered with.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape


class Script(enum.Enum):
    SIMPLIFIED = "zh-cn"
    TRADITIONAL = "zh-tw"


@dataclass(frozen=True)
class Style:
    """A typeface style and the installed faces that render it."""

    name: str
    simplified: str
    traditional: str
    bold: bool = False  # 小标宋 is a heavy display Song: the bold serif is the closest face
    # Where no free face of this style has Simplified glyphs: the style used instead.
    simplified_style: str | None = None

    def family(self, script: Script) -> str:
        return self.simplified if script is Script.SIMPLIFIED else self.traditional

    def rendered_style(self, script: Script) -> str:
        if script is Script.SIMPLIFIED and self.simplified_style:
            return self.simplified_style
        return self.name


SONG = Style("Song", "Noto Serif CJK SC", "Noto Serif CJK TC")
HEI = Style("Hei", "Noto Sans CJK SC", "Noto Sans CJK TC")
# cwTeX 仿宋 is the one FangSong face Debian ships. It covers Big5 (every character of the
# Traditional sample reports) but not most simplified-only characters, which would fall back
# to other faces mid-line; Simplified text gets the Song face instead, and the font report
# says so.
FANGSONG = Style("FangSong", "Noto Serif CJK SC", "cwTeXFangSong", simplified_style="Song")
KAI = Style("Kai", "AR PL UKai CN", "AR PL UKai TW")
XIAOBIAOSONG = Style("Xiaobiaosong", "Noto Serif CJK SC", "Noto Serif CJK TC", bold=True)

# Every name in the lists is matched as written (fontconfig compares family names without
# regard to case and spaces).
NAMES: dict[Style, tuple[str, ...]] = {
    SONG: (
        "宋体",
        "宋體",
        "SimSun",
        "新宋体",
        "NSimSun",
        "宋体_GB2312",
        "SimSun-ExtB",
        "华文宋体",
        "STSong",
        "Songti SC",
        "Songti TC",
        "华文中宋",
        "STZhongsong",
        "方正书宋简体",
        "方正书宋_GBK",
        "FZShuSong-Z01",
        "FZShuSong-Z01S",
        "新細明體",
        "細明體",
        "PMingLiU",
        "MingLiU",
        "明體",
        "標楷明體",
    ),
    HEI: (
        "黑体",
        "黑體",
        "SimHei",
        "黑体_GB2312",
        "微软雅黑",
        "微軟雅黑",
        "Microsoft YaHei",
        "Microsoft YaHei UI",
        "微軟正黑體",
        "Microsoft JhengHei",
        "华文黑体",
        "STHeiti",
        "Heiti SC",
        "Heiti TC",
        "等线",
        "DengXian",
        "苹方",
        "PingFang SC",
        "PingFang TC",
        "方正黑体简体",
        "方正黑体_GBK",
        "FZHei-B01S",
        "思源黑体",
        "Source Han Sans SC",
    ),
    FANGSONG: (
        "仿宋",
        "仿宋_GB2312",
        "仿宋体",
        "FangSong",
        "FangSong_GB2312",
        "华文仿宋",
        "STFangsong",
        "方正仿宋简体",
        "方正仿宋_GBK",
        "FZFangSong-Z02",
        "FZFangSong-Z02S",
        "仿宋體",
    ),
    KAI: (
        "楷体",
        "楷体_GB2312",
        "楷體",
        "KaiTi",
        "KaiTi_GB2312",
        "华文楷体",
        "STKaiti",
        "Kaiti SC",
        "Kaiti TC",
        "方正楷体简体",
        "方正楷体_GBK",
        "FZKai-Z03",
        "FZKai-Z03S",
        "標楷體",
        "DFKai-SB",
        "BiauKai",
    ),
    XIAOBIAOSONG: (
        "方正小标宋简体",
        "方正小标宋_GBK",
        "方正小标宋",
        "小标宋",
        "小标宋体",
        "方正小標宋",
        "FZXiaoBiaoSong-B05",
        "FZXiaoBiaoSong-B05S",
    ),
}

STYLE_OF: dict[str, Style] = {
    name.casefold(): style for style, names in NAMES.items() for name in names
}

# Western faces of Office and macOS, and the installed face that stands in for each: a
# metric-compatible twin where Debian has one (same advance widths, so lines break and pages
# end where Word breaks and ends them), else a face of the same kind (monospace stays
# monospace). Never a CJK face: a CJK face only draws the East Asian text.
LATIN_TWINS: dict[str, str] = {
    "Calibri": "Carlito",
    "Calibri Light": "Carlito",
    "Cambria": "Caladea",
    "Cambria Math": "Caladea",
    "Arial": "Liberation Sans",
    "Helvetica": "Liberation Sans",
    "Helvetica Neue": "Liberation Sans",
    "Times New Roman": "Liberation Serif",
    "Times": "Liberation Serif",
    "Courier New": "Liberation Mono",
    "Courier": "Liberation Mono",
    "Consolas": "Liberation Mono",
    "Lucida Console": "Liberation Mono",
    "Menlo": "DejaVu Sans Mono",
    "Monaco": "DejaVu Sans Mono",
    # No twin in Debian: a face of the same kind, with other widths.
    "Segoe UI": "DejaVu Sans",
    "Verdana": "DejaVu Sans",
    "Tahoma": "DejaVu Sans",
    "Georgia": "DejaVu Serif",
}
TWIN_OF: dict[str, str] = {name.casefold(): face for name, face in LATIN_TWINS.items()}


def style_of(font_name: str) -> Style | None:
    return STYLE_OF.get(font_name.strip().casefold())


def script_of(language: str | None) -> Script:
    """Traditional for zh-TW, zh-HK, zh-MO (and zh-Hant); Simplified otherwise."""
    tag = (language or "").strip().lower().replace("_", "-")
    traditional = tag.startswith(_TRADITIONAL_LANGS) or tag.startswith("zh-hant")
    return Script.TRADITIONAL if traditional else Script.SIMPLIFIED


# What a job's "language" option accepts.
LanguageTag = Literal["zh-Hans", "zh-Hant", "zh-CN", "zh-TW", "zh-HK", "zh-MO", "zh-SG"]


def word_language(tag: str | None) -> str | None:
    """A language tag as Word writes it in a document (zh-Hans -> zh-CN, zh-Hant -> zh-TW)."""
    return {"zh-Hans": "zh-CN", "zh-Hant": "zh-TW"}.get(tag or "", tag)


@dataclass(frozen=True)
class FontUse:
    """What a font a template asks for is rendered with."""

    requested: str
    used: str | None  # None: unknown here (no fontconfig on this machine)
    exact: bool
    different_style: bool  # the face drawn is of another style than the one asked for
    # The document carries the font itself: it prints as asked, in that document alone.
    embedded: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "requested": self.requested,
            "used": self.used,
            "exact": self.exact,
            "different_style": self.different_style,
            "embedded": self.embedded,
        }


def substitute(font_name: str, script: Script, fonts_dir: Path | None = None) -> FontUse:
    """What LibreOffice will draw ``font_name`` with, for text of ``script``: the font itself
    where the deployment's fonts directory has it, else its substitute."""
    if font_name.strip().casefold() in owned_families(fonts_dir):
        return FontUse(font_name, font_name, exact=True, different_style=False)
    style = style_of(font_name)
    if style is not None:
        used = style.family(script) + (" Bold" if style.bold else "")
        return FontUse(font_name, used, False, style.rendered_style(script) != style.name)
    twin = TWIN_OF.get(font_name.strip().casefold())
    if twin is not None:
        return FontUse(font_name, twin, exact=False, different_style=False)
    matched = _fontconfig_match(font_name, script, fonts_dir)
    exact = matched is not None and matched.casefold() == font_name.strip().casefold()
    # A name we do not know that is not installed: fontconfig's default face, whatever style
    # the name stood for.
    return FontUse(font_name, matched, exact, different_style=not exact)


def pattern_name(font_name: str) -> str:
    """A family name as a fontconfig pattern string: '-' would start a size, ':' and ','
    an element or a second family."""
    return "".join(f"\\{char}" if char in "\\-:," else char for char in font_name)


@functools.cache
def owned_families(fonts_dir: Path | None) -> frozenset[str]:
    """Every family name (casefolded, each language's) of the fonts in the deployment's fonts
    directory, as fontconfig reads them (read once: a font added means a restart)."""
    if fonts_dir is None:
        return frozenset()
    scanned = subprocess.run(
        ["fc-scan", "--format=%{family}\\n", str(fonts_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return frozenset(
        name.strip().casefold()
        for line in scanned.stdout.splitlines()
        for name in line.split(",")
        if name.strip()
    )


@functools.cache
def _fontconfig_match(font_name: str, script: Script, fonts_dir: Path | None) -> str | None:
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{family[0]}", f"{pattern_name(font_name)}:lang={script.value}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            env={"FONTCONFIG_FILE": str(_rules_file(fonts_dir)), "PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


@functools.cache
def _rules_file(fonts_dir: Path | None = None) -> Path:
    """The rules for fc-match, in this user's private directory of /tmp (0700, checked to be
    its own: a directory someone else made first is not used, a fresh one is), written whole
    and renamed, since other processes of the user may be reading it."""
    directory = Path(tempfile.gettempdir()) / f"docrender-fonts-{os.geteuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    info = directory.lstat()
    if info.st_uid != os.geteuid() or not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o077:
        directory = Path(tempfile.mkdtemp(prefix="docrender-fonts-"))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as file:
        file.write(fontconfig_rules(fonts_dir))
    path = directory / f"fonts-{_digest(fonts_dir)}.conf"
    os.replace(file.name, path)
    return path


def fontconfig_rules(fonts_dir: Path | None = None) -> str:
    """fontconfig rules: each known Chinese name becomes its style's face for the text's
    language (Traditional for zh-tw, zh-hk, zh-mo; Simplified otherwise); each Western name
    its twin, whatever the language. The deployment's fonts directory, if any, is searched,
    and a name one of its fonts bears is left to that font."""
    owned = owned_families(fonts_dir)
    rules = [f"  <dir>{escape(str(fonts_dir))}</dir>"] if fonts_dir is not None else []
    rules += [
        _rename(name, twin) for name, twin in LATIN_TWINS.items() if name.casefold() not in owned
    ]
    for style, names in NAMES.items():
        for name in names:
            if name.casefold() in owned:
                continue
            rules += [_rule(name, style, Script.TRADITIONAL, lang) for lang in _TRADITIONAL_LANGS]
            rules.append(_rule(name, style, Script.SIMPLIFIED, None))
    body = "\n".join(rules)
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<!-- Generated by docrender/fonts/substitutes.py: Chinese document fonts -> installed faces. -->\n"
        '<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"{body}\n</fontconfig>\n"
    )


_TRADITIONAL_LANGS = ("zh-tw", "zh-hk", "zh-mo")


def _rename(name: str, family: str) -> str:
    return (
        f'  <match target="pattern">\n    <test name="family"><string>{escape(name)}</string>'
        f"</test>\n"
        f'    <edit name="family" mode="assign" binding="strong"><string>'
        f"{escape(family)}</string></edit>\n  </match>"
    )


def _rule(name: str, style: Style, script: Script, lang: str | None) -> str:
    lang_test = ""
    if lang is not None:
        lang_test = f'\n    <test name="lang" compare="contains"><string>{lang}</string></test>'
    weight = (
        '\n    <edit name="weight" mode="assign" binding="strong"><const>bold</const></edit>'
        if style.bold
        else ""
    )
    # The Traditional rule comes first and ends the match by renaming the family, so the
    # Simplified rule after it (no language test) only sees names still unmapped.
    return (
        f'  <match target="pattern">\n    <test name="family"><string>{escape(name)}</string>'
        f"</test>{lang_test}\n"
        f'    <edit name="family" mode="assign" binding="strong"><string>'
        f"{escape(style.family(script))}</string></edit>{weight}\n  </match>"
    )


def _digest(fonts_dir: Path | None) -> str:
    """A file name part telling one fonts directory's rules from another's."""
    return hashlib.sha256(str(fonts_dir).encode()).hexdigest()[:12] if fonts_dir else "none"
