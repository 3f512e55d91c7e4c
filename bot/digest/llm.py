"""LLM digests through any OpenAI-compatible server, with the extractive digest as fallback.

The model writes the text; `verify` decides what it may cite. Calls go through the official
`openai` client (its own retries off) and the project's one retry policy: rate limits
(honouring Retry-After), timeouts, connection errors and 5xx are retried within a bounded
time; other 4xx are not. Answers are cached by the exact request, tokens counted per day.
Whatever goes wrong, a digest comes out: the extractive one, with one line saying why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol

import openai
from openai.types.chat import ChatCompletionMessageParam

from bot.config import Settings
from bot.digest.model_client import (
    ANSWER_FORMAT,
    Completion,
    ModelConfig,
    ModelError,
    UnreadableAnswer,
    is_transient,
    make_client,
    model_error,
)
from bot.digest.model_lines import checked_lede, keyed_items, lede_note, note_for
from bot.digest.prompting import (
    PromptContext,
    PromptSource,
    Templates,
    cache_key,
    count_tokens,
    plan_prompt,
)
from bot.digest.summary import ExtractiveSummariser, SummaryResult
from bot.digest.topics import Topic
from bot.digest.verify import StoryLines, lines_by_story, parse_answer
from bot.digest.window import Window
from bot.models import CachedAnswer, LLMUsage, Story
from bot.retry import RetryPolicy, retry_after_seconds, retrying
from bot.words import plural

if TYPE_CHECKING:
    from bot.embeddings.base import Embedder
    from bot.store.embeddings import StoredVector

log = logging.getLogger(__name__)

DEFAULT_POLICY = RetryPolicy(attempts=4, initial_wait=1.0, max_wait=20.0, max_total=90.0)


class AnswerStore(Protocol):
    """What the summariser needs from the store: the answer cache and the usage counter."""

    async def cached_answer(self, key: str) -> CachedAnswer | None: ...

    async def store_answer(
        self, key: str, model: str, answer: str, tokens_in: int, tokens_out: int
    ) -> None: ...

    async def record_llm_usage(self, day: date, tokens_in: int, tokens_out: int) -> None: ...

    async def llm_tokens_on(self, day: date) -> LLMUsage: ...

    async def vectors_of(self, post_ids: Sequence[int], model: str) -> dict[int, StoredVector]: ...


LEDE_STORIES = 10
"""The top stories the model sees when it writes a brief's lede."""


