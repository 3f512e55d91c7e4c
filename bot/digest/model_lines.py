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

from bot.digest.extractive import summarise_story
from bot.digest.items import story_item
from bot.digest.support import check_line
from bot.digest.verify import StoryLines
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
