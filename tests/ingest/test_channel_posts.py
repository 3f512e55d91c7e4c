"""Channel posts from Bot API updates become posts like any other source's."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import (
    Chat,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginHiddenUser,
    PhotoSize,
    Poll,
)

from bot.ingest.channel_posts import post_from_message

WHEN = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
CHANNEL = Chat(id=-1001234567890, type=Chat.CHANNEL, title="Noel Reports", username="noel_reports")
PHOTO = (PhotoSize("f", "u", 90, 90),)


def test_text_post_keeps_channel_ids_links_and_signature() -> None:
    text = "Explosions reported in Minsk. Details"
    message = Message(
        7, WHEN, CHANNEL, text=text, author_signature="Desk",
        entities=(MessageEntity(MessageEntity.TEXT_LINK, 30, 7, url="https://example.org/a"),),
    )  # fmt: skip
    post = post_from_message(message)
    assert post is not None
    assert post.channel.peer_id == 1234567890 and post.channel.username == "noel_reports"
    assert post.text == "Explosions reported in Minsk. Details (https://example.org/a)"
    assert post.author == "Desk" and post.media_kind is None


def test_caption_media_and_forward_origin() -> None:
    source = Chat(id=-1009876543210, type=Chat.CHANNEL, title="УНІАН", username="uniannet")
    message = Message(
        8, WHEN, CHANNEL, caption="Фото з кордону", photo=PHOTO,
        forward_origin=MessageOriginChannel(WHEN, source, 555),
    )  # fmt: skip
    post = post_from_message(message)
    assert post is not None
    assert (post.text, post.media_kind, post.forwarded_from) == ("Фото з кордону", "photo", "УНІАН")
    hidden = Message(
        9, WHEN, CHANNEL, text="x", forward_origin=MessageOriginHiddenUser(WHEN, "Анонім")
    )
    assert post_from_message(hidden).forwarded_from == "Анонім"  # type: ignore[union-attr]


def test_album_members_without_caption_are_skipped() -> None:
    first = Message(10, WHEN, CHANNEL, caption="Колона техніки", photo=PHOTO, media_group_id="g1")
    second = Message(11, WHEN, CHANNEL, photo=PHOTO, media_group_id="g1")
    kept = post_from_message(first)
    assert kept is not None and kept.media_kind == "album"
    assert post_from_message(second) is None


def test_polls_become_text_and_service_messages_nothing() -> None:
    poll = Poll.de_json(
        {"id": "p", "question": "Чи закриють кордон?", "total_voter_count": 4,
         "options": [{"text": "Так", "voter_count": 3, "persistent_id": "a"},
                     {"text": "Ні", "voter_count": 1, "persistent_id": "b"}],
         "is_closed": False, "is_anonymous": True, "type": "regular",
         "allows_multiple_answers": False, "allows_revoting": False, "members_only": False},
        None,
    )  # fmt: skip
    post = post_from_message(Message(12, WHEN, CHANNEL, poll=poll))
    assert post is not None and post.text == "Чи закриють кордон?\n• Так\n• Ні"
    assert post_from_message(Message(13, WHEN, CHANNEL)) is None


def test_an_edited_post_carries_its_edit_date() -> None:
    edited = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    post = post_from_message(Message(14, WHEN, CHANNEL, text="новий текст", edit_date=edited))
    assert post is not None and post.edit_date == edited
