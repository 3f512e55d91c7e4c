"""The model's transport: the OpenAI-compatible client, its configuration, and its errors
as `ModelError`s whose messages carry no secret. The summariser (`bot.digest.llm`) asks;
this module only knows how to reach a model and how to say that it failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import openai
from openai.types.shared_params import ResponseFormatJSONSchema

from bot.config import Settings
from bot.errors import WirebriefError
from bot.retry import RetryAfterHint, retry_after_seconds

PLACEHOLDER_API_KEY = "not-needed"
"""The client insists on a key; a local server (OPENAI_BASE_URL alone) ignores it."""
MAX_ERROR_DETAIL = 160

ANSWER_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {
        "name": "digest_items",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "source": {"type": "integer"},
                            "text": {"type": "string"},
                        },
                        "required": ["source", "text"],
                        "additionalProperties": False,
                    },
                }
            },
            "required": ["items"],
            "additionalProperties": False,
        },
    },
}

FORMAT_ERROR_RE = re.compile(r"response_format|json_schema", re.IGNORECASE)
_SECRET_RE = re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_*.\-]{4,}|Bearer\s+\S+", re.IGNORECASE)


class ModelError(WirebriefError, RetryAfterHint):
    """A model call failed; the message is safe to log (no key, no URL)."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
        about_format: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.about_format = about_format  # the server's message names the answer format
        self.attempts = 1

    @property
    def rejects_structured_output(self) -> bool:
        """A 400/422, or any error that names the format: llama-cpp-python's server answers
        an unknown response_format with HTTP 500."""
        return self.status in (400, 422) or (self.status is not None and self.about_format)


class UnreadableAnswer(WirebriefError):
    """The model answered, but not in a form that could be read into items."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ModelError) and exc.transient


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Where the model is and how much it may read; the key never shows in a repr."""

    model: str
    base_url: str | None
    api_key: str = field(repr=False)
    timeout: float
    max_input_tokens: int
    language: str
    daily_token_limit: int = 0
    """Tokens (in + out) all digests may spend per UTC day; 0 means no limit."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelConfig:
        key = settings.openai_api_key
        return cls(
            model=settings.llm_model,
            base_url=settings.openai_base_url,
            api_key=key.get_secret_value() if key is not None else PLACEHOLDER_API_KEY,
            timeout=settings.llm_timeout_seconds,
            max_input_tokens=settings.llm_max_input_tokens,
            language=settings.digest_language,
            daily_token_limit=settings.llm_daily_token_limit,
        )


@dataclass(slots=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int


def make_client(config: ModelConfig) -> openai.AsyncOpenAI:
    """The client for one digest; retries are ours (`bot.retry`), not the client's."""
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.api_key,
        timeout=config.timeout,
        max_retries=0,
    )


def model_error(exc: openai.APIError, config: ModelConfig) -> ModelError:
    """The client's error as a ModelError whose message carries no secret."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelError(f"no answer within {config.timeout:g}s", transient=True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelError("the connection failed", transient=True)
    if isinstance(exc, openai.RateLimitError):
        return ModelError(
            "HTTP 429, rate limited",
            transient=True,
            status=429,
            retry_after=retry_after_seconds(exc.response.headers),
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _error_message(exc)
        detail = redact(message, config.api_key)
        return ModelError(
            f"HTTP {status}: {detail}" if detail else f"HTTP {status}",
            transient=status >= 500,
            status=status,
            about_format=bool(FORMAT_ERROR_RE.search(message)),
        )
    return ModelError(f"unexpected response ({type(exc).__name__})", transient=False)


def redact(text: str, key: str) -> str:
    """`text` without the key or anything shaped like one, on one line, cut to size."""
    if key and key != PLACEHOLDER_API_KEY:
        text = text.replace(key, "[key]")
    text = _SECRET_RE.sub("[key]", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_DETAIL else text[: MAX_ERROR_DETAIL - 1] + "…"


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""
