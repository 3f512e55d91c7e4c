"""The built-in sample: invented posts from invented `demo_*` channels about a Belarus
border story, in Ukrainian, Russian and English, with reposts and rewrites.

It is written for wirebrief (no real channel said these words), so `wirebrief demo` and
the tests can show a digest with no token and no network.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.ingest.imports import Rejected, Skipped, read_import_file
from bot.models import IncomingPost

DEMO_FILE = "posts.jsonl"


def demo_path() -> Path:
    return Path(str(resources.files("bot.demo") / DEMO_FILE))


def demo_posts(now: datetime | None = None) -> list[IncomingPost]:
    """The sample posts; with `now`, shifted so the newest is 15 minutes old."""
    posts = []
    for item in read_import_file(demo_path()):
        if isinstance(item, Rejected | Skipped):
            raise RuntimeError(f"the demo sample is broken: {item}")
        posts.append(item)
    if now is None:
        return posts
    shift = now - timedelta(minutes=15) - max(p.date for p in posts)
    return [replace(p, date=p.date + shift) for p in posts]
