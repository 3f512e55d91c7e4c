"""The Belarus digest of the shipped corpus as an editor reads it: each line stands alone
and is about Belarus, passing mentions, adverts and jokes come after the news, and the
JSON says why an item is where it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.digest.lines import stands_alone
from bot.digest.pipeline import build_digest
from bot.digest.render import render_json
from bot.digest.text import sentences
from bot.digest.topics import load_topics
from bot.digest.window import Window
from bot.models import Digest
from bot.store import Store

WINDOW = Window(datetime(2024, 11, 26, tzinfo=UTC), datetime(2024, 12, 5, tzinfo=UTC))


async def belarus_digest(store: Store) -> Digest:
    return await build_digest(store, load_topics()["belarus"], WINDOW, WINDOW.until, limit=50)


def position(digest: Digest, words: str) -> int:
    return next(n for n, item in enumerate(digest.items, start=1) if words in item.text)


async def test_no_line_opens_with_a_dangling_pronoun_or_connective(corpus_store: Store) -> None:
    digest = await belarus_digest(corpus_store)
    assert len(digest.items) >= 25
    for item in digest.items:
        first = sentences(item.text)[0]
        assert stands_alone(first), item.text


async def test_a_report_that_names_belarus_late_is_told_by_its_lead_and_that_sentence(
    corpus_store: Store,
) -> None:
    """BBC's CERN report says "Belarus" once, in its fourth paragraph: the line is the
    headline, then the Belarus sentence; and it is shown as a passing mention."""
    digest = await belarus_digest(corpus_store)
    cern = digest.items[position(digest, "ЦЕРН") - 1]
    assert cern.text.startswith("Европейская организация по ядерным исследованиям с 30 ноября")
    assert cern.text.endswith("Соглашение ЦЕРН с Беларусью истекло в июне этого года.")
    assert cern.relevance_why == "passing mention"


async def test_the_job_advert_and_the_yard_keeper_joke_are_not_in_the_top_ten(
    corpus_store: Store,
) -> None:
    digest = await belarus_digest(corpus_store)
    assert position(digest, "Ищем крутых аналитиков") > 10
    assert position(digest, "дворник") > 10
    # …while the news on Belarus is: Lukashenko on Oreshnik, the CSTO drills in Belarus.
    assert position(digest, "Лукашенко заявил, что на фоне демонстрации") <= 15
    assert position(digest, "Учения ОДКБ в 2025 году пройдут в Белоруссии") <= 3


async def test_every_passing_mention_comes_after_every_central_story(corpus_store: Store) -> None:
    digest = await belarus_digest(corpus_store)
    central = [item.relevance >= 0.5 for item in digest.items]
    assert central == sorted(central, reverse=True)
    items = json.loads(render_json(digest))["items"]
    whys = {item["relevance"]["why"] for item in items}
    assert {"headline", "passing mention", "advert", "not a report"} <= whys


async def test_the_minsk_agreements_are_not_news_about_belarus(corpus_store: Store) -> None:
    """Peskov on Merkel's memoirs and "the deception of the Minsk agreements" names Minsk
    only through the Donbas accords (the topic's `not_about`): a passing mention, after
    the news, while a report from Minsk ("Минск и Москва пересмотрели…") stays central."""
    digest = await belarus_digest(corpus_store)
    peskov = digest.items[position(digest, "Минскими соглашениями") - 1]
    assert peskov.relevance_why == "passing mention"
    minsk = digest.items[position(digest, "Минск и Москва пересмотрели") - 1]
    assert minsk.relevance_why == "headline"
    assert position(digest, "Минскими соглашениями") > position(digest, "Минск и Москва")


def test_a_channels_label_before_its_headline_is_not_part_of_the_line() -> None:
    """Kyiv Independent's update of 14 May, as posted; the line is its news."""
    from bot.digest.extractive import post_line

    post = (
        "Update: Death toll rises to 4 in Kyiv following mass Russian attack.\n\nFour people "
        "are now confirmed dead and at least 40 others are injured as rescue efforts continue."
    )
    assert post_line(post, None).startswith("Death toll rises to 4 in Kyiv following")
    assert post_line("Срочно: В Минске задержали 12 человек у здания суда", None).startswith(
        "В Минске задержали"
    )
    # A colon that is the sentence's own stays: "Update" is not always a label.
    assert post_line("Update: the app now shows the map", None).startswith("Update:")
