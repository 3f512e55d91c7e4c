"""Case 5: web preview parsing, posts/s, selectolax (the product) against BeautifulSoup+lxml.

Both parse every shared t.me capture (the landing page too: a poller sees those) in
rounds; posts/s counts the posts they return. The BeautifulSoup port must return the same
posts, field for field, or the comparison would mean nothing.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Row
from bench.data import TME_DIR
from bot.ingest.webpreview import parse_preview_page

TARGET = 3.0


def skip_reason() -> str | None:
    if importlib.util.find_spec("bs4") is None or importlib.util.find_spec("lxml") is None:
        return (
            "BeautifulSoup/lxml not installed: pip install -e '.[bench]' "
            "(or beautifulsoup4 lxml) to run case 5"
        )
    if not TME_DIR.is_dir():
        return f"the t.me captures are not at {TME_DIR}"
    return None


def _rate(parse: Any, pages: list[str], rounds: int) -> tuple[float, int]:
    posts = 0
    start = time.perf_counter()
    for _ in range(rounds):
        for html in pages:
            posts += len(parse(html).posts)
    return posts / (time.perf_counter() - start), posts


def run(ctx: Context) -> dict[str, Any]:
    from bench.bs4_preview import comparable, parse_page

    files = sorted(Path(TME_DIR).glob("*.html"))
    pages = [f.read_text(encoding="utf-8") for f in files]
    mismatched = []
    for path, html in zip(files, pages, strict=True):
        product = [comparable(p) for p in parse_preview_page(html).posts]
        port = [comparable(p) for p in parse_page(html).posts]
        if product != port:
            mismatched.append(path.name)
    if mismatched:
        raise SystemExit(f"bench: the BeautifulSoup port reads {mismatched} differently")
    rounds = 5 if ctx.quick else 40
    _rate(parse_preview_page, pages, 2)  # warm-up: imports, caches
    _rate(parse_page, pages, 2)
    ours_rates: list[float] = []
    bs4_rates: list[float] = []
    for _ in range(3):
        ours_rates.append(_rate(parse_preview_page, pages, rounds)[0])
        bs4_rates.append(_rate(parse_page, pages, max(1, rounds // 4))[0])
    ours, theirs = max(ours_rates), max(bs4_rates)
    posts_per_round = sum(len(parse_preview_page(h).posts) for h in pages)
    ratio = ours / theirs
    return {
        "rows": [
            Row(
                "5 parse",
                f"{len(files)} pages",
                f"posts/s ({posts_per_round} posts a round)",
                f"{ours:,.0f}",
                f"{theirs:,.0f}",
                ratio,
                f"≥ {TARGET:g}× BeautifulSoup+lxml",
                ratio >= TARGET,
            )
        ],
        "details": {
            "files": [f.name for f in files],
            "posts_per_round": posts_per_round,
            "selectolax_posts_per_s": [round(r) for r in ours_rates],
            "bs4_lxml_posts_per_s": [round(r) for r in bs4_rates],
            "same_output": True,
            "ratio": round(ratio, 2),
        },
    }
