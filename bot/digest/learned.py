"""Each channel's boilerplate, learned from its newest posts and remembered between digests.

Learning reads a channel's 200 newest posts and counts their lines: about a millisecond a
channel, every digest, for a result that changes only when the channel posts again. So
the learned keys are kept per channel with the newest message id they were learned at, and
a digest re-learns only the channels that posted since. An edit of an old post does not
re-learn: a signature is a property of hundreds of posts, not of one.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Protocol

from bot.digest.boilerplate import learn

SAMPLE = 200
"""Newest posts per channel that its boilerplate is learned from."""
KEEP = 4096
"""Channels remembered; past this the oldest learned is forgotten."""

_learned: weakref.WeakKeyDictionary[object, dict[int, tuple[int, frozenset[str]]]] = (
    weakref.WeakKeyDictionary()
)
"""Per open store (channel ids are a database's own): channel -> (newest id, keys)."""


class ChannelTexts(Protocol):
    async def newest_message_ids(self, channel_ids: Sequence[int]) -> dict[int, int]: ...

    async def recent_texts(
        self, channel_ids: Sequence[int], per_channel: int = 200
    ) -> dict[int, list[str]]: ...


async def boilerplate_of(
    store: ChannelTexts, channel_ids: Sequence[int]
) -> dict[int, frozenset[str]]:
    """Channel id -> its boilerplate keys (channels with none are left out)."""
    learned = _learned.setdefault(store, {})
    newest = await store.newest_message_ids(channel_ids)
    stale = [c for c, last in newest.items() if learned.get(c, (None,))[0] != last]
    if stale:
        texts = await store.recent_texts(stale, SAMPLE)
        for channel in stale:
            if len(learned) >= KEEP:
                del learned[next(iter(learned))]
            learned[channel] = (newest[channel], learn(texts.get(channel, [])))
    return {c: keys for c in newest if (keys := learned[c][1])}


def forget_learned() -> None:
    """Forget what was learned (for benchmarks of a freshly started process, and tests)."""
    _learned.clear()
