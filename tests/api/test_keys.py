"""Keys from the key store, made and revoked with `docrender keys`, used against the API."""

from __future__ import annotations

import dataclasses
import re
import uuid

import pytest
import redis

from api import create_app
from cli.main import main
from docrender.settings import Settings
from docrender.tenants.keys import KeyStore


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().out


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DOCRENDER_REDIS_URL", settings.require_redis_url())


def test_a_created_key_works_until_it_is_revoked(
    capsys: pytest.CaptureFixture[str], cli_env: None, settings: Settings
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    status, out = cli(capsys, "keys", "create", tenant)
    assert status == 0
    key = re.search(r"API key:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    key_id = re.search(r"key id:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    assert re.search(r"webhook secret:\s+whsec_\S+", out)

    client = create_app(dataclasses.replace(settings, api_keys={})).test_client()
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/templates", headers=auth).status_code == 200

    status, out = cli(capsys, "keys", "list")
    line = next(line for line in out.splitlines() if line.startswith(key_id))
    assert tenant in line and line.endswith("live")
    assert key.split("_")[-1] not in out  # the list never shows a key

    assert cli(capsys, "keys", "revoke", key_id)[0] == 0
    refused = client.get("/v1/templates", headers=auth)  # the very next request
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    line = next(
        line for line in cli(capsys, "keys", "list")[1].splitlines() if line.startswith(key_id)
    )
    assert "revoked" in line
    assert cli(capsys, "keys", "revoke", key_id)[0] == 2  # already revoked: says so


def test_the_store_keeps_only_hashes(redis_client: redis.Redis) -> None:
    store = KeyStore(redis_client)
    record, key = store.create("hashes")
    stored = redis_client.hget("docrender:api-keys", record.id)
    assert stored is not None and key.split("_", 2)[2] not in str(stored)
    assert store.tenant_for(key) == "hashes"


@pytest.mark.parametrize(
    "presented",
    ["drk_", "drk_nosuchid_secret", "drk__", "nope", "drk_{id}_wrong-secret", "drk_{id}_"],
)
def test_near_miss_keys_are_refused(redis_client: redis.Redis, presented: str) -> None:
    store = KeyStore(redis_client)
    record, _ = store.create("near-miss")
    assert store.tenant_for(presented.format(id=record.id)) is None


def test_a_tenant_keeps_one_webhook_secret_across_keys(redis_client: redis.Redis) -> None:
    store = KeyStore(redis_client)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    assert store.webhook_secret(tenant) is None
    first = store.ensure_webhook_secret(tenant)
    assert store.ensure_webhook_secret(tenant) == first == store.webhook_secret(tenant)
