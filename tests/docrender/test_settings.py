from __future__ import annotations

import pytest

from docrender.settings import Settings, SettingsError


def test_defaults_hold_a_valid_timeout_ladder() -> None:
    settings = Settings.from_env({})
    assert settings.conversion_timeout < settings.converter_client_timeout
    assert settings.task_time_limit < settings.broker_visibility_timeout
    assert settings.retention_seconds == 7 * 86400


def test_reads_keys_durations_and_numbers() -> None:
    settings = Settings.from_env(
        {
            "DOCRENDER_API_KEYS": "tenant1:key1, tenant2:key2",
            "DOCRENDER_RETENTION": "2d",
            "DOCRENDER_WORKERS": "3",
        }
    )
    assert settings.api_keys == {"key1": "tenant1", "key2": "tenant2"}
    assert settings.retention_seconds == 2 * 86400
    assert settings.workers == 3


def test_reads_the_webhook_and_queue_settings() -> None:
    settings = Settings.from_env(
        {
            "DOCRENDER_WEBHOOK_SECRETS": "bureau:s1, other:s2",
            "DOCRENDER_WEBHOOK_ALLOW_PRIVATE": "1",
            "DOCRENDER_WEBHOOK_ATTEMPTS": "3",
            "DOCRENDER_MAX_QUEUED_DOCUMENTS": "200",
        }
    )
    assert settings.webhook_secrets == {"bureau": "s1", "other": "s2"}
    assert settings.webhook_allow_private and settings.webhook_attempts == 3
    assert settings.max_queued_documents == 200
    assert not Settings.from_env({}).webhook_allow_private


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DOCRENDER_API_KEYS": "no-colon"}, "DOCRENDER_API_KEYS"),
        ({"DOCRENDER_API_KEYS": "bad tenant:key"}, "DOCRENDER_API_KEYS"),
        ({"DOCRENDER_RETENTION": "a week"}, "DOCRENDER_RETENTION"),
        ({"DOCRENDER_WORKERS": "0"}, "DOCRENDER_WORKERS"),
        ({"DOCRENDER_STORAGE": "s3"}, "DOCRENDER_STORAGE"),
        ({"DOCRENDER_WEBHOOK_SECRETS": "tenant-without-secret"}, "DOCRENDER_WEBHOOK_SECRETS"),
        ({"DOCRENDER_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "DOCRENDER_WEBHOOK_ALLOW_PRIVATE"),
        ({"DOCRENDER_MAX_QUEUED_DOCUMENTS": "-5"}, "DOCRENDER_MAX_QUEUED_DOCUMENTS"),
        # A conversion timeout longer than the task's limits would never fire.
        ({"DOCRENDER_CONVERSION_TIMEOUT": "600"}, "DOCRENDER_CONVERTER_CLIENT_TIMEOUT"),
        ({"DOCRENDER_BROKER_VISIBILITY_TIMEOUT": "60"}, "DOCRENDER_BROKER_VISIBILITY_TIMEOUT"),
        ({"DOCRENDER_FONTS_DIR": "/no/such/fonts"}, "DOCRENDER_FONTS_DIR"),
        ({"DOCRENDER_END_GRACE": "soon"}, "DOCRENDER_END_GRACE"),
    ],
)
def test_refuses_bad_configuration_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize("value", ["0", "9", "40"])
def test_long_polls_may_hold_at_most_half_an_api_processes_threads(value: str) -> None:
    with pytest.raises(SettingsError, match="DOCRENDER_MAX_LONG_POLLS"):
        Settings.from_env({"DOCRENDER_MAX_LONG_POLLS": value})
