"""Channel posts that reach the bot as updates (it is an admin there) → posts.

Pure: a `telegram.Message` in, an `IncomingPost` out; the chat layer stores it through the
same store functions as the poller.
"""

from __future__ import annotations

from telegram import (
    Message,
    MessageEntity,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

from bot.links import bare_peer_id
from bot.models import ChannelRef, IncomingPost

MEDIA_ATTRIBUTES = (
    ("photo", "photo"),
    ("video", "video"),
    ("animation", "animation"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("video_note", "video_note"),
    ("sticker", "sticker"),
    ("document", "document"),
    ("poll", "poll"),
    ("location", "location"),
    ("contact", "contact"),
)


def post_from_message(message: Message) -> IncomingPost | None:
    """The post a channel message carries, or None when it carries nothing to store.

    Album members arrive as separate messages sharing a media_group_id; only the one with
    the caption is kept, as the web preview shows the album as one post.
    """
    chat = message.chat
    text = _text_with_links(message)
    media_kind = next((kind for attr, kind in MEDIA_ATTRIBUTES if getattr(message, attr)), None)
    if message.poll is not None:
        options = "\n".join(f"• {option.text}" for option in message.poll.options)
        text = "\n".join(part for part in (text, message.poll.question, options) if part)
    if message.media_group_id and not text.strip():
        return None
    if not text.strip() and media_kind is None:
        return None  # service messages: pins, title changes, …
    return IncomingPost(
        channel=ChannelRef(peer_id=bare_peer_id(chat.id), username=chat.username, title=chat.title),
        message_id=message.message_id,
        date=message.date,
        text=text,
        edit_date=message.edit_date,
        forwarded_from=origin_name(message.forward_origin),
        media_kind="album" if message.media_group_id else media_kind,
        author=message.author_signature,
        reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
    )


def _text_with_links(message: Message) -> str:
    """Text or caption, with each hidden link's target after its words: "words (url)"."""
    text = message.text or message.caption or ""
    entities = message.parse_entities([MessageEntity.TEXT_LINK]) or message.parse_caption_entities(
        [MessageEntity.TEXT_LINK]
    )
    for entity, words in entities.items():
        if entity.url and entity.url not in text and words in text:
            text = text.replace(words, f"{words} ({entity.url})", 1)
    return text


def origin_name(origin: MessageOrigin | None) -> str | None:
    """Who a forwarded post came from, as a reader would name them."""
    if origin is None:
        return None
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        return chat.title or (f"@{chat.username}" if chat.username else None)
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    return None
