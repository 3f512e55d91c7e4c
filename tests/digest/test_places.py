"""Cities as the channels write them: one place in three languages and their cases; a
region or a name that starts with a city is not the city; the headline's city first."""

from __future__ import annotations

import pytest

from bot.digest.figures import figures_of
from bot.digest.places import places_named


@pytest.mark.parametrize(
    "text, city",
    [
        ("Death toll rises to 4 in Kyiv following mass Russian attack", "kyiv"),
        ("Кацапня убила в Киеве 12-летнюю девочку", "kyiv"),
        ("відомо вже про п’ятьох загиблих у Києві", "kyiv"),
        ("Россия атаковала центр Харькова, есть раненые", "kharkiv"),
        ("У Харкові вже 28 постраждалих", "kharkiv"),
        ("русня массировано атаковала Одессу «Шахедами»", "odesa"),
        ("Сімом постраждалим у Херсоні", "kherson"),
        ("російський удар по Кривому Розі", "kryvyi_rih"),
        ("ракетный удар по Кривом Роге", "kryvyi_rih"),
    ],
)
def test_a_city_is_one_place_in_every_language_and_case(text: str, city: str) -> None:
    assert places_named(text) == [city]


@pytest.mark.parametrize(
    "text",
    [
        "Київщина: БпЛА ➡️ у напрямку Бородянки",
        "Ще семеро людей поранено на Київщині",
        "в Киевской области",
        "Two people injured in Kharkiv Oblast",
        "Двоє людей поранено в Одеській області",
        "the Kyiv Independent reported",
        "сумма ущерба и ровно 5 домов",  # "сума", "ровно": words, not Sumy or Rivne
    ],
)
def test_a_region_or_a_word_that_looks_like_a_city_is_not_the_city(text: str) -> None:
    assert places_named(text) == []


def test_cities_come_in_the_order_the_text_names_them() -> None:
    text = "Зеленский прокомментировал удары по Харькову, Запорожью и Одессе"
    assert places_named(text) == ["kharkiv", "zaporizhzhia", "odesa"]


@pytest.mark.parametrize(
    "text, killed",
    [
        ("в Киеве 12-летнюю девочку - это пятая жертва ночного обстрела", {5}),
        ("п’ята жертва атаки на місто", {5}),
        ("the fifth victim of the strike has died", {5}),
        ("число жертв возросло до 12", {12}),
        ("Третя доба поспіль: загинули 2 людини", {2}),  # the third day, not three dead
    ],
)
def test_a_toll_told_as_an_ordinal_or_as_victims_is_a_count_of_the_killed(
    text: str, killed: set[int]
) -> None:
    assert figures_of(text).get("killed") == killed
