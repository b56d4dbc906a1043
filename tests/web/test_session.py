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
    signed = secure.post(
        "/web/sign-in",
        data={"api_key": key, "csrf_token": csrf.group(1)},
        base_url="https://docrender.example",
        headers={"Referer": "https://docrender.example/web/sign-in"},
    )
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


def test_a_cookie_kept_from_before_sign_out_signs_in_no_more(settings: Settings) -> None:
    """A session cookie captured before Sign out kept working for 31 days."""
    client, _, key = client_for(settings)
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": token(client)})
    captured = client.get_cookie("docrender_session")
    assert captured is not None and client.get("/web/jobs").status_code == 200
    client.post("/web/sign-out", data={"csrf_token": token(client)})
    thief = client.application.test_client()
    thief.set_cookie("docrender_session", captured.value)
    assert thief.get("/web/jobs").headers["Location"].endswith("/web/sign-in")
    assert thief.get("/v1/jobs").status_code == 401


def test_wrong_keys_from_one_address_are_limited_and_said_so(settings: Settings) -> None:
    """300 wrong keys in 1.4 s met no limit: past the rate (10 in 5 minutes) the form is a 429
    with Retry-After, saying so on the page, without trying the key; other addresses sign in."""
    client, _, key = client_for(settings)
    guesser = {"REMOTE_ADDR": f"198.51.100.{uuid.uuid4().int % 250}"}
    for _ in range(10):
        wrong = client.post(
            "/web/sign-in",
            environ_base=guesser,
            data={"api_key": f"drk_{uuid.uuid4().hex}", "csrf_token": token(client)},
        )
        assert wrong.status_code == 401
    limited = client.post(
        "/web/sign-in",
        environ_base=guesser,
        headers={"Accept-Language": "zh-TW"},
        data={"api_key": key, "csrf_token": token(client)},
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "此位址嘗試的錯誤金鑰太多" in limited.get_data(as_text=True)
    other, _, other_key = client_for(settings)
    elsewhere = other.post(
        "/web/sign-in",
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
        data={"api_key": other_key, "csrf_token": token(other)},
    )
    assert elsewhere.status_code == 302


def test_the_pages_cannot_be_framed_and_run_only_their_own_scripts(settings: Settings) -> None:
    client, _, key = client_for(settings)
    client.post("/web/sign-in", data={"api_key": key, "csrf_token": token(client)})
    for page in ("/web/sign-in", "/web/templates", "/web/jobs", "/web/batch"):
        headers = client.get(page).headers
        policy = dict(
            part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
        )
        assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'"
        assert headers["X-Frame-Options"] == "DENY"


def test_no_session_is_signed_with_a_key_redis_does_not_hold() -> None:
    """The shared signing key read back from Redis became the string "None" when missing."""
    from flask import Flask

    from web import _PageSessions

    class Forgetful:
        def set(self, *args: object, **kwargs: object) -> None:
            return None

        def get(self, key: str) -> None:
            return None

    app = Flask(__name__)
    assert _PageSessions(Forgetful(), None).get_signing_serializer(app) is None  # type: ignore[arg-type]
    assert not app.secret_key
