"""Settings: every environment name wirebrief reads, in one place.

Values come from the environment and from `.env` in the working directory. A wrong value
becomes one `ConfigError` line that names the variable (see `load_settings`).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def normalise_username(raw: str) -> str:
    """Accept `name`, `@name`, `t.me/name` or `https://t.me/s/name`; return `name`."""
    name = raw.strip()
    name = re.sub(r"^(https?://)?(www\.)?(t\.me|telegram\.me)/(s/)?", "", name)
    name = name.lstrip("@").strip("/")
    if not USERNAME_RE.match(name):
        shown = raw if len(raw) <= 40 else raw[:39] + "…"
        raise ValueError(f"{shown!r} is not a channel username (letters, digits, _; 4-32 long)")
    return name


class Settings(BaseSettings):
    """Runtime configuration. Field names are the environment names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org/bot"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    database_path: Path = Path("./data/wirebrief.db")
    database_url: SecretStr | None = None
    """postgresql://user:password@host:port/db selects PostgreSQL instead of the SQLite file
    at DATABASE_PATH (a secret: it may carry the password)."""
    lease_seconds: int = Field(default=120, ge=2, le=3600)
    """How long a worker's claim on a source (and the scheduler's lease) lasts unless
    renewed: a worker that dies leaves its sources to the others after this long."""
    worker_name: str | None = None
    """Names this process in leases (default host:pid)."""
    sources: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tme_url: str = "https://t.me"
    poll_interval_seconds: int = Field(default=300, ge=10)
    backfill_posts: int = Field(default=100, ge=0, le=10_000)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    digest_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    digest_time: time = time(8, 0)
    digest_topics: Annotated[list[str], NoDecode] = Field(default_factory=list)
    timezone: str = "UTC"
    topics_file: Path | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_input_tokens: int = Field(default=6000, ge=500)
    llm_daily_token_limit: int = Field(default=0, ge=0)
    digest_language: str = "en"
    embeddings: str = "on"
    """on: multilingual embeddings group stories across languages (the bundled model, or
    the server at EMBEDDINGS_BASE_URL); off: grouping by shared words only."""
    embeddings_base_url: str | None = None
    embeddings_model: str = "multilingual-e5-small"
    embeddings_api_key: SecretStr | None = None
    chat_cooldown_seconds: float = Field(default=5.0, ge=0)
    telegraph: str = "off"
    """on: a brief longer than one message is published as a Telegraph page (telegra.ph)
    and the chat gets its headline, lede and link; off: the brief is split into messages."""
    telegraph_url: str = "https://api.telegra.ph"
    telegraph_author: str = Field(default="wirebrief", min_length=1, max_length=128)
    log_level: str = "INFO"
    log_format: str = "text"

    @field_validator("sources", "digest_topics", mode="before")
    @classmethod
    def _csv_strings(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("sources")
    @classmethod
    def _usernames(cls, value: list[str]) -> list[str]:
        return [normalise_username(v) for v in value]

    @field_validator("allowed_chat_ids", "admin_user_ids", "digest_chat_ids", mode="before")
    @classmethod
    def _csv_ints(cls, value: Any) -> Any:
        parts = _split_csv(value)
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, str) and not re.fullmatch(r"-?\d+", part):
                    raise ValueError(f"{part!r} is not a numeric id")
        return parts

    @field_validator("digest_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
            if not match or int(match[1]) > 23 or int(match[2]) > 59:
                raise ValueError(f"expected HH:MM (24-hour), got {value!r}")
            return time(int(match[1]), int(match[2]))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Kyiv") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("expected a postgresql:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
        return level

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError(f"expected text or json, got {value!r}")
        return value.lower()

    @field_validator("embeddings", "telegraph")
    @classmethod
    def _on_off(cls, value: str) -> str:
        if value.lower() not in {"on", "off"}:
            raise ValueError(f"expected on or off, got {value!r}")
        return value.lower()

    @field_validator(
        "bot_api_url",
        "tme_url",
        "openai_base_url",
        "webhook_url",
        "embeddings_base_url",
        "telegraph_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @property
    def database(self) -> Path | str:
        """What `open_store` opens: the PostgreSQL URL if one is set, else the SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def llm_enabled(self) -> bool:
        """A model is configured when a key or a base URL (a local server) is set."""
        return self.openai_api_key is not None or self.openai_base_url is not None


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise ConfigError("; ".join(lines)) from None
