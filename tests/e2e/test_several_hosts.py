"""The service across several hosts: Redis, the object store, the API and two workers each in a
network namespace of its own (its own address, reached over a bridge, as machines on a LAN),
sharing nothing but the network. A 200-document job is spread over both workers; one worker
host's link is cut mid-job, and its documents are made by the other once the broker's
visibility timeout hands them back: every document made exactly once, each its own.

Namespaces, veth pairs and the bridge are made by the test and removed after it, with every
process it started; where namespaces cannot be made (no root, no CAP_NET_ADMIN) it is skipped
saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from cli.processes import GUNICORN_CONFIG, ManagedProcess
from docrender.jobs.queue import RENDER_TASK
from docrender.settings import PROJECT_ROOT
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text, squash
from tests.helpers.processes import SHORT_TIMEOUTS

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.libreoffice]

BIN = Path(sys.executable).parent
SUBNET = "10.77.0"
HOSTS = {"redis": 2, "s3": 3, "api": 4, "w1": 5, "w2": 6}
KEY = "hosts-key"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Network:
    """A bridge in this namespace and one namespace per host, each on its veth."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:5])
    made: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"drb{self.tag}"

    def namespace(self, host: str) -> str:
        return f"dr{self.tag}-{host}"

    def address(self, host: str) -> str:
        return f"{SUBNET}.{HOSTS[host]}"

    def build(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(f"link:{self.bridge}")
        ip("addr", "add", f"{SUBNET}.1/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host in HOSTS:
            namespace, outside = self.namespace(host), f"drv{self.tag}{HOSTS[host]}"
            ip("netns", "add", namespace)
            self.made.append(f"netns:{namespace}")
            ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            self.made.append(f"link:{outside}")
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")  # unoserver listens on loopback

    def cut(self, host: str) -> None:
        ip("-n", self.namespace(host), "link", "set", "eth0", "down")

    def remove(self) -> None:
        for item in reversed(self.made):
            kind, name = item.split(":", 1)
            subprocess.run(
                ["ip", "netns", "del", name] if kind == "netns" else ["ip", "link", "del", name],
                capture_output=True,
                timeout=10,
            )


@dataclass
class Hosts:
    network: Network
    api: str
    processes: dict[str, ManagedProcess]
    logs: Path


def run_in(
    network: Network, host: str, command: list[str], env: dict[str, str], log: Path
) -> ManagedProcess:
    return ManagedProcess(
        host, ["ip", "netns", "exec", network.namespace(host), *command], env, log
    )


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    network = Network()
    try:
        network.build()
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as exc:
        network.remove()
        pytest.skip(f"network namespaces cannot be made here ({exc}): needs root and ip(8)")
    base = tmp_path_factory.mktemp("hosts")
    logs = base / "logs"
    processes: dict[str, ManagedProcess] = {}
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCRENDER_", "AWS_", "PROMETHEUS_"))
    }
    redis_url = f"redis://{network.address('redis')}:6379/0"
    s3 = f"http://{network.address('s3')}:5000"
    env = (
        clean
        | SHORT_TIMEOUTS
        | {
            "DOCRENDER_REDIS_URL": redis_url,
            "DOCRENDER_API_KEYS": f"county:{KEY}",
            "DOCRENDER_STORAGE": "s3",
            "DOCRENDER_S3_BUCKET": "docrender",
            "DOCRENDER_S3_ENDPOINT_URL": s3,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DOCRENDER_WORKERS": "1",
            "DOCRENDER_BATCH_SIZE": "4",
        }
    )
    try:
        (base / "redis").mkdir()
        processes["redis"] = run_in(
            network,
            "redis",
            [
                "redis-server",
                "--bind",
                network.address("redis"),
                "--port",
                "6379",
                "--dir",
                str(base / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            clean,
            logs / "redis.log",
        )
        processes["s3"] = run_in(
            network,
            "s3",
            [str(BIN / "moto_server"), "-H", network.address("s3"), "-p", "5000"],
            clean,
            logs / "s3.log",
        )
        processes["s3"].wait_until(lambda: _answers(s3), 60, "the object store did not start")
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket="docrender")
        api = f"{network.address('api')}:8000"
        processes["api"] = run_in(
            network,
            "api",
            [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONFIG)],
            env | {"DOCRENDER_BIND": api, "DOCRENDER_DATA_DIR": str(base / "api")},
            logs / "api.log",
        )
        processes["api"].wait_until(
            lambda: _answers(f"http://{api}/healthz"), 60, "the API did not start"
        )
        for worker in ("w1", "w2"):
            processes[worker] = run_in(
                network,
                worker,
                [str(BIN / "python"), "-m", "workers"],
                env | {"DOCRENDER_DATA_DIR": str(base / worker)},
                logs / f"{worker}.log",
            )
        processes["api"].wait_until(
            lambda: _ready(f"http://{api}/readyz", 2), 180, "the workers' converters did not start"
        )
        yield Hosts(network, f"http://{api}", processes, logs)
    finally:
        for process in reversed(list(processes.values())):
            process.stop(grace_seconds=20)
        network.remove()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


def _ready(url: str, converters: int) -> bool:
    try:
        answer = httpx.get(url, timeout=2)
        return answer.status_code == 200 and answer.json()["converters"] >= converters
    except (httpx.TransportError, ValueError, KeyError):
        return False


def documents_made_by(log: Path, job_id: str) -> set[int]:
    """The documents a worker's log says its render tasks finished for the job (the job's end
    task, which the job's finish now waits for, names no documents)."""
    made: set[int] = set()
    for line in log.read_text(errors="replace").splitlines():
        if job_id not in line or "succeeded in" not in line:
            continue
        data = json.loads(line).get("data", {})
        args = data.get("args", "")
        if data.get("name") == RENDER_TASK and job_id in args:
            made |= {int(i) for i in args.split("[", 1)[1].split("]", 1)[0].split(",") if i.strip()}
    return made


def test_a_worker_host_cut_off_mid_job_loses_nothing(hosts: Hosts) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=hosts.api, headers=auth, timeout=30) as http:
        template = http.post(
            "/v1/templates", files={"file": ("t.docx", make_docx("{{ unit }}", "第 {{ n }} 份"))}
        ).json()["id"]
        units = [f"單位{n:03d}" for n in range(200)]
        submitted = http.post(
            "/v1/jobs",
            json={
                "template": template,
                "name": "{{ unit }}",
                "documents": [{"data": {"unit": u, "n": i}} for i, u in enumerate(units)],
            },
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]

        def progress() -> int:
            job = http.get(f"/v1/jobs/{job_id}").json()
            return int(job["progress"]["succeeded"])

        deadline = time.monotonic() + 300
        while not (
            documents_made_by(hosts.logs / "w1.log", job_id)
            and documents_made_by(hosts.logs / "w2.log", job_id)
        ):
            assert time.monotonic() < deadline, "both workers never made a document"
            time.sleep(0.5)
        # Cut while both workers are inside a task (more documents running than one group of
        # 4), so that w2 holds started documents: a cut between w2 taking a task and starting
        # its documents would leave nothing for the redelivery to find started.
        while (
            sum(
                d["status"] == "running" for d in http.get(f"/v1/jobs/{job_id}").json()["documents"]
            )
            <= 4
        ):
            assert time.monotonic() < deadline, "the two workers were never both mid-task"
        assert progress() < 160, "the job ended before the cut could matter"
        hosts.network.cut("w2")  # its link goes down mid-job
        cut_at = progress()
        by_w2 = documents_made_by(hosts.logs / "w2.log", job_id)

        while (job := http.get(f"/v1/jobs/{job_id}").json())["finished_at"] is None:
            assert time.monotonic() < deadline + 300, job["progress"]
            time.sleep(1)
        assert job["status"] == "succeeded" and job["progress"]["succeeded"] == 200, job
        by_w1 = documents_made_by(hosts.logs / "w1.log", job_id)
        assert by_w1 and by_w2 and by_w1 | by_w2 == set(range(200))
        assert cut_at < 200
        for index in (0, 57, 123, 199):  # each document is its own
            text = squash(pdf_text(http.get(f"/v1/jobs/{job_id}/documents/{index}").content))
            assert units[index] in text and f"第{index}份" in text
        assert [d["name"] for d in job["documents"]] == units  # none doubled, none lost
    # Documents w2 held when it was cut off were handed to w1 after the visibility timeout:
    # the job store saw them started twice, and made once.
    store = redis.Redis(host=hosts.network.address("redis"), port=6379, decode_responses=True)
    records = [json.loads(raw) for raw in store.hvals(f"docrender:job:{job_id}:docs")]
    assert any(record.get("crashes") for record in records)
    assert PROJECT_ROOT.exists()
