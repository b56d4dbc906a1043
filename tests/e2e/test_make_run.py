"""`make run`'s stack as a newcomer uses it: the README walk-through against gunicorn, then
Ctrl-C, after which nothing of the stack may be left running."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import psutil
import pytest

from docrender.processes import free_port
from tests.helpers.processes import processes_using, wait_ready
from tests.helpers.samples import SAMPLE_JOB, SAMPLE_TEMPLATE

# It starts the whole stack with `make run`'s own runner.
pytestmark = [pytest.mark.redis, pytest.mark.libreoffice]


def oversized_body_refused_unread(bind: str, key: str) -> bool:
    """Announce a 1 GB body and send none of it: gunicorn + Flask answer 413 at once,
    from the Content-Length alone, instead of waiting to read it."""
    host, port = bind.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/jobs HTTP/1.1\r\nHost: " + bind.encode() + b"\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        )
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    return status_line.startswith(b"HTTP/1.1 413")


def test_walkthrough_then_ctrl_c_leaves_nothing_running(tmp_path: Path) -> None:
    bind = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCRENDER_", "PROMETHEUS_"))}
    env.update(DOCRENDER_DATA_DIR=str(tmp_path), DOCRENDER_BIND=bind, DOCRENDER_WORKERS="1")
    stack = subprocess.Popen(
        [sys.executable, "-m", "cli.stack"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://{bind}"
    try:
        wait_ready(base, stack)
        # No DOCRENDER_API_KEYS: a development key was made and kept under the data dir.
        key = (tmp_path / "dev-api-key").read_text().strip().split(":", 1)[1]
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            # The sample template was registered at start: uploading it again finds it.
            upload = http.post("/v1/templates", files={"file": SAMPLE_TEMPLATE.open("rb")})
            assert upload.status_code == 200
            body = SAMPLE_JOB.read_text().replace("TEMPLATE_ID", upload.json()["id"])
            submitted = http.post(
                "/v1/jobs", content=body, headers={"Content-Type": "application/json"}
            )
            assert submitted.status_code == 202
            job_url = submitted.headers["Location"]
            while (job := http.get(job_url).json())["finished_at"] is None:
                time.sleep(0.5)
            assert job["status"] == "succeeded", job
            # 409 for the moment between the job's end and its archive being stored
            while (archive := http.get(f"{job_url}/archive")).status_code == 409:
                time.sleep(0.2)
            names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
            expected = [d["name"] + ".pdf" for d in json.loads(SAMPLE_JOB.read_text())["documents"]]
            assert names == expected
        # The CLI against make run's stack needs no --server or --key (it reads the same
        # DOCRENDER_BIND and data dir as the stack).
        out = tmp_path / "out"
        cli = subprocess.run(
            [
                str(Path(sys.executable).parent / "docrender"),
                "submit",
                str(SAMPLE_TEMPLATE.with_name("unit-summary.docx")),
                str(SAMPLE_TEMPLATE.with_name("units.xlsx")),
                "--out",
                str(out),
                "--merged",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 0, cli.stderr
        assert len(list(out.glob("*.pdf"))) == 6  # five documents and the merged volume

        # An operator makes a key for a new tenant against make run's own Redis, and
        # revokes it: gunicorn refuses it on the next request.
        docrender = str(Path(sys.executable).parent / "docrender")
        created = subprocess.run(
            [docrender, "keys", "create", "bureau-2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        fields = dict(line.split(":", 1) for line in created.stdout.splitlines())
        new_key = {"Authorization": f"Bearer {fields['API key'].strip()}"}
        assert httpx.get(f"{base}/v1/templates", headers=new_key).status_code == 200
        subprocess.run(
            [docrender, "keys", "revoke", fields["key id"].strip()],
            env=env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        assert httpx.get(f"{base}/v1/templates", headers=new_key).status_code == 401

        assert oversized_body_refused_unread(bind, key)
        descendants = psutil.Process(stack.pid).children(recursive=True)
        running = {p.name() for p in descendants}
        assert {"redis-server", "soffice.bin", "gunicorn"} <= running, running
    finally:
        stack.send_signal(signal.SIGINT)  # what Ctrl-C sends
        _, errors = stack.communicate(timeout=120)
    assert stack.returncode == 0, errors.decode()
    assert b"development API key" in errors
    assert not [p for p in descendants if p.is_running()], "processes of the stack still run"
    assert not processes_using(tmp_path)


@pytest.mark.parametrize("signal_sent", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_to_make_alone_stops_the_whole_stack(
    tmp_path: Path, signal_sent: signal.Signals
) -> None:
    """A supervisor (or `docker stop`, or `kill`) signals the one process it started, here
    `make run`'s make, not its process group: the stack stops and leaves nothing running.
    (GNU make passes SIGTERM on to the stack; SIGINT it does not.)"""
    bind = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCRENDER_", "PROMETHEUS_"))}
    env.update(
        DOCRENDER_DATA_DIR=str(tmp_path / "data"), DOCRENDER_BIND=bind, DOCRENDER_WORKERS="1"
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=Path(__file__).parents[2],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the signal reaches make alone
        )
    descendants: list[psutil.Process] = []
    try:
        wait_ready(f"http://{bind}", make)
        descendants = psutil.Process(make.pid).children(recursive=True)
        assert {"redis-server", "soffice.bin", "gunicorn"} <= {p.name() for p in descendants}
        make.send_signal(signal_sent)
        make.wait(timeout=120)
    finally:
        if make.poll() is None:  # the stack did not stop: leave nothing behind the test
            for process in [*psutil.Process(make.pid).children(recursive=True), make]:
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    process.kill()
            make.wait()
    assert b"docrender: stopping" in log.read_bytes()
    assert not [p for p in descendants if p.is_running()], "processes of the stack still run"
    assert not processes_using(tmp_path / "data")
