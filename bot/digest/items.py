"""A story as a digest item: its line, every post cited, and what a reader needs to weigh
it (how many channels, how many of them independent, who was first, which figures differ).

One constructor for the extractive summariser and the model's checked lines, so both kinds
of item carry the same provenance.
"""

from __future__ import annotations

from bot.digest.figures import changed_figures
from bot.models import Citation, DigestItem, FigureDifference, FigureReading, Story


def story_item(story: Story, text: str, source: str = "extractive") -> DigestItem:
    """The item telling `story` with `text` (already checked by whoever wrote it)."""
    return DigestItem(
        text=text,
        citations=[Citation.of(post) for post in story.posts],
        channel_count=len(story.channels),
        post_count=len(story.posts),
        first_date=story.first_date,
        last_date=story.last_date,
        edited=any(post.edited for post in story.posts),
        independent_count=len(story.independent_channels),
        first=Citation.of(story.first),
        figures=[
            FigureDifference(
                change.kind,
                tuple(FigureReading(r.value, Citation.of(r.post)) for r in change.reports),
            )
            for change in changed_figures(story)
        ],
        source=source,
        relevance=story.relevance,
        relevance_why=story.relevance_why,
    )
