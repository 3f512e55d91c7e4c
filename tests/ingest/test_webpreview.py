"""Tests for the t.me/s/ web preview parser.

Real captures live outside the repository (/work/shared/fixtures/tme, read-only); the tests
that need them skip when the folder is missing. Hand-written pages in `pages/` cover what the
captures do not show (reply quotes next to text, signatures, links with &amp;, service
messages, "No posts found", broken widgets).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.webpreview import MAX_NESTING, PreviewPage, parse_preview_page, parse_views
from bot.models import IncomingPost

PAGES_DIR = Path(__file__).resolve().parent / "pages"
PLACEHOLDER = "Please open Telegram"

CLASH_IDS = [
    93429, 93430, 93433, 93434, 93436, 93437, 93438, 93439, 93440,
    93441, 93442, 93443, 93444, 93445, 93446, 93447, 93448,
]  # fmt: skip
TOPWAR_IDS = [70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]


@pytest.fixture(scope="module")
def capture(tme_dir: Path) -> Callable[[str], PreviewPage]:
    """Parse a shared capture by file name (cached: each file is parsed once per module)."""
    cache: dict[str, PreviewPage] = {}

    def load(name: str) -> PreviewPage:
        if name not in cache:
            cache[name] = parse_preview_page((tme_dir / name).read_text("utf-8"), name)
        return cache[name]

    return load


@pytest.fixture(scope="module")
def demo() -> PreviewPage:
    return parse_preview_page((PAGES_DIR / "demo_page.html").read_text("utf-8"), "demo_page")


def by_id(page: PreviewPage) -> dict[int, IncomingPost]:
    return {post.message_id: post for post in page.posts}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ----- real captures --------------------------------------------------------------------


def test_clashreport_page(capture: Callable[[str], PreviewPage]) -> None:
    page = capture("clashreport_page.html")
    assert page.is_preview and not page.no_posts
    assert (page.channel, page.title) == ("ClashReport", "Clash Report")
    assert [post.message_id for post in page.posts] == CLASH_IDS
    assert (page.before, page.after) == (93429, None)
    assert page.problems == []

    posts = by_id(page)
    first = posts[93429]
    assert first.channel.username == "ClashReport"
    assert first.channel.title == "Clash Report"
    assert first.date == utc(2026, 8, 24, 3, 46, 52)
    assert first.views == 3120  # "3.12K"
    assert first.media_kind == "photo"
    assert first.text.startswith(
        "U.S. Treasury Secretary Scott Bessent says Washington is entering the “endgame”"
    )
    # <br/><br/> then a <blockquote>: one blank line, no stray spaces around it
    assert "commercial ties.\n\nHe warned that countries" in first.text
    assert first.text.endswith("weaken the Iranian economy.\n\nSource: FT")
    assert posts[93448].views == 697
    assert posts[93448].date == utc(2026, 8, 24, 7, 11, 1)


def test_clashreport_albums_are_one_post_each(capture: Callable[[str], PreviewPage]) -> None:
    posts = by_id(capture("clashreport_page.html"))
    # 93430 is an album of 93430..93432 (its caption nested in two text blocks), 93434 of 93434..93435
    assert posts[93430].media_kind == "album"
    assert posts[93434].media_kind == "album"
    assert not {93431, 93432, 93435} & set(posts)
    caption = "Ukrainian drones targeted three Ozon logistics hubs"
    assert posts[93430].text.startswith(caption)
    assert posts[93430].text.count(caption) == 1


def test_clashreport_reply_quote_is_not_the_text(capture: Callable[[str], PreviewPage]) -> None:
    post = by_id(capture("clashreport_page.html"))[93433]
    assert post.reply_to == 93428
    assert post.text == (
        "Britain will support Ukraine’s long-range missile production by allowing MBDA to "
        "share classified information on British components used in the SCALP cruise missile."
    )
    assert "Andy Burnham" not in post.text  # the quoted post's words
    assert post.media_kind is None


def test_clashreport_edited_post_marks_edit_date(capture: Callable[[str], PreviewPage]) -> None:
    posts = by_id(capture("clashreport_page.html"))
    edited = [post.message_id for post in posts.values() if post.edit_date is not None]
    assert edited == [93437]
    assert posts[93437].edit_date == posts[93437].date == utc(2026, 8, 24, 4, 32, 18)
    assert posts[93437].views == 3060  # "3.06K"
    assert posts[93437].media_kind == "video"


def test_topwar_page(capture: Callable[[str], PreviewPage]) -> None:
    page = capture("topwar_official_page.html")
    assert page.is_preview and not page.no_posts
    assert (page.channel, page.title) == ("topwar_official", "Военное обозрение")
    assert [post.message_id for post in page.posts] == TOPWAR_IDS
    assert (page.before, page.after) == (70989, None)
    assert page.problems == []

    first = by_id(page)[70989]
    assert first.views == 37200  # "37.2K"
    assert first.date == utc(2023, 2, 28, 7, 47, 53)
    assert first.media_kind == "photo"
    # the capture is re-indented: the newlines+spaces inside text nodes are not line breaks,
    # the one <br/> is
    assert first.text == (
        "В Санкт-Петербурге в небо над городом подняли истребители из-за неизвестного объекта "
        "в воздухе, аэропорт Пулково не принимает самолеты, сообщает Baza.\n"
        "Судя по сервису Flightradar, гражданские самолеты не приближаются к Санкт-Петербургу."
    )


def test_topwar_whitespace_is_collapsed_everywhere(capture: Callable[[str], PreviewPage]) -> None:
    for post in capture("topwar_official_page.html").posts:
        assert "  " not in post.text, post.message_id
        assert all(line == line.strip() for line in post.text.split("\n")), post.message_id
        assert "\n\n\n" not in post.text, post.message_id


def test_topwar_albums_are_one_post_each(capture: Callable[[str], PreviewPage]) -> None:
    posts = by_id(capture("topwar_official_page.html"))
    # 70992 = photos 70992, 70993 + video 70994; 71000 = photos 71000..71005
    assert posts[70992].media_kind == "album"
    assert posts[71000].media_kind == "album"
    assert not {70993, 70994, 71001, 71002, 71003, 71004, 71005} & set(posts)
    assert posts[70992].text.startswith("Сегодня ночью в Республике Адыгея упал")
    assert (
        posts[71000].text
        == "Последствия ночного удара БПЛА-камикадзе ВСУ по нефтебазе в Туапсе сегодня ночью."
    )


def test_topwar_forwards(capture: Callable[[str], PreviewPage]) -> None:
    posts = by_id(capture("topwar_official_page.html"))
    forwarded = {post.message_id: post.forwarded_from for post in posts.values()}
    assert forwarded == {
        70989: None,
        70990: None,
        70992: None,
        70995: None,
        70996: "Военкор Ярем",
        70997: None,
        70998: "БелВПО",
        70999: None,
        71000: None,
        71006: "Старше Эдды",
        71007: "Пул N3",
        71008: "ImpNavigator",
    }
    assert posts[70998].media_kind == "photo"
    assert posts[70998].text.startswith(
        "Новые ракетные корабли ВМФ РФ с Калибрами вышли на учения в Балтийское море\n\n"
        'Малые ракетные корабли проектов 22800 "Каракурт"'
    )
    assert posts[71006].media_kind == "video"


def test_topwar_links_and_link_preview(capture: Callable[[str], PreviewPage]) -> None:
    post = by_id(capture("topwar_official_page.html"))[70996]
    assert post.media_kind == "link_preview"
    assert "на расстояние 180 метров (https://t.me/infantmilitario/93419)" in post.text
    # a mention keeps its text only; the preview's title comes last, on its own line
    assert post.text.endswith("стелы с МиГ-17.\n\n@yaremshooter\n\nМилитарист")
    assert "(https://t.me/yaremshooter)" not in post.text


def test_poll_post(capture: Callable[[str], PreviewPage]) -> None:
    page = capture("it_begin_poll_post.html")
    assert page.is_preview and page.channel == "it_begin"
    [post] = page.posts
    assert post.message_id == 488
    assert post.media_kind == "poll"
    assert post.views == 1100  # "1.1K", not the 222 voters
    assert post.date == utc(2023, 2, 27, 16, 21, 2)
    assert post.text == (
        "Как лучше?\n"
        "• Несколько постов в день\n"
        "• Один пост в несколько дней\n"
        "• Свой вариант в комментарии"
    )
    assert "Anonymous Poll" not in post.text and "%" not in post.text


def test_voice_post_forwarded_from_hidden_profile(capture: Callable[[str], PreviewPage]) -> None:
    [post] = capture("oper_goblin_voice_post.html").posts
    assert (post.channel.username, post.message_id) == ("oper_goblin", 939)
    assert post.media_kind == "voice"
    assert post.forwarded_from == "Спортивный Екб"  # a span, not a link
    assert post.views == 746
    assert post.date == utc(2018, 4, 24, 15, 28, 46)
    assert post.text.startswith("Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы")
    assert post.text.endswith("Слушайте: @kakberadio\nПишите нам: @kakberadiobot")
    assert "27:40" not in post.text  # the voice note's duration


def test_landing_page_is_not_a_preview(capture: Callable[[str], PreviewPage]) -> None:
    page = capture("durov_landing_page.html")
    assert page.is_preview is False
    assert page.posts == [] and page.no_posts is False
    assert (page.channel, page.title) == ("durov", "Pavel Durov")
    assert (page.before, page.after) == (None, None)


CAPTURES = [
    "clashreport_page.html",
    "topwar_official_page.html",
    "it_begin_poll_post.html",
    "oper_goblin_voice_post.html",
]


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_posts_are_complete(capture: Callable[[str], PreviewPage], name: str) -> None:
    """Every post has a text, a UTC date and views; no signatures in these captures."""
    for post in capture(name).posts:
        assert post.text.strip(), post.message_id
        assert PLACEHOLDER not in post.text and "VIEW IN TELEGRAM" not in post.text
        assert post.date.tzinfo is UTC
        assert post.views is not None and post.views > 0
        assert post.author is None
        assert post.channel.peer_id is None


@pytest.mark.parametrize("cut", [1_000, 15_000, 40_000, 64_000, 90_000, 127_000])
def test_truncated_capture_never_raises(tme_dir: Path, cut: int) -> None:
    html = (tme_dir / "clashreport_page.html").read_text("utf-8")[:cut]
    page = parse_preview_page(html)
    assert {post.message_id for post in page.posts} <= set(CLASH_IDS)
    assert len(page.posts) < len(CLASH_IDS)


def test_truncated_last_post_is_reported(tme_dir: Path) -> None:
    # the capture ends 127,682 characters in; the last post's <time> starts at 127,056
    html = (tme_dir / "clashreport_page.html").read_text("utf-8")[:127_000]
    page = parse_preview_page(html, "cut")
    assert [post.message_id for post in page.posts] == CLASH_IDS[:-1]
    assert page.problems == ["cut: post ClashReport/93448: no date; skipped"]


# ----- hand-written cases ---------------------------------------------------------------


def test_demo_page_overview(demo: PreviewPage) -> None:
    assert demo.is_preview and not demo.no_posts
    assert (demo.channel, demo.title) == ("demo", "Demo Channel")
    assert (demo.before, demo.after) == (10, 21)
    # 10 is a service message, 13 has no date, 16 belongs to the album 15
    assert [post.message_id for post in demo.posts] == [11, 12, 14, 15, 18, 19, 20]


def test_reply_quote_br_emoji_signature_edited(demo: PreviewPage) -> None:
    post = by_id(demo)[11]
    assert post.text == "Fire at the depot 🔥\nSecond line\n\nThird paragraph"
    assert post.reply_to == 9
    assert post.author == "Jane Doe"
    assert post.views == 37200
    assert post.edit_date == post.date == utc(2026, 3, 1, 9, 15)
    assert post.media_kind is None


def test_never_the_open_telegram_placeholder(demo: PreviewPage) -> None:
    for post in demo.posts:
        assert PLACEHOLDER not in post.text
        assert "VIEW IN TELEGRAM" not in post.text
    assert by_id(demo)[14].text == "The anthem, remastered"


def test_links(demo: PreviewPage) -> None:
    post = by_id(demo)[12]
    assert post.text == (
        "Read the report (https://example.com/search?q=drones&page=2) "
        "and the map (https://example.org/map?x=1&y=2), "
        "see https://news.example.net/live via news.example.net/live, ask @someone #breaking"
    )
    assert post.views == 1_500_000
    assert post.author == "Edited Desk"
    assert post.edit_date is None  # "Edited" in the signature is not the edited mark


def test_shortened_url_text_becomes_the_full_url() -> None:
    html = (
        '<div class="tgme_widget_message" data-post="demo/30">'
        '<div class="tgme_widget_message_text">Source: '
        '<a href="https://example.com/a/very/long/path?id=7">https://example.com/a/very/lo…</a>'
        '</div><a class="tgme_widget_message_date"><time datetime="2026-03-02T00:00:00+00:00">'
        "</time></a></div>"
    )
    [post] = parse_preview_page(html).posts
    assert post.text == "Source: https://example.com/a/very/long/path?id=7"


def test_forward_from_span_music_and_bad_views(demo: PreviewPage) -> None:
    post = by_id(demo)[14]
    assert post.forwarded_from == "Hidden Person"
    assert post.media_kind == "audio"
    assert post.views is None
    assert post.date == utc(2026, 3, 1, 11, 0)  # +01:00 on the page
    assert "demo_page: post demo/14: unreadable views 'many'" in demo.problems


def test_album_item_shown_separately_is_merged(demo: PreviewPage) -> None:
    posts = by_id(demo)
    assert 16 not in posts
    assert posts[15].media_kind == "album"
    assert posts[15].text == "Album caption\n\nSecond item's own caption"
    assert posts[15].views == 812


def test_link_preview_title_and_foreign_reply(demo: PreviewPage) -> None:
    post = by_id(demo)[18]
    assert post.media_kind == "link_preview"
    assert post.text == "Worth reading\n\nCeasefire talks resume"
    assert post.reply_to is None  # a reply to another channel's post 555 is not our 555
    assert "Someone else's post" not in post.text


def test_other_media_kinds(demo: PreviewPage) -> None:
    posts = by_id(demo)
    assert (posts[19].media_kind, posts[19].text) == ("sticker", "")
    assert (posts[20].media_kind, posts[20].text) == ("document", "Full report attached")


def test_skipped_posts_are_reported(demo: PreviewPage) -> None:
    assert demo.problems == [
        "demo_page: post demo/13: no date; skipped",
        "demo_page: message #5: no readable id (''); skipped",
        "demo_page: post demo/14: unreadable views 'many'",
    ]
    assert not any("demo/10" in problem for problem in demo.problems)  # service: no problem


def test_no_posts_found_page() -> None:
    page = parse_preview_page((PAGES_DIR / "no_posts_page.html").read_text("utf-8"))
    assert page.is_preview is True
    assert page.no_posts is True
    assert page.posts == [] and page.problems == []
    assert (page.channel, page.title) == ("demo", "Demo Channel")


def test_only_service_messages_is_not_no_posts() -> None:
    html = (
        '<section class="tgme_channel_history">'
        '<div class="tgme_widget_message service_message" data-post="demo/1">'
        '<div class="tgme_widget_message_text">Channel created</div>'
        '<a class="tgme_widget_message_date"><time datetime="2026-01-01T00:00:00+00:00"></time></a>'
        "</div></section>"
    )
    page = parse_preview_page(html)
    assert page.is_preview and page.posts == [] and page.no_posts is False


def deep_page(depth: int) -> str:
    return (
        '<div class="tgme_widget_message" data-post="deep/1">'
        '<div class="tgme_widget_message_text">'
        + "<span>" * depth
        + "deep"
        + "</span>" * depth
        + '</div><a class="tgme_widget_message_date"><time datetime="2026-01-01T00:00:00Z">'
        "</time></a></div>"
    )


def test_deep_nesting_does_not_recurse() -> None:
    # Deeper than Python's recursion limit, within what the parser is allowed to read.
    [post] = parse_preview_page(deep_page(MAX_NESTING - 10)).posts
    assert post.text == "deep"
    assert post.date == utc(2026, 1, 1)


def test_nesting_too_deep_to_parse_in_time_is_refused_with_a_reason() -> None:
    page = parse_preview_page(deep_page(200_000), source="@deep")
    assert not page.is_preview and not page.posts
    assert page.problems == ["@deep: tags nested more than 5,000 deep; not read"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("37.2K", 37_200),
        ("1.5M", 1_500_000),
        ("812", 812),
        ("3.06K", 3_060),
        ("4.35K", 4_350),  # 4.35 * 1000 is 4349.999... in floating point
        ("2.01M", 2_010_000),
        ("1.1K", 1_100),
        ("2B", 2_000_000_000),
        (" 12k ", 12_000),
        ("1 204", 1_204),
        ("1,204", 1_204),
        ("0", 0),
    ],
)
def test_parse_views(text: str, expected: int) -> None:
    assert parse_views(text) == expected


@pytest.mark.parametrize("junk", ["", " ", "many", "K", "1.5", "-5", "12KK", "1.2.3K", "٣K", "1e3"])
def test_parse_views_junk(junk: str) -> None:
    assert parse_views(junk) is None


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n",
        "\x00\x01\x02",
        "<",
        "<div class='tgme_widget_message' data-post='a/1'>",
        "<html><body><p>Just a page</p></body></html>",
        "\ud800 lone surrogate <div class=tgme_widget_message data-post=x/y>",
    ],
)
def test_garbage_never_raises(html: str) -> None:
    page = parse_preview_page(html)
    assert page.posts == []


def test_random_bytes_never_raise() -> None:
    rng = random.Random(20260301)
    for _ in range(50):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        for text in (blob.decode("utf-8", "replace"), blob.decode("latin-1")):
            page = parse_preview_page(text)
            assert page.is_preview is False and page.posts == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                '<div class="tgme_widget_message" data-post="c/7">',
                '<div class="tgme_widget_message_text">',
                '<a class="tgme_widget_message_reply" href="https://t.me/c/3">',
                '<time datetime="2026-01-01T00:00:00+00:00">',
                '<time datetime="not a date">',
                '<span class="tgme_widget_message_views">',
                '<a href="https://x.org/?a=1&amp;amp;b">',
                "<br>",
                "</div>",
                "</a>",
                "9.9K",
                "text",
                "<",
                '"',
            ]
        )
        | st.text(max_size=20),
        max_size=40,
    )
)
def test_fuzzed_fragments_never_raise(parts: list[str]) -> None:
    page = parse_preview_page("".join(parts))
    for post in page.posts:
        assert post.date.tzinfo is UTC
        assert post.message_id > 0
