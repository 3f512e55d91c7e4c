"""Who gets answers: only allowed chats; admin commands also check the user.

A stranger's chat gets one line (at most every ten minutes) saying the bot is private and
showing the chat id, so an admin can add it, and nothing else.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.chat.services import BotServices

log = logging.getLogger(__name__)

REFUSAL_INTERVAL = 600.0


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    found = context.bot_data["services"]
    assert isinstance(found, BotServices)
    return found


def addressed_to_other_bot(text: str, bot_username: str | None) -> bool:
    """`/belarus@otherbot`: a command meant for someone else."""
    command = text.split(maxsplit=1)[0] if text.split() else ""
    if "@" not in command:
        return False
    return command.split("@", 1)[1].lower() != (bot_username or "").lower()


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler (group -1): stops updates from chats that are not allowed."""
    if update.channel_post or update.edited_channel_post:
        return  # the channel-post handler checks its own sources
    chat = update.effective_chat
    svc = services(context)
    if chat is not None and chat.id in svc.settings.allowed_chat_ids:
        return
    message = update.message
    text = message.text if message and message.text else ""
    is_ours = text.startswith("/") and not addressed_to_other_bot(text, context.bot.username)
    if chat is not None and message is not None and is_ours:
        last = svc.refused.get(chat.id, 0.0)
        if time.monotonic() - last > REFUSAL_INTERVAL:
            svc.refused[chat.id] = time.monotonic()
            log.info("refused chat %s", chat.id)
            await message.reply_text(
                f"This bot is private. This chat's id is <code>{chat.id}</code>: "
                "an admin can add it to ALLOWED_CHAT_IDS."
            )
    raise ApplicationHandlerStop


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admin_user_ids
