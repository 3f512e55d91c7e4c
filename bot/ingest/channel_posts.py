"""Channel posts that reach the bot as updates (it is an admin there) → posts.

`post_from_message` is pure: a `telegram.Message` in, an `IncomingPost` out.
`ingest_channel_post` decides whether the channel may write into the team's digests and
stores the post with one store call (one transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from bot.store import Store, UpsertResult

log = logging.getLogger(__name__)

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


async def ingest_channel_post(
    store: Store, message: Message, allowed_chat_ids: Collection[int], now: datetime
) -> UpsertResult | None:
    """Store a channel's post, when the channel is one the team chose: listed in
    ALLOWED_CHAT_IDS or among the sources (by username). Anyone can add a bot to a
    channel; that must not let them write into the team's digests. None: not stored."""
    chat = message.chat
    known = {s.username.lower() for s in await store.sources() if s.username}
    trusted = chat.id in allowed_chat_ids or (
        chat.username is not None and chat.username.lower() in known
    )
    if not trusted:
        log.info("ignored a post from channel %s: not a source and not allowed", chat.id)
        return None
    post = post_from_message(message)
    if post is None:
        return None
    return await store.store_channel_post(post, now)
