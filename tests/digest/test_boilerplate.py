"""A channel's boilerplate is learned from its newest stored posts and remembered between
digests: learned again when the channel has posted since, never shared between databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.digest.boilerplate import line_key
from bot.digest.learned import boilerplate_of
from bot.models import ChannelRef, IncomingPost
from bot.store import Store, open_store

START = datetime(2026, 5, 1, tzinfo=UTC)
NEWS = ["Удар по Одесі", "Обстріл Харкова", "Сумщина без світла", "Новини з Дніпра"]


def posts(channel: str, first_id: int, footer: str, count: int = 12) -> list[IncomingPost]:
    return [
        IncomingPost(ChannelRef(username=channel), first_id + n, START + timedelta(minutes=first_id + n),
                     f"{NEWS[n % len(NEWS)]}: подробиці {n} ще текст новини\n{footer}")
        for n in range(count)
    ]  # fmt: skip


async def keys_of(store: Store, channel: str) -> frozenset[str]:
    found = await store.find_channel(channel)
    assert found is not None
    return (await boilerplate_of(store, [found.id])).get(found.id, frozenset())


async def test_a_new_footer_is_learned_once_the_channel_posts_with_it(store: Store) -> None:
    await store.upsert_posts(posts("wire", 1, "👉 Wire Live. Подписаться"))
    assert line_key("👉 Wire Live. Подписаться") in await keys_of(store, "wire")
    # The channel changes its signature: 200 newest posts now end with the new one.
    await store.upsert_posts(posts("wire", 100, "Читать нас без VPN: wire.example", count=200))
    learned = await keys_of(store, "wire")
    assert line_key("Читать нас без VPN: wire.example") in learned
    assert line_key("👉 Wire Live. Подписаться") not in learned


async def test_two_databases_do_not_share_what_was_learned(store: Store, tmp_path: Path) -> None:
    """Channel ids are each database's own: channel 1 with message 12 in both."""
    await store.upsert_posts(posts("wire", 1, "👉 Wire Live. Подписаться"))
    other = await open_store(tmp_path / "other.db")
    try:
        await other.upsert_posts(posts("desk", 1, "— Desk, since 1991"))
        assert line_key("— Desk, since 1991") in await keys_of(other, "desk")
        assert line_key("👉 Wire Live. Подписаться") in await keys_of(store, "wire")
        assert line_key("— Desk, since 1991") not in await keys_of(store, "wire")
    finally:
        await other.close()
