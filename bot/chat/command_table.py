"""The bot's commands, in one table: which handler answers each, what the Telegram command
menu says about it, and its line in /help. Registration (`app.build_application`), the
menu (`setMyCommands`) and /help are all made from this table, so a new command is one row.

Topic commands (/belarus, …) come from the topics file, not from here; the names below are
the ones a topic may not take (`bot.digest.topics.RESERVED_NAMES`, checked at import).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update

from bot.chat import commands
from bot.chat.context import Context, services
from bot.chat.services import BotServices
from bot.digest.render import h
from bot.digest.topics import RESERVED_NAMES

Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command. `menu`: its text in Telegram's command menu (None: not listed there);
    `help`: its line in /help, where "{topic}" stands for the first configured topic."""

    name: str
    handler: Handler
    menu: str | None
    help: str | None


async def help_command(update: Update, context: Context) -> None:
    """/start and /help: what the bot does, its topics, and every command of the table."""
    await commands.reply(update, help_text(services(context)))


COMMANDS: tuple[Command, ...] = (
    Command(
        "digest", commands.digest_command,
        "Top stories of every source, or of a topic or words: /digest Minsk 3d",
        "the top stories of every source, the most confirmed first; /digest Minsk border 12h: "
        "a digest of any words (Минск finds Минске too); /digest brief: as a brief",
    ),
    Command(
        "search", commands.search_command,
        "Posts with these words, newest first: /search Кукурики",
        "/search Кукурики 1w — matching posts, newest first",
    ),
    Command("topics", commands.topics_command, "The topics and their terms",
            "the topics and the words they look for"),
    Command("sources", commands.sources_command, "The channels read, and their health",
            "the channels read, their posts and their health"),
    Command(
        "subscribe", commands.subscribe_command,
        "A daily digest in this chat: /subscribe belarus 08:00",
        "/subscribe {topic} 08:00 — a daily digest here (/subscribe digest 08:00: every source)",
    ),
    Command("unsubscribe", commands.unsubscribe_command,
            "Stop a daily digest: /unsubscribe belarus", "/unsubscribe {topic} — stop it"),
    Command("subscriptions", commands.subscriptions_command, "This chat's daily digests",
            "this chat's daily digests"),
    Command("status", commands.status_command, "Posts stored, sources, summariser, tokens today",
            "posts stored, sources, the summariser, model tokens used today"),
    Command("addsource", commands.addsource_command, None,
            "/addsource @channel — read a public channel (admins only)"),
    Command("removesource", commands.removesource_command, None,
            "/removesource @channel — stop reading it (admins only)"),
    Command("help", help_command, "What this bot does, with examples", None),
    Command("start", help_command, None, None),
)  # fmt: skip

if {c.name for c in COMMANDS} != RESERVED_NAMES:  # pragma: no cover - a programming error
    raise RuntimeError("command_table.COMMANDS and topics.RESERVED_NAMES differ")


def help_text(svc: BotServices) -> str:
    first = next(iter(svc.topics), "belarus")
    topics = "\n".join(f"/{t.name} — {h(t.description or t.title)}" for t in svc.topics.values())
    lines = [
        f"/{c.name} — {h(c.help.format(topic=first))}"
        if not c.help.startswith("/")
        else h(c.help.format(topic=first))
        for c in COMMANDS
        if c.help is not None
    ]
    return (
        "<b>wirebrief</b> reads the team's Telegram channels and answers with short digests: "
        "stories grouped across channels, the most confirmed first, every line linked to "
        "its posts.\n\n"
        f"<b>Topics</b>\n{topics}\n"
        f"/{first} 3d — a topic over the last 3 days (12h, 3d, 1w; default 24h); "
        f"/{first} 9d all — every story, not the first 10 (or press More); "
        f"/{first} 3d brief — a wire editor's brief: confirmed, claimed, where reports "
        "differ, sources\n\n"
        "<b>Commands</b>\n" + "\n".join(lines)
    )


def command_menu(svc: BotServices) -> list[BotCommand]:
    """The topics first (the team's most used commands), then the table's listed commands."""
    menu = [
        BotCommand(t.name, (t.description or t.title)[:256] or t.name) for t in svc.topics.values()
    ]
    menu += [BotCommand(c.name, c.menu) for c in COMMANDS if c.menu is not None]
    return menu[:100]
