"""The command line when the service or its Redis is not there: one line saying so, and its
own exit code (3), not a traceback and not the code for failed documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import EXIT_UNREACHABLE, main
from docrender.processes import free_port
from docrender.settings import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "templates"


def test_submit_to_a_service_that_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    status = main(
        [
            "submit",
            str(SAMPLES / "unit-summary.docx"),
            str(SAMPLES / "units.json"),
            "--out",
            str(tmp_path),
            "--server",
            server,
            "--key",
            "k",
        ]
    )
    assert status == EXIT_UNREACHABLE == 3
    err = " ".join(capsys.readouterr().err.split())
    assert f"cannot reach docrender at {server}/" in err and "is it running?" in err
    assert "Traceback" not in err


def test_keys_when_the_stack_is_stopped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCRENDER_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["keys", "list"]) == EXIT_UNREACHABLE
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot reach the key store's Redis: is the stack running?" in err
    assert "Error 111" not in err
