"""Verification of model answers: pure functions, tested alone and with arbitrary input."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.verify import (
    Candidate,
    clean_item_text,
    figures,
    known_figures,
    lines_by_story,
    parse_answer,
    strip_links,
)
from bot.models import Channel, Post, Story

T0 = datetime(2024, 12, 3, 10, 0, tzinfo=UTC)
RIA = Channel(1, 1101170442, None, "РИА Новости")
WIRE = Channel(2, None, "kyiv_wire", "Kyiv Wire")
DESK = Channel(3, None, "en_desk", None)


def post(pid: int, channel: Channel, text: str, minutes: int = 0, edited: bool = False) -> Post:
    return Post(pid, channel, 100 + pid, T0 + timedelta(minutes=minutes), text, edited=edited)


STORIES = {
    1: Story(
        [
            post(1, RIA, "Belarus moved about 1 500 troops and 40 vehicles to the border."),
            post(2, WIRE, "Belarus moved 1,500 troops towards Volyn, border guards say.", 20),
            post(3, RIA, "Update: the column reached Brest.", 45, edited=True),
        ]
    ),
    2: Story([post(4, DESK, "Poland suspends freight at Kukuryki from Wednesday.", 90)]),
}


# ----- parsing ----------------------------------------------------------------------


def test_structured_json_is_read_item_by_item() -> None:
    answer = json.dumps(
        {
            "items": [
                {"text": "Troops moved.", "sources": [1]},
                {"text": "Freight", "sources": [2, 1]},
            ]
        }
    )
    assert parse_answer(answer) == [Candidate("Troops moved.", (1,)), Candidate("Freight", (2, 1))]


def test_json_in_a_fence_after_a_preamble_is_found() -> None:
    answer = 'Here is the digest:\n```json\n{"items": [{"text": "Troops moved [1]", "sources": []}]}\n```'
    assert parse_answer(answer) == [Candidate("Troops moved ", (1,))]


def test_complete_items_are_salvaged_from_a_cut_off_answer() -> None:
    answer = '{"items": [{"text": "Troops moved.", "sources": [1]}, {"text": "Freight st'
    assert parse_answer(answer) == [Candidate("Troops moved.", (1,))]


def test_odd_source_values_count_as_unreadable() -> None:
    answer = json.dumps({"items": [{"text": "x", "sources": ["2", True, None, 3.0, "n/a"]}]})
    assert parse_answer(answer) == [Candidate("x", (2, 3), unreadable_sources=3)]


def test_plain_lines_with_markers_are_items_and_prose_around_them_is_not() -> None:
    answer = (
        "Digest for Belarus:\n\n"
        "- **Belarus** moved troops to the border. [1][2]\n"
        "2. Poland suspends freight [source 2]\n"
        "* A bullet with no source\n"
        "Hope this helps!"
    )
    assert parse_answer(answer) == [
        Candidate("Belarus moved troops to the border. ", (1, 2)),
        Candidate("Poland suspends freight ", (2,)),
        Candidate("A bullet with no source", ()),
    ]


def test_answers_with_nothing_to_read_are_none() -> None:
    for answer in ["", "   ", "I cannot help with that.", '{"summary": "x"}', "[[[", "{" * 5000]:
        assert parse_answer(answer) is None, answer
    assert parse_answer('{"items": []}') == []


# ----- links, handles, figures ------------------------------------------------------


def test_links_and_handles_the_model_wrote_are_removed() -> None:
    text = (
        "See https://evil.example/a?b=1, www.evil.example, t.me/evil/5, tg://resolve?domain=x, "
        "evil.example/path, mail admin@evil.example, [click](https://evil.example) and "
        "@evil_channel <a href='https://evil.example'>here</a>."
    )
    cleaned = clean_item_text(text)
    assert "evil" not in cleaned and "@" not in cleaned and "http" not in cleaned
    assert cleaned.startswith("See") and "click" in cleaned and "here" in cleaned


def test_ordinary_text_survives_link_stripping() -> None:
    text = "U.S. and E.U. officials, e.g. in Minsk, said 1.5 million people voted."
    assert strip_links(text) == text


def test_figures_are_compared_normalised() -> None:
    assert figures("1,500 and 1 500 and 1500 and 1\u00a0500") == {"1500"}
    assert figures("40 vehicles, 2024, 007") == {"40", "2024", "7"}
    assert figures("no numbers") == set()
    assert {"1500", "40", "3", "2", "2024", "12"} <= known_figures([STORIES[1]])


# ----- verification -----------------------------------------------------------------


def test_each_story_gets_at_most_one_line_and_only_known_sources_count() -> None:
    result = lines_by_story(
        [
            Candidate("Poland suspends freight.", (2, 9)),
            Candidate("Belarus moved 1500 troops, per @evil https://evil.example", (1,)),
            Candidate("Invented.", (7,)),
            Candidate("https://evil.example", (1,)),
            Candidate("Belarus moved troops again.", (1,)),  # a second line for story 1
        ],
        STORIES,
    )
    assert result.lines == {2: "Poland suspends freight.", 1: "Belarus moved 1500 troops, per"}
    assert (result.dropped_items, result.dropped_citations) == (3, 2)


def test_an_item_belongs_to_the_first_source_it_names() -> None:
    result = lines_by_story([Candidate("x y", (2, 1, 1))], STORIES)
    assert result.lines == {2: "x y"}


def test_the_source_field_comes_before_markers_and_old_style_lists() -> None:
    [candidate] = parse_answer('{"items": [{"source": 2, "text": "Freight stops [1]"}]}') or []
    assert candidate.sources[0] == 2


# ----- arbitrary input --------------------------------------------------------------

answer_text = st.one_of(
    st.text(),
    st.text(alphabet='[]{}":,0123456789- \nsourceitmx.@/ht'),
    st.lists(
        st.fixed_dictionaries(
            {
                "text": st.text(),
                "sources": st.lists(
                    st.one_of(st.integers(), st.text(), st.none(), st.floats(), st.booleans())
                ),
            }
        )
    ).map(lambda items: json.dumps({"items": items})),
    st.lists(st.tuples(st.text(alphabet="abc @./:", max_size=20), st.integers(-5, 12))).map(
        lambda rows: "\n".join(f"- {text} [{n}]" for text, n in rows)
    ),
)


@settings(max_examples=300, deadline=None)
@given(answer_text)
def test_any_answer_parses_without_raising_and_cites_only_given_sources(answer: str) -> None:
    candidates = parse_answer(answer)
    assert candidates is None or isinstance(candidates, list)
    result = lines_by_story(candidates or [], STORIES)
    assert len(result.lines) + result.dropped_items == len(candidates or [])
    assert set(result.lines) <= set(STORIES)
    for line in result.lines.values():
        assert "://" not in line
        assert re.search(r"(?<!\w)@\w", line) is None  # a handle Telegram would link


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_cleaned_item_text_has_no_link_or_handle(text: str) -> None:
    cleaned = clean_item_text(text)
    assert "://" not in cleaned
    assert "t.me/" not in cleaned.lower()


def test_domains_in_any_case_and_script_are_removed_from_model_text() -> None:
    from bot.digest.verify import clean_item_text

    for link in ["Evil-News.COM/pay", "EVIL.NET", "Bit.ly/x1", "президент.рф/news",
                 "xn--e1afmkfd.xn--p1ai"]:  # fmt: skip
        assert clean_item_text(f"Read {link} now") == "Read now", link
    # Abbreviations and figures are not domains.
    assert (
        clean_item_text("ул.Ленина, т.е. 1.5 млн, U.S. forces")
        == "ул.Ленина, т.е. 1.5 млн, U.S. forces"
    )
