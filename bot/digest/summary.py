"""What a summariser is: the protocol every summariser follows, what it returns, and the
built-in extractive one. The model's summariser (`bot.digest.llm`) and the pipeline both
import this module, so neither needs the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.digest.extractive import summarise_stories
from bot.digest.topics import Topic
from bot.digest.window import Window
from bot.models import DigestItem, Story


@dataclass(slots=True)
class SummaryResult:
    """What a summariser made of the ranked stories."""

    items: list[DigestItem]
    summariser: str
    notes: list[str] = field(default_factory=list)
    dropped_items: int = 0
    dropped_citations: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class Summariser(Protocol):
    """Turns ranked stories into digest items. The extractive one needs nothing."""

    name: str
    """Shown in the digest's footer and /status: "extractive" or "llm:<model>"."""

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult: ...


class ExtractiveSummariser:
    """The built-in summariser: the clearest sentence of each story."""

    name = "extractive"

    async def summarise(
        self, stories: Sequence[Story], topic: Topic, window: Window
    ) -> SummaryResult:
        return SummaryResult(items=summarise_stories(stories, topic.focus()), summariser=self.name)
