"""The python-telegram-bot Application: handlers, defaults, rate limits, errors, start-up."""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat import commands
from bot.chat.access import AllowedCallbackQueryHandler, allowed_chats, gate
from bot.chat.command_table import COMMANDS, command_menu
from bot.chat.context import CONTEXT_TYPES, App, Context, services
from bot.chat.daily import TICK_SECONDS, daily_tick, sync_configured
from bot.chat.digests import Clock
from bot.chat.replies import MORE_PREFIX
from bot.chat.services import BotServices
from bot.errors import ConfigError
from bot.ingest.channel_posts import ingest_channel_post

log = logging.getLogger(__name__)

# Commands answer new messages only: an edited "/belarus" is not a new request.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def build_application(svc: BotServices, tick_seconds: float = TICK_SECONDS) -> App:
    """A ready Application; start it with `start_bot` (or `run_polling` in a script)."""
    settings = svc.settings
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN: set the token from @BotFather to run the bot")
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        tzinfo=ZoneInfo(settings.timezone),
        # A reply still arrives when the command message was deleted meanwhile.
        allow_sending_without_reply=True,
    )
    app = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_api_url)
        .defaults(defaults)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .context_types(CONTEXT_TYPES)
        .build()
    )
    app.bot_data.services = svc
    app.add_handler(TypeHandler(Update, track), group=-2)
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(
        MessageHandler(
            filters.UpdateType.CHANNEL_POST | filters.UpdateType.EDITED_CHANNEL_POST, channel_post
        )
    )
    # The gate stops strangers first; every command also carries the same check as a filter.
    chats = allowed_chats(settings)
    ours = NEW_MESSAGES & chats
    # First in its group: a command from a backlog is told it is old, never answered.
    app.add_handler(
        MessageHandler(ours & filters.COMMAND & Stale(svc.clock), commands.stale_command)
    )
    for topic in svc.topics.values():
        app.add_handler(CommandHandler(topic.name, commands.topic_command(topic), ours))
    for command in COMMANDS:
        app.add_handler(CommandHandler(command.name, command.handler, ours))
    app.add_handler(
        AllowedCallbackQueryHandler(
            commands.more_pressed, chats, pattern=rf"^{re.escape(MORE_PREFIX)}\d{{1,18}}$"
        )
    )
    # Last: a command none of the above knows, in a private chat, gets a pointer to /help.
    app.add_handler(
        MessageHandler(ours & filters.COMMAND & filters.ChatType.PRIVATE, commands.unknown_command)
    )
    app.add_error_handler(on_error)
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(daily_tick, interval=tick_seconds, first=1.0, name="daily")
    return app


class Stale(filters.MessageFilter):
    """Messages sent more than STALE_AFTER before `clock()` (the bot's clock, the real one
    outside tests): Telegram dates messages when they are sent, so after downtime the
    backlog is old."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(name="Stale")
        self.clock = clock

    def filter(self, message: Message) -> bool:
        return self.clock() - message.date > commands.STALE_AFTER


async def track(update: Update, context: Context) -> None:
    """Group -2, before everything: the task handling this update is work in progress,
    which a stop that takes too long cancels (see `runner.stop_bot`)."""
    services(context).track_current_task()


async def on_startup(app: App) -> None:
    """After initialize(): the command menu, configured daily digests."""
    svc = app.bot_data.services
    await sync_configured(svc)
    try:
        await app.bot.set_my_commands(command_menu(svc))
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", exc)


async def channel_post(update: Update, context: Context) -> None:
    """Posts of channels where the bot is an admin, stored like polled posts (see
    `bot.ingest.channel_posts.ingest_channel_post` for which channels may write)."""
    svc = services(context)
    message = update.channel_post or update.edited_channel_post
    if message is not None:
        await ingest_channel_post(svc.store, message, svc.settings.allowed_chat_ids, svc.clock())


async def on_error(update: object, context: Context) -> None:
    """Log the failure (the logging filter removes secrets); one calm line to the chat."""
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        svc = services(context)
        chat = update.effective_chat
        # Never into a channel (that is the team's public channel), nor a stranger's chat.
        if chat.type == chat.CHANNEL or chat.id not in svc.settings.allowed_chat_ids:
            return
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                "Sorry, that did not work. The error is logged; please try again in a minute.",
            )
        except TelegramError:
            log.warning("could not tell chat %s about the error", update.effective_chat.id)
