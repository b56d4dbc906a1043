"""The clerks' pages as a test client signs in to them (no browser: the server's rendering)."""

from __future__ import annotations

import dataclasses
import re
import uuid

from flask.testing import FlaskClient

from api import create_app
from docrender.settings import Settings


def clerk(settings: Settings) -> tuple[FlaskClient, str]:
    """A clerk of a tenant of her own, signed in to the pages, and her tenant's name."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    client = create_app(dataclasses.replace(settings, api_keys={f"key-{tenant}": tenant}))
    browser = client.test_client()
    page = browser.get("/web/sign-in").get_data(as_text=True)
    token = csrf_token(page)
    browser.post("/web/sign-in", data={"api_key": f"key-{tenant}", "csrf_token": token})
    return browser, tenant


def csrf_token(page: str) -> str:
    """The form token a page carries."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, "the page carries no form token"
    return token[1]