@dataclass(slots=True)
class LedeResult:
    """A brief's lede: (text, the stories it cites, "model" or "extractive") per sentence."""

    sentences: list[tuple[str, tuple[Story, ...], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(slots=True)
class Answer:
    """One part's answer: fresh from the model or from the cache (which spends nothing)."""

    text: str
    key: str
    cached: bool
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(slots=True)
class _Run:
    """The state of one digest: its client, prompt context and what it has spent."""

    client: openai.AsyncOpenAI
    context: PromptContext
    structured: bool = True
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    cached_parts: int = 0
    kind: str = "digest"
    """What is asked: "digest" (a line per story) or "lede" (a brief's lede)."""


def _utc_today() -> date:
    return datetime.now(UTC).date()


class LLMSummariser:
    """The Summariser that asks a model, then verifies every item against the sources."""

    def __init__(
        self,
        config: ModelConfig,
        store: AnswerStore | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        templates: Templates | None = None,
        today: Callable[[], date] = _utc_today,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.policy = policy
        self.templates = templates
        self.today = today
        self.embedder = embedder
        """For the meaning check of model lines (their cosine to their posts)."""
        self.name = f"llm:{config.model}"

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: AnswerStore | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        embedder: Embedder | None = None,
    ) -> LLMSummariser:
        return cls(ModelConfig.from_settings(settings), store, policy, embedder=embedder)

    # ----- the digest ---------------------------------------------------------------

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        if not stories:
            return SummaryResult(items=[], summariser=self.name)
        if await self._budget_spent():
            note = (
                f"Today's model budget ({self.config.daily_token_limit} tokens, "
                "LLM_DAILY_TOKEN_LIMIT) is spent; this digest is extractive."
            )
            log.warning("%s", note)
            result = await ExtractiveSummariser().summarise(stories, topic, window)
            result.notes = [note, *result.notes]
            return result
        plan = await asyncio.to_thread(
            plan_prompt,
            stories,
            topic,
            window,
            self.config.language,
            self.config.max_input_tokens,
            self.templates,
        )
        sources = {source.number: source.story for source in plan.sources}
        merged = StoryLines()
        async with make_client(self.config) as client:
            run = _Run(client, plan.context)
            try:
                for part in plan.parts:
                    merged.extend(await self._summarise_part(run, part, sources))
            except ModelError as exc:
                return await self._fallback(stories, topic, window, self._failure(exc), run)
            except UnreadableAnswer:
                note = f"The answer of the model ({self.config.model}) could not be read"
                return await self._fallback(stories, topic, window, note, run)
        if not merged.lines:
            note = (
                f"Nothing the model ({self.config.model}) wrote cited a known source "
                f"({plural(merged.dropped_items, 'item')} dropped)"
            )
            return await self._fallback(stories, topic, window, note, run)
        closeness = await self._closeness(merged, sources)
        keyed = keyed_items(stories, merged, topic.focus(), closeness)
        log.info(
            "%s digest: %d part(s), %d cached, %d call(s), %d model lines of %d stories, "
            "dropped %d items and %d citations, tokens %d in / %d out",
            self.name,
            len(plan.parts),
            run.cached_parts,
            run.calls,
            keyed.model_lines,
            len(keyed.items),
            merged.dropped_items,
            merged.dropped_citations,
            run.tokens_in,
            run.tokens_out,
        )
        notes = []
        if (kept := note_for(keyed, self.config.model)) is not None:
            notes.append(kept)
        if merged.dropped_items or merged.dropped_citations:
            notes.append(
                f"Verification removed {plural(merged.dropped_items, 'item')} and "
                f"{plural(merged.dropped_citations, 'citation')} that matched no source."
            )
        return SummaryResult(
            items=keyed.items,
            summariser=self.name,
            notes=notes,
            dropped_items=merged.dropped_items,
            dropped_citations=merged.dropped_citations,
            tokens_in=run.tokens_in,
            tokens_out=run.tokens_out,
        )

    # ----- the lede of a brief --------------------------------------------------------

    async def write_lede(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> LedeResult:
        """The lede of a brief over the ranked `stories`: the model's sentences, each checked
        against the posts of the stories it cites, or the extractive lines of those stories
        where a sentence fails. Nothing at all when the model fails: the brief's lede is
        then built from its items, with a note."""
        if not stories or await self._budget_spent():
            return LedeResult()
        plan = await asyncio.to_thread(
            plan_prompt,
            stories[:LEDE_STORIES],
            topic,
            window,
            self.config.language,
            self.config.max_input_tokens,
            self.templates,
        )
        part = plan.parts[0]
        sources = {source.number: source.story for source in part}
        async with make_client(self.config) as client:
            run = _Run(client, plan.context, structured=False, kind="lede")
            try:
                answer = await self._answer(run, part)
            except ModelError as exc:
                why = self._failure(exc)
                log.warning("%s; the brief's lede is extractive", why)
                return LedeResult(
                    notes=[f"{why}; the brief's lede is built from its stories."],
                    tokens_in=run.tokens_in,
                    tokens_out=run.tokens_out,
                )
        checked = checked_lede(parse_answer(answer.text) or [], sources, topic.focus())
        if checked.lines and not answer.cached and self.store is not None:
            await self.store.store_answer(
                answer.key, self.config.model, answer.text, answer.tokens_in, answer.tokens_out
            )
        notes = []
        if (replaced := lede_note(checked, self.config.model)) is not None:
            notes.append(replaced)
        if not checked.lines:
            notes.append(
                f"The model ({self.config.model}) wrote no usable lede; the brief's lede is "
                "built from its stories."
            )
        log.info(
            "%s lede: %d sentence(s), %d replaced, %d dropped, tokens %d in / %d out",
            self.name,
            len(checked.lines),
            sum(checked.replaced.values()),
            checked.dropped,
            run.tokens_in,
            run.tokens_out,
        )
        return LedeResult(
            [(line.text, tuple(sources[n] for n in line.stories), line.source)
             for line in checked.lines],
            notes,
            run.tokens_in,
            run.tokens_out,
        )  # fmt: skip

    async def _closeness(
        self, lines: StoryLines, sources: Mapping[int, Story]
    ) -> dict[int, float] | None:
        """Each line's best cosine to its story's posts, when embeddings are at hand."""
        if self.embedder is None or self.store is None or not lines.lines:
            return None
        from bot.embeddings.base import EmbeddingError
        from bot.embeddings.vectors import from_blob

        numbers = sorted(lines.lines)
        post_ids = [p.id for n in numbers for p in sources[n].posts]
        try:
            stored = await self.store.vectors_of(post_ids, self.embedder.model)
            vectors = await self.embedder.embed([lines.lines[n] for n in numbers])
        except EmbeddingError as exc:
            log.warning("the meaning check of model lines is skipped: %s", exc)
            return None
        found: dict[int, float] = {}
        for row, number in enumerate(numbers):
            cosines = [
                float(vectors[row] @ from_blob(stored[p.id].blob, stored[p.id].dim))
                for p in sources[number].posts
                if p.id in stored and stored[p.id].dim
            ]
            if cosines:
                found[number] = max(cosines)
        return found

    async def _budget_spent(self) -> bool:
        """One chat cannot drain the day's budget for all: past it, digests are extractive."""
        if self.config.daily_token_limit <= 0 or self.store is None:
            return False
        usage = await self.store.llm_tokens_on(self.today())
        return usage.tokens >= self.config.daily_token_limit

    async def _summarise_part(
        self, run: _Run, part: Sequence[PromptSource], sources: Mapping[int, Story]
    ) -> StoryLines:
        answer = await self._answer(run, part)
        candidates = parse_answer(answer.text)
        if candidates is None:
            log.warning(
                "%s answer could not be read (%d chars, starts %r)",
                self.name,
                len(answer.text),
                answer.text[:60],
            )
            raise UnreadableAnswer("unreadable answer")
        checked = lines_by_story(candidates, sources)
        if checked.lines and not answer.cached and self.store is not None:
            await self.store.store_answer(
                answer.key, self.config.model, answer.text, answer.tokens_in, answer.tokens_out
            )
        return checked

    async def _fallback(
        self, stories: Sequence[Story], topic: Topic, window: Window, why: str, run: _Run
    ) -> SummaryResult:
        log.warning("%s; falling back to the extractive digest", why)
        result = await ExtractiveSummariser().summarise(stories, topic, window)
        result.notes = [f"{why}; this digest is extractive.", *result.notes]
        result.tokens_in, result.tokens_out = run.tokens_in, run.tokens_out
        return result

    def _failure(self, exc: ModelError) -> str:
        model = self.config.model
        if exc.transient:
            tries = plural(exc.attempts, "attempt")
            return f"The model ({model}) could not be reached after {tries} ({exc.reason})"
        return f"The model ({model}) refused the request ({exc.reason})"

    # ----- calls --------------------------------------------------------------------

    async def _answer(self, run: _Run, part: Sequence[PromptSource]) -> Answer:
        key = cache_key(self.config.model, run.context, part, run.kind)
        if self.store is not None:
            hit = await self.store.cached_answer(key)
            if hit is not None:
                run.cached_parts += 1
                return Answer(hit.answer, key, cached=True)
        completion = await self._call(run, part)
        run.tokens_in += completion.tokens_in
        run.tokens_out += completion.tokens_out
        run.calls += 1
        if self.store is not None:
            await self.store.record_llm_usage(
                self.today(), completion.tokens_in, completion.tokens_out
            )
        return Answer(completion.text, key, False, completion.tokens_in, completion.tokens_out)

    async def _call(self, run: _Run, part: Sequence[PromptSource]) -> Completion:
        """One answer, retried on transient failures, in at most max_total + timeout."""
        attempts = 0
        deadline = self.policy.max_total + self.config.timeout
        try:
            async with asyncio.timeout(deadline):
                async for attempt in retrying(self.policy, is_transient, f"{self.name} call"):
                    with attempt:
                        attempts = attempt.retry_state.attempt_number
                        return await self._create(run, part)
        except TimeoutError:
            error = ModelError(f"no answer within {deadline:.0f}s", transient=True)
            error.attempts = max(1, attempts)
            raise error from None
        except ModelError as exc:
            exc.attempts = max(1, attempts)
            raise
        raise AssertionError("the retry loop ended without an outcome")

    async def _create(self, run: _Run, part: Sequence[PromptSource]) -> Completion:
        """Structured output first; a server that rejects the schema gets plain text, once
        per digest (the next parts go straight to plain text)."""
        if run.structured:
            try:
                return await self._request(run, part, structured=True)
            except ModelError as exc:
                if not exc.rejects_structured_output:
                    raise
                log.warning(
                    "%s: the server refused structured output (%s); asking for plain text",
                    self.name,
                    exc.reason,
                )
                run.structured = False
        return await self._request(run, part, structured=False)

    async def _request(
        self, run: _Run, part: Sequence[PromptSource], structured: bool
    ) -> Completion:
        system = run.context.system()
        if run.kind == "lede":
            user = run.context.brief_user(part)
        else:
            user = run.context.user(part, structured)
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        try:
            response = await run.client.chat.completions.create(
                model=self.config.model,
                messages=messages,
                response_format=ANSWER_FORMAT if structured else openai.omit,
            )
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content if choice is not None else None) or ""
            usage = response.usage
        except openai.APIError as exc:
            raise model_error(exc, self.config) from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # A body the client could not make sense of: a bad answer, not a crash.
            raise ModelError(
                f"unexpected response ({type(exc).__name__})", transient=False
            ) from None
        if choice is not None and choice.finish_reason == "length":
            log.warning("%s answer was cut at the output limit", self.name)
        if usage is not None:
            return Completion(text, usage.prompt_tokens, usage.completion_tokens)
        return Completion(text, count_tokens(system) + count_tokens(user), count_tokens(text))


__all__ = [
    "ANSWER_FORMAT",
    "AnswerStore",
    "LLMSummariser",
    "ModelConfig",
    "ModelError",
    "retry_after_seconds",
]
