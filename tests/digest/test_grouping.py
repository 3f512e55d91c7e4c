"""Grouping puts one event's reports together across channels and languages, and keeps
different events with shared words apart. Cases are real posts of the shared corpus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.demo import demo_posts
from bot.digest.grouping import DEFAULT_PARAMS, group_posts
from bot.models import Channel, Post, Story
from bot.store import Store

SINCE = datetime(2024, 11, 26, tzinfo=UTC)
UNTIL = datetime(2024, 12, 5, tzinfo=UTC)
RIA, EARLIER = 1101170442, 1394050290  # РИА Новости, «Раньше всех. Ну почти.»


def story_of(stories: Sequence[Story], peer_id: int, message_id: int) -> Story:
    for story in stories:
        for post in story.posts:
            if post.channel.peer_id == peer_id and post.message_id == message_id:
                return story
    raise AssertionError(f"post {peer_id}/{message_id} is not in any story")


async def window_stories(store: Store, **params: object) -> list[Story]:
    posts = await store.posts_in_window(SINCE, UNTIL)
    return group_posts(posts, replace(DEFAULT_PARAMS, **params))  # type: ignore[arg-type]


async def test_csto_summit_and_csto_drills_stay_apart(corpus_store: Store) -> None:
    # Even with no time limit the two CSTO posts are different events.
    stories = await window_stories(corpus_store, max_gap=timedelta(days=30))
    summit = story_of(stories, EARLIER, 194889)  # CSTO summit opens in Astana
    drills = story_of(stories, RIA, 271638)  # CSTO drills in 2025 in Belarus, Kazakhstan…
    assert summit is not drills
    assert drills is story_of(stories, EARLIER, 195302)  # …and its repost is with it


async def test_reposts_and_rewrites_across_channels_are_one_story(corpus_store: Store) -> None:
    stories = await window_stories(corpus_store)
    # Shoigu on the nuclear umbrella, two channels, different punctuation and emoji.
    assert story_of(stories, RIA, 270852) is story_of(stories, EARLIER, 194878)
    # "Day of the Marines" decree: seven channels, subscribe footers, rewrites.
    marines = story_of(stories, RIA, 270671)
    assert len(marines.channels) == 7
    # The OSAGO law rewritten by two Moscow channels ("Белоруссии" vs "Беларуси").
    osago = story_of(stories, 1747110091, 19486)
    assert any(p.message_id == 27066 for p in osago.posts)


async def test_stories_do_not_swallow_unrelated_posts(corpus_store: Store) -> None:
    stories = await window_stories(corpus_store)
    marines = story_of(stories, RIA, 270671)
    assert all("морской пехоты" in p.text or "морпех" in p.text.lower() for p in marines.posts)
    # The asteroid over Yakutia and the South Korean martial law, the same afternoon.
    assert story_of(stories, RIA, 271536) is not story_of(stories, RIA, 271555)


async def test_most_of_a_busy_window_stays_single(corpus_store: Store) -> None:
    posts = await corpus_store.posts_in_window(SINCE, UNTIL)
    stories = group_posts(posts)
    biggest = max(len(s.posts) for s in stories)
    assert len(posts) > 3000
    assert len(stories) > 0.6 * len(posts)  # grouping merges reposts, not the whole window
    assert biggest < 80


def test_one_event_in_ukrainian_russian_and_english_is_one_story() -> None:
    channels: dict[str, Channel] = {}
    posts = []
    for index, incoming in enumerate(demo_posts()):
        ref = incoming.channel
        channel = channels.setdefault(
            ref.username or "", Channel(len(channels) + 1, None, ref.username, ref.title)
        )
        posts.append(Post(index + 1, channel, incoming.message_id, incoming.date, incoming.text))
    stories = group_posts(posts)
    troops = next(s for s in stories if any(p.message_id == 4101 for p in s.posts))
    assert {p.message_id for p in troops.posts} == {4101, 8812, 55120, 3307, 1290, 899}
    readiness = next(s for s in stories if any(p.message_id == 3309 for p in s.posts))
    assert {p.message_id for p in readiness.posts} == {3309, 77410, 8815, 1292}
    # The air-raid posts about Kyiv are not part of any Belarus story.
    raid = next(s for s in stories if any(p.message_id == 8824 for p in s.posts))
    assert not {4101, 3309} & {p.message_id for p in raid.posts}


def test_time_gap_separates_repeated_wording() -> None:
    channel = Channel(1, None, "a", "A")
    text = "Лукашенко провёл совещание по безопасности границы с Польшей и Литвой"
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    posts = [Post(1, channel, 1, t0, text), Post(2, channel, 2, t0 + timedelta(days=5), text)]
    assert len(group_posts(posts)) == 2
    longer = replace(DEFAULT_PARAMS, max_gap=timedelta(days=6), short_gap=timedelta(days=6))
    assert len(group_posts(posts, longer)) == 1


def test_the_same_short_alert_hours_apart_is_two_alerts() -> None:
    """The air force posts "БпЛА у напрямку Запоріжжя." at 08:36 and again at 23:01 (real
    posts 61856 and 61890 of kpszsu): two alerts, not one story of two posts."""
    channel = Channel(1, None, "kpszsu", "Повітряні сили")
    text = "БпЛА у напрямку Запоріжжя."
    t0 = datetime(2026, 5, 14, 8, 36, tzinfo=UTC)
    posts = [
        Post(1, channel, 61856, t0, text),
        Post(2, channel, 61890, t0 + timedelta(hours=14, minutes=25), text),
    ]
    assert len(group_posts(posts)) == 2
    copies = [Post(3, channel, 3, t0, text), Post(4, channel, 4, t0 + timedelta(minutes=20), text)]
    assert len(group_posts(copies)) == 1  # posted twice within minutes: one alert
