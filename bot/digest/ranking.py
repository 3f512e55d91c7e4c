"""Ranking stories the way a wire editor reads them: most confirmed first."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Story


def rank_stories(stories: Sequence[Story]) -> list[Story]:
    """Distinct channels first (confirmation), then the latest report, then total views."""
    return sorted(
        stories,
        key=lambda s: (len(s.channels), s.last_date, s.views, -s.posts[0].id),
        reverse=True,
    )
