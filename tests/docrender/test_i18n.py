"""Every sentence a person reads comes from the catalogs: each message the code makes is
translated in both, no catalog keeps what no code uses, placeholders match, and the
language follows what the request or the job asks for."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from babel.messages.checkers import python_format
from babel.messages.pofile import read_po
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from docrender import errors
from docrender.i18n import (
    CATALOGS,
    MAX_TAGS,
    TRANSLATIONS,
    Message,
    _,
    catalog,
    negotiate,
    ngettext,
)
from docrender.settings import PROJECT_ROOT

ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.DocrenderError)
}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The message ids in the code now, extracted as `make catalogs` does."""
    pot = tmp_path_factory.mktemp("catalogs") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "ngettext:1,2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as file:
        return {_id(message.id) for message in read_po(file) if message.id}


def _id(message_id: str | Sequence[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.mark.parametrize("locale", sorted(CATALOGS.values()))
def test_each_catalog_translates_every_message_and_keeps_no_other(
    locale: str, extracted: set[str]
) -> None:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        po = read_po(file)
    kept = {_id(message.id): message for message in po if message.id}
    assert extracted - set(kept) == set(), "messages the catalog lacks: run make catalogs"
    assert set(kept) - extracted == set(), "entries no code uses: run make catalogs"
    untranslated = [m.id for m in kept.values() if not all(_strings(m.string)) or m.fuzzy]
    assert untranslated == []
    for message in kept.values():
        python_format(po, message)  # raises when the placeholders differ from the id's


def _strings(string: str | Sequence[str] | None) -> tuple[str, ...]:
    return (string or "",) if isinstance(string, str | None) else tuple(string)


def test_no_chinese_sentence_is_written_in_the_code() -> None:
    """Chinese in a .py file outside the tests is data (font names, numerals, examples in
    docstrings and comments), never a message: messages live in the catalogs."""
    found = []
    for folder in ("api", "docrender", "workers", "web", "cli"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg == "zh":
                            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert found == []


def test_every_error_made_in_the_code_is_given_a_message() -> None:
    """Each DocrenderError constructed in api/, docrender/, workers/ and web/ gets a Message
    (a call of _ or ngettext, or a Message made elsewhere), never a bare string."""
    bare = []
    for folder in ("api", "docrender", "workers", "web"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[0]
                if name in ERROR_CLASSES and isinstance(first, ast.Constant | ast.JoinedStr):
                    bare.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {name}")
    assert bare == []


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-Hant", "zh-Hant"),
        ("zh-TW,zh;q=0.9", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh-Hans-CN", "zh-Hans"),
        ("en-US,en;q=0.9", "en"),
        ("fr", None),
        ("", None),
        ("en;q=0.5,zh-HK;q=0.8", "zh-Hant"),
        ("zh", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-MO", "zh-Hant"),
        ("fr;q=1,zh-TW;q=0.9", "zh-Hant"),
        ("xx-!!", None),
    ],
)
def test_accept_language(header: str, language: str | None) -> None:
    accepted = parse_accept_header(header, LanguageAccept)
    assert negotiate(tag for tag, _quality in accepted) == language


def test_traditional_reads_as_taiwan_writes_it() -> None:
    """Reviewed, not converted character by character: a template is a 範本, a data file a
    資料檔, and a row of a sheet a 列."""
    assert _("Templates").render("zh-Hant") == "範本"
    assert _("Templates").render("zh-Hans") == "模板"
    row = _("row %(row)s", row=5)
    assert (row.render("zh-Hans"), row.render("zh-Hant")) == ("第 5 行", "第 5 列")
    assert "資料檔" in _("The data file %(filename)s is empty.", filename="'a.csv'").render(
        "zh-Hant"
    )


def test_a_message_kept_in_a_job_record_reads_in_any_language_later() -> None:
    reason = _("|%(filter)s needs a number; got %(value)s", filter="money", value="'abc'")
    text = _(
        "The template could not be filled with this document's data: %(reason)s.", reason=reason
    )
    kept = Message.from_json(text.to_json())
    assert kept == text
    assert kept.render("en") == (
        "The template could not be filled with this document's data: |money needs a number; "
        "got 'abc'."
    )
    assert (
        kept.render("zh-Hant") == "無法用這份文件的資料填寫範本：|money 需要數字；得到的是 'abc'。"
    )


def test_plural_forms_follow_the_count() -> None:
    one = ngettext("%(count)s missing value", "%(count)s missing values", 1)
    two = ngettext("%(count)s missing value", "%(count)s missing values", 2)
    assert (one.render("en"), two.render("en")) == ("1 missing value", "2 missing values")
    assert two.render("zh-Hans") == "缺少 2 个值"


def test_catalogs_are_compiled() -> None:
    assert catalog("zh-Hans").gettext("Templates") == "模板"


def test_a_header_of_hundreds_of_languages_is_read_no_further_than_a_browser_sends() -> None:
    """Each Chinese tag is a Babel lookup: a hostile header naming hundreds of them costs the
    first MAX_TAGS and no more, so a language named after them is not reached."""
    header = ",".join([f"zh-X{i:02d}" for i in range(MAX_TAGS)] + ["zh-TW"])
    accepted = parse_accept_header(header, LanguageAccept)
    assert negotiate(tag for tag, _quality in accepted) is None
    assert negotiate(["fr", "de", "zh-TW"]) == "zh-Hant"
