from __future__ import annotations

import pytest

from tests.helpers.clients import Tenant


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic a2V5MTo="}],
)
def test_missing_or_wrong_key_is_401_in_the_contract_shape(
    tenant: Tenant, headers: dict[str, str]
) -> None:
    response = tenant.client.get("/v1/templates", headers=headers)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert "Bearer" in error["message"] or "not valid" in error["message"]
    assert set(error) == {"code", "message", "details"}


def test_health_needs_no_key(tenant: Tenant) -> None:
    response = tenant.client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_route_and_wrong_method_answer_json(tenant: Tenant) -> None:
    missing = tenant.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = tenant.client.put("/healthz")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
