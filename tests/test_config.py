"""Settings: every name from the environment or .env; wrong values name the variable."""

from __future__ import annotations

import shutil
from datetime import time
from pathlib import Path

import pytest

from bot.config import load_settings, normalise_username
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_env_example_as_env_loads_with_its_defaults(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")  # the cwd is tmp_path (conftest)
    settings = load_settings()
    assert settings.sources == ["operativnoZSU", "noel_reports", "uniannet"]
    assert settings.bot_token is None and not settings.llm_enabled
    assert settings.digest_time == time(8, 0) and settings.timezone == "UTC"


def test_lists_ids_and_times_parse_from_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES", "@noel_reports, https://t.me/s/uniannet ,t.me/operativnoZSU")
    monkeypatch.setenv("ALLOWED_CHAT_IDS", "-1001234567890, 42")
    monkeypatch.setenv("DIGEST_TIME", "7:30")
    monkeypatch.setenv("TIMEZONE", "Europe/Kyiv")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    settings = load_settings()
    assert settings.sources == ["noel_reports", "uniannet", "operativnoZSU"]
    assert settings.allowed_chat_ids == [-1001234567890, 42]
    assert settings.digest_time == time(7, 30)
    assert settings.llm_enabled


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DIGEST_TIME", "8am", "DIGEST_TIME: expected HH:MM"),
        ("TIMEZONE", "Kyiv", "TIMEZONE: 'Kyiv' is not an IANA time zone"),
        ("ALLOWED_CHAT_IDS", "12,abc", "ALLOWED_CHAT_IDS: 'abc' is not a numeric id"),
        ("SOURCES", "ok_name,a b", "SOURCES: 'a b' is not a channel username"),
        ("POLL_INTERVAL_SECONDS", "1", "POLL_INTERVAL_SECONDS:"),
        ("OPENAI_BASE_URL", "localhost:8080", "OPENAI_BASE_URL: expected an http(s) URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: expected DEBUG"),
    ],
)
def test_wrong_values_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_token_value_never_appears_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:SECRET-TOKEN-VALUE")
    monkeypatch.setenv("DIGEST_TIME", "99:99")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SECRET" not in str(caught.value)


def test_usernames_are_normalised_or_refused() -> None:
    assert normalise_username("https://t.me/s/noel_reports") == "noel_reports"
    with pytest.raises(ValueError):
        normalise_username("t.me/+AbCdEf")  # an invite link is not a public channel
