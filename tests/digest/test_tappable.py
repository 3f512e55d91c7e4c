"""Digest text holds no link that is not a stored post: post text is defanged, model text is
stripped, model references are source numbers only, and link targets are escaped in every
format. "A link" is what Telegram's own entity parser would make tappable."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.digest.pipeline import build_digest
from bot.digest.render import render
from bot.digest.tappable import find_links, top_level_domains
from bot.digest.text import clean_text, defang
from bot.digest.topics import Topic
from bot.digest.verify import Candidate, clean_item_text, lines_by_story, parse_answer
from bot.digest.window import Window
from bot.models import ChannelRef, IncomingPost
from bot.store import Store

# What post authors write to get a link into someone else's digest, and what a reader sees.
DEFANGED = {
    "read @host.com/path": "read host[.]com/path",
    "see evil.support, a.zip and b.dog": "see evil[.]support, a[.]zip and b[.]dog",
    "open tg://resolve?domain=evil": "open tg[:]//resolve?domain=evil",
    "open tg:resolve?domain=evil": "open tg[:]resolve?domain=evil",
    "write admin@evil.com": "write admin@evil[.]com",
    "go to 192.168.0.1/admin": "go to 192[.]168[.]0[.]1/admin",
    "visit evil．com now": "visit evil[.]com now",
    "visit пример.дети now": "visit пример[.]дети now",
    "visit xn--e1afmkfd.xn--p1ai": "visit xn--e1afmkfd[.]xn--p1ai",
    "visit Evil-News.COM/pay": "visit Evil-News[.]COM/pay",
    "ask ＠evil_channel": "ask evil_channel",
    "ask @evil_channel": "ask evil_channel",
    "press /start@evil_bot": "press /start evil_bot",
    "ftp://files.evil.example/x": "ftp[:]//files[.]evil[.]example/x",
}
ORDINARY = [
    "U.S. and E.U. officials, e.g. in Minsk, said 1.5 million people voted.",
    "ул.Ленина, т.е. 1.5 млн; 12.03.2024 в 10.30.",
    "Лукашенко прибыл в Минск. Затем — в Брест.",
    "v1.2.3.4 is a version, 300.1.1.1 is not an address",
]


@pytest.mark.parametrize(("text", "shown"), DEFANGED.items())
def test_post_text_that_telegram_would_link_is_defanged(text: str, shown: str) -> None:
    assert defang(text) == shown
    assert find_links(shown) == []


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert defang(text) == text
    assert clean_item_text(text) == text


@pytest.mark.parametrize("text", DEFANGED)
def test_model_text_loses_every_link_and_handle(text: str) -> None:
    cleaned = clean_item_text(f"Troops moved. {text} Freight stopped.")
    assert cleaned.startswith("Troops moved.") and cleaned.endswith("Freight stopped.")
    assert find_links(cleaned) == [], cleaned
    assert "evil" not in cleaned.lower() and "пример" not in cleaned


def test_the_tld_list_is_complete_and_read_from_the_package_offline() -> None:
    probe = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network in this test')\n"
        "socket.socket = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from bot.digest.tappable import top_level_domains\n"
        "tlds = top_level_domains()\n"
        "print(len(tlds), all(t in tlds for t in ['com', 'support', 'zip', 'dog', 'рф', 'дети', 'xn--p1ai']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    count, everything = result.stdout.split()
    assert int(count) > 1400 and everything == "True"
    assert socket.socket is not None  # this process was not touched
    assert "support" in top_level_domains()


def test_a_reference_is_a_source_number_or_it_is_rejected() -> None:
    answer = json.dumps(
        {"items": [{"text": "Troops moved.",
                    "sources": ["https://t.me/c/1/1", "item 2 of 5", "[3]", "source 4", 5]}]}
    )  # fmt: skip
    assert parse_answer(answer) == [Candidate("Troops moved.", (3, 4, 5), unreadable_sources=2)]
    cut_off = '{"items": [{"text": "Troops moved.", "sources": ["https://t.me/c/1/1"]}, {"te'
    [salvaged] = parse_answer(cut_off) or []
    assert salvaged.sources == () and salvaged.unreadable_sources == 1
    assert lines_by_story([salvaged], {}).dropped_items == 1


HOSTILE_USERNAMES = ["x) [click me](javascript:alert(1)", 'y"><img src=x onerror=alert(1)>']


async def test_link_targets_are_escaped_in_every_format(store: Store) -> None:
    """A channel stored with a name that is no username (an older database, written before
    usernames were checked) still gives inert link targets in text, markdown, html and json."""
    now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    await store.upsert_posts(
        [
            IncomingPost(ChannelRef(username=name, title="Visit evil.com"), 7 + i,
                         now - timedelta(hours=1 + i), f"Минск: колонна техники {i}.")
            for i, name in enumerate(HOSTILE_USERNAMES)
        ]
    )  # fmt: skip
    digest = await build_digest(
        store, Topic.adhoc("Минск"), Window(now - timedelta(days=1), now), now
    )
    outputs: dict[str, Any] = {
        fmt: render(digest, fmt) for fmt in ("text", "markdown", "html", "json")
    }
    urls = [c["url"] for item in json.loads(outputs["json"])["items"] for c in item["citations"]]
    assert len(urls) == 2
    for url in urls:
        assert url.startswith("https://t.me/") and not set(url) & set(" ()[]<>\"'")
    for fmt in ("text", "markdown", "html"):
        out = outputs[fmt]
        assert "](javascript:" not in out, fmt
        assert "<img" not in out, fmt
        # The title is plain text in the sources line, where Telegram would link evil.com.
        sources = next(line for line in out.splitlines() if "Sources:" in line)
        sources = sources.replace("\\", "")  # markdown escapes the brackets
        assert "Visit evil[.]com" in sources and find_links(sources) == [], fmt


def test_post_text_in_an_extractive_item_cannot_link() -> None:
    text = "Минск: пишите на пример.дети, ＠evil, 10.0.0.1 или tg:resolve?domain=x. Колонна прошла."
    cleaned = clean_text(text)
    assert find_links(cleaned) == []
    assert "пример[.]дети" in cleaned and cleaned.endswith("Колонна прошла.")


async def test_an_empty_window_names_the_latest_post_without_a_link_in_its_text(
    store: Store,
) -> None:
    now = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    await store.upsert_posts(
        [IncomingPost(ChannelRef(username="old_news", title="Visit evil.com"), 3,
                      now - timedelta(days=5), "Минск: колонна прошла.")]
    )  # fmt: skip
    digest = await build_digest(
        store, Topic.adhoc("Минск"), Window(now - timedelta(days=1), now), now
    )
    html_out = render(digest, "html")
    text_outside_links = re.sub(r"<a [^>]*>.*?</a>", "", html_out)
    assert "Visit evil[.]com" in text_outside_links
    assert find_links(re.sub(r"<[^>]+>", "", text_outside_links)) == []
