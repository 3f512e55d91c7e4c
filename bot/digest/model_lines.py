"""A model digest keyed by story: each story gets the model's line if that line is
supported by the story's posts, else its extractive line. So a model digest never covers
fewer stories than the extractive one, and no model sentence is shown that its cited posts
do not support. Pure: the closeness of each line (embeddings) is computed by the caller.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.digest.extractive import best_text, summarise_story
from bot.digest.items import story_item
from bot.digest.support import check_line
from bot.digest.text import sentences
from bot.digest.verify import Candidate, StoryLines, clean_item_text
from bot.models import DigestItem, Story

SKIPPED = "the model wrote no line"


@dataclass(slots=True)
class KeyedItems:
    items: list[DigestItem]
    model_lines: int = 0
    kept_extractive: Counter[str] = field(default_factory=Counter)
    """Why stories kept their extractive line, by reason, for the digest's note."""


def keyed_items(
    stories: Sequence[Story],
    lines: StoryLines,
    focus: re.Pattern[str] | None,
    closeness: Mapping[int, float] | None = None,
) -> KeyedItems:
    """One item per story in rank order (story n is source n of the prompt)."""
    result = KeyedItems([])
    for number, story in enumerate(stories, start=1):
        line = lines.lines.get(number)
        if line is not None:
            support = check_line(line, story, (closeness or {}).get(number))
            if support.ok:
                result.items.append(story_item(story, line, source="model"))
                result.model_lines += 1
                continue
            reason = support.reason
        else:
            reason = SKIPPED
        item = summarise_story(story, focus)
        if item is not None:
            result.items.append(item)
            result.kept_extractive[_kind(reason)] += 1
    return result


def _kind(reason: str) -> str:
    """Reasons grouped for a one-line note: which figure or name does not matter there."""
    if reason.startswith("the figure"):
        return "a figure not in its posts"
    if reason.startswith("the date"):
        return "a date not in its posts"
    if reason.startswith("“"):
        return "a name or place not in its posts"
    if reason.startswith("its meaning"):
        return "meaning far from its posts"
    return reason


def note_for(keyed: KeyedItems, model: str) -> str | None:
    """ "The model (m) wrote 7 of 10 lines; 3 stories kept their extractive line: …"."""
    kept = sum(keyed.kept_extractive.values())
    if not kept:
        return None
    total = keyed.model_lines + kept
    why = "; ".join(f"{n} {reason}" for reason, n in keyed.kept_extractive.most_common())
    return (
        f"The model ({model}) wrote {keyed.model_lines} of {total} lines; "
        f"{kept} {'story keeps its' if kept == 1 else 'stories keep their'} extractive "
        f"line ({why})."
    )


MAX_LEDE_SENTENCES = 3


@dataclass(frozen=True, slots=True)
class LedeLine:
    """A lede sentence: its text, the story numbers it cites, who wrote it."""

    text: str
    stories: tuple[int, ...]
    source: str


@dataclass(slots=True)
class CheckedLede:
    lines: list[LedeLine] = field(default_factory=list)
    replaced: Counter[str] = field(default_factory=Counter)
    """Model sentences that failed their check, by reason."""
    dropped: int = 0
    """Sentences that cited no story of the prompt."""


def checked_lede(
    candidates: Sequence[Candidate],
    sources: Mapping[int, Story],
    focus: re.Pattern[str] | None,
) -> CheckedLede:
    """The model's lede, sentence by sentence: each sentence must be supported by the posts
    of the stories it cites (`support.check_line`); one that is not is replaced by the
    extractive line of its first story (once per story), never shown."""
    result = CheckedLede()
    told: set[int] = set()
    for candidate in candidates:
        known = tuple(n for n in dict.fromkeys(candidate.sources) if n in sources)
        text = clean_item_text(candidate.text)
        if not known or not text:
            result.dropped += 1
            continue
        cited = Story([post for n in known for post in sources[n].posts])
        for sentence in sentences(text):
            if len(result.lines) >= MAX_LEDE_SENTENCES:
                return result
            support = check_line(sentence, cited)
            if support.ok:
                result.lines.append(LedeLine(sentence, known, "model"))
                told.update(known)
                continue
            result.replaced[_kind(support.reason)] += 1
            if known[0] not in told:
                line = best_text(sources[known[0]], focus)
                if line:
                    result.lines.append(LedeLine(line, known[:1], "extractive"))
                    told.add(known[0])
    return result


def lede_note(lede: CheckedLede, model: str) -> str | None:
    """ "2 sentences of the model's lede (m) were replaced by extractive lines: …"."""
    replaced = sum(lede.replaced.values())
    if not replaced:
        return None
    why = "; ".join(f"{n} {reason}" for reason, n in lede.replaced.most_common())
    which = "sentence" if replaced == 1 else "sentences"
    return (
        f"{replaced} {which} of the model's lede ({model}) failed the check and "
        f"{'was' if replaced == 1 else 'were'} replaced by extractive lines ({why})."
    )
