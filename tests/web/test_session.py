"""Signing in to the pages, without a browser: the cookie's flags, CSRF, a revoked key."""

from __future__ import annotations

import dataclasses
import re
import uuid

import redis
from flask.testing import FlaskClient

from api import create_app
from docrender.settings import Settings
from docrender.tenants.keys import KeyStore


def client_for(settings: Settings) -> tuple[FlaskClient, str, str]:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    key = f"key-{tenant}"
    app = create_app(dataclasses.replace(settings, api_keys={key: tenant}))
    return app.test_client(), tenant, key


def token(client: FlaskClient) -> str:
    page = client.get("/web/sign-in").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(settings: Settings) -> None:
    client, _, key = client_for(settings)
    signed = client.post("/web/sign-in", data={"api_key": key, "csrf_token": token(client)})
    assert signed.status_code == 302
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert key not in cookie  # the session keeps an identity of the key, never the key
    secure, _, key = client_for(settings)
    page = secure.get("/web/sign-in", base_url="https://docrender.example").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    # Over TLS the token must come with its page's Referer too (Flask-WTF's strict check).
    signed = secure.post("/web/sign-in", data={"api_key": key, "csrf_token": csrf.group(1)},
                         base_url="https://docrender.example",
                         headers={"Referer": "https://docrender.example/web/sign-in"})  # fmt: skip
    assert "; Secure" in signed.headers["Set-Cookie"]


def test_forms_without_their_token_are_refused(settings: Settings) -> None:
    client, _, key = client_for(settings)
    refused = client.post("/web/sign-in", data={"api_key": key})
    assert refused.status_code == 400 and "reload" in refused.get_data(as_text=True)
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": token(client)})
    assert client.get("/web/jobs").status_code == 200
    assert client.post("/web/sign-out").status_code == 400  # no token: still signed in
    assert client.get("/web/jobs").status_code == 200


def test_a_revoked_key_ends_its_sessions(settings: Settings, redis_client: redis.Redis) -> None:
    client, _, _ = client_for(settings)
    record, key = KeyStore(redis_client).create(f"t{uuid.uuid4().hex[:8]}")
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": token(client)})
    assert client.get("/web/jobs").status_code == 200
    assert client.get("/v1/jobs").status_code == 200  # reads with the session cookie
    KeyStore(redis_client).revoke(record.id)
    assert client.get("/web/jobs").headers["Location"].endswith("/web/sign-in")
    assert client.get("/v1/jobs").status_code == 401
    assert client.post("/v1/jobs", json={}).status_code == 401  # never a write by cookie
