"""The font table and the fontconfig rules made from it, checked with the real fontconfig
(fc-match) and the installed faces."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from docrender.fonts.substitutes import (
    LATIN_TWINS,
    NAMES,
    FontUse,
    Script,
    fontconfig_rules,
    pattern_name,
    script_of,
    style_of,
    substitute,
)
from docrender.fonts.template import font_report, requested_fonts
from docrender.settings import PROJECT_ROOT
from tests.helpers.fonts import renamed_font


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fontconfig") / "fonts.conf"
    path.write_text(fontconfig_rules())
    return path


def fc_match(rules: Path, pattern: str) -> str:
    return subprocess.run(
        ["fc-match", "--format=%{family[0]}:%{weight}", pattern],
        env={"FONTCONFIG_FILE": str(rules), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("script", list(Script))
def test_every_known_name_resolves_to_its_styles_installed_face(
    rules: Path, script: Script
) -> None:
    wrong = {}
    for style, names in NAMES.items():
        for name in names:
            family, weight = fc_match(rules, f"{pattern_name(name)}:lang={script.value}").split(":")
            if family != style.family(script) or (style.bold and int(weight) < 200):
                wrong[name] = family
    assert not wrong, f"mapped to the wrong face: {wrong}"


@pytest.mark.parametrize("language", ["zh-cn", "zh-tw", "en"])
def test_western_names_resolve_to_their_twins_never_a_cjk_face(rules: Path, language: str) -> None:
    wrong = {}
    for name, twin in LATIN_TWINS.items():
        family = fc_match(rules, f"{pattern_name(name)}:lang={language}").split(":")[0]
        if family != twin:
            wrong[name] = family
    assert not wrong, f"mapped to the wrong face: {wrong}"


def test_the_rules_produce_no_fontconfig_warnings(rules: Path) -> None:
    checked = subprocess.run(
        ["fc-match", "仿宋_GB2312"],
        capture_output=True,
        text=True,
        env={"FONTCONFIG_FILE": str(rules), "PATH": "/usr/bin:/bin"},
    )
    assert checked.stderr == ""


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("zh-CN", Script.SIMPLIFIED),
        ("zh-TW", Script.TRADITIONAL),
        ("zh-HK", Script.TRADITIONAL),
        ("zh-Hant", Script.TRADITIONAL),
        ("zh-Hans", Script.SIMPLIFIED),
        (None, Script.SIMPLIFIED),
        ("en-US", Script.SIMPLIFIED),
    ],
)
def test_script_of_a_language(language: str | None, script: Script) -> None:
    assert script_of(language) is script


def test_names_are_matched_as_word_and_fontconfig_do() -> None:
    assert style_of(" simsun ") is style_of("SimSun") is not None
    assert style_of("Arial") is None


def test_simplified_fangsong_is_reported_as_another_style() -> None:
    # No packaged FangSong face has Simplified glyphs: the report must say so.
    assert substitute("仿宋_GB2312", Script.SIMPLIFIED).different_style
    assert not substitute("仿宋_GB2312", Script.TRADITIONAL).different_style


def test_a_template_names_its_fonts_and_language() -> None:
    script, names = requested_fonts((PROJECT_ROOT / "templates" / "gongwen.docx").read_bytes())
    assert script is Script.TRADITIONAL
    assert {"仿宋_GB2312", "楷体_GB2312", "方正小标宋简体", "黑体"} <= set(names)


def test_the_rules_for_fc_match_are_in_a_private_directory() -> None:
    """Not at a path in /tmp another user could guess and plant first."""
    from docrender.fonts.substitutes import _rules_file

    path = _rules_file()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.parent.stat().st_uid == os.geteuid()
    assert path.read_text() == fontconfig_rules()


def test_a_face_the_deployment_owns_is_used_before_any_substitute(tmp_path: Path) -> None:
    """A Georgia in DOCRENDER_FONTS_DIR: fontconfig searches the directory, no rule renames
    Georgia (it would be DejaVu Serif), and the report says it prints as asked."""
    (tmp_path / "georgia.ttf").write_bytes(renamed_font("Georgia"))
    rules = fontconfig_rules(tmp_path)
    assert f"<dir>{tmp_path}</dir>" in rules
    assert "<string>Georgia</string>" not in rules
    assert "<string>Georgia</string>" in fontconfig_rules()
    assert substitute("Georgia", Script.SIMPLIFIED, tmp_path) == FontUse(
        "Georgia", "Georgia", exact=True, different_style=False
    )
    assert substitute("Georgia", Script.SIMPLIFIED).used == "DejaVu Serif"


def test_a_template_written_in_traditional_is_reported_with_the_faces_it_prints_with() -> None:
    """Made in Simplified Word (no language said: Simplified by default) but written in
    Traditional: its documents settle to Traditional and print with the TC faces, so the report
    names those (it said Noto Serif CJK SC for 宋体)."""
    document = docx.Document()
    run = document.add_paragraph().add_run("關於{{ unit }}經費表的說明")
    run.font.name = "宋体"
    run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    out = io.BytesIO()
    document.save(out)
    script, _ = requested_fonts(out.getvalue())
    assert script is Script.TRADITIONAL
    report = {use.requested: use for use in font_report(out.getvalue())}
    used = report["宋体"].used or ""
    assert "CJK TC" in used, used
