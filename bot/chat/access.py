"""Who gets answers: only allowed chats; admin commands also check the user.

Two independent locks, so one failing never opens the door:

* `gate` (handler group -1) stops every update from a chat that is not allowed. It stops
  the update whatever happens while it tells the stranger so: the refusal is a courtesy,
  and a failed send (a timeout, one 502 from the Bot API) must not let the update through
  to the command handlers.
* `allowed_chats` is a filter that every command and button handler carries as well, so a
  handler never answers a chat outside ALLOWED_CHAT_IDS even if the gate were removed or
  skipped.

A stranger's chat gets one line (at most every ten minutes) saying the bot is private and
showing the chat id, so an admin can add it, and nothing else.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, filters

from bot.chat.context import Context, services
from bot.chat.services import BotServices
from bot.config import Settings

log = logging.getLogger(__name__)

REFUSAL_INTERVAL = 600.0


def allowed_chats(settings: Settings) -> filters.MessageFilter:
    """Matches updates from the allowed chats only; with none configured, matches nothing."""
    return filters.Chat(chat_id=settings.allowed_chat_ids)


class AllowedCallbackQueryHandler(CallbackQueryHandler):  # type: ignore[type-arg]
    """A CallbackQueryHandler that carries the chat filter the command handlers carry.

    python-telegram-bot's filters look at messages only (a button press is not one), and
    CallbackQueryHandler takes no filter: so the filter is applied here to the message
    the button is under, and a press without one (an inline message) matches nothing.
    """

    def __init__(
        self, callback: Any, chat_filter: filters.MessageFilter, pattern: str | None = None
    ) -> None:
        super().__init__(callback, pattern=pattern)
        self.chat_filter = chat_filter

    def check_update(self, update: object) -> bool | object | None:
        if not (isinstance(update, Update) and update.callback_query):
            return None
        message = update.callback_query.message
        if message is None or not self.chat_filter.filter(message):  # type: ignore[arg-type]
            return None
        return super().check_update(update)


def addressed_to_other_bot(text: str, bot_username: str | None) -> bool:
    """`/belarus@otherbot`: a command meant for someone else."""
    command = text.split(maxsplit=1)[0] if text.split() else ""
    if "@" not in command:
        return False
    return command.split("@", 1)[1].lower() != (bot_username or "").lower()


async def gate(update: Update, context: Context) -> None:
    """Runs before every handler (group -1): stops updates from chats that are not allowed,
    button presses included."""
    if update.channel_post or update.edited_channel_post:
        return  # the channel-post handler checks its own sources
    chat = update.effective_chat
    svc = services(context)
    if chat is not None and chat.id in svc.settings.allowed_chat_ids:
        return
    try:
        if update.callback_query is not None:
            # A button under an old message of a chat no longer allowed (or an inline
            # one): the spinner stops, nothing else.
            await update.callback_query.answer()
        await _refuse(update, context, svc)
    except TelegramError as exc:
        log.warning(
            "could not tell chat %s that the bot is private: %s",
            chat.id if chat else "?",
            type(exc).__name__,
        )
    except Exception:
        log.exception("refusing chat %s failed", chat.id if chat else "?")
    # Reached whatever the refusal did: the update goes no further.
    raise ApplicationHandlerStop


async def _refuse(update: Update, context: Context, svc: BotServices) -> None:
    """One line to a stranger who addressed a command to us, at most every ten minutes."""
    chat = update.effective_chat
    message = update.message
    text = message.text if message and message.text else ""
    is_ours = text.startswith("/") and not addressed_to_other_bot(text, context.bot.username)
    if chat is None or message is None or not is_ours:
        return
    if not svc.refused.due(chat.id, REFUSAL_INTERVAL):
        return
    log.info("refused chat %s", chat.id)
    await message.reply_text(
        f"This bot is private. This chat's id is <code>{chat.id}</code>: "
        "an admin can add it to ALLOWED_CHAT_IDS."
    )


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admin_user_ids
