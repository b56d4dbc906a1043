"""Every message a person reads is written in English and Chinese where it is made, and the
language follows what the request or the job asks for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from docrender import errors
from docrender.messages import localized, negotiate
from docrender.settings import PROJECT_ROOT

ERROR_CLASSES = {
    name for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.DocrenderError)
}  # fmt: skip


def test_every_error_made_in_the_code_has_its_chinese_message() -> None:
    """An AST check over api/, docrender/ and workers/: each DocrenderError (or a subclass)
    constructed with a message also gets ``zh=``."""
    missing = []
    for folder in ("api", "docrender", "workers"):
        for path in sorted((PROJECT_ROOT / folder).glob("*.py")):
            tree = ast.parse(Path(path).read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                made = name in ERROR_CLASSES or name in ("fail", "Failed", "type")
                if made and not any(keyword.arg == "zh" for keyword in node.keywords):
                    if name == "Failed" and len(node.args) >= 3:
                        continue  # Failed(code, message, zh) takes it third
                    if name == "type":
                        continue  # type(value) is no error
                    if name == "fail" and len(node.args) >= 2:
                        continue  # an image's fail(reason, zh)
                    missing.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {name}")
    assert not missing, missing


@pytest.mark.parametrize(
    ("header", "language"),
    [("zh-Hant", "zh-Hant"), ("zh-TW,zh;q=0.9", "zh-Hant"), ("zh-CN", "zh-Hans"),
     ("zh-Hans-CN", "zh-Hans"), ("en-US,en;q=0.9", "en"), ("fr", None), (None, None),
     ("en;q=0.5,zh-HK;q=0.8", "zh-Hant")],
)  # fmt: skip
def test_accept_language(header: str | None, language: str | None) -> None:
    assert negotiate(header) == language


def test_traditional_messages_are_converted_from_the_simplified_ones() -> None:
    assert localized("No template", "没有模板，请先上传", "zh-Hant") == "沒有模板，請先上傳"
    assert localized("No template", None, "zh-Hant") == "No template"
