"""The commands team members type: digests, search, topics, sources, subscriptions, status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat.access import is_admin, services
from bot.chat.arguments import clip, parse_time_of_day, split_span
from bot.chat.messages import pack_messages
from bot.chat.services import BotServices, Composed
from bot.config import normalise_username
from bot.digest.extractive import shorten
from bot.digest.render import anchor, h, source_lines, when_text
from bot.digest.topics import Topic, resolve_topic
from bot.digest.window import Window
from bot.errors import WirebriefError
from bot.store.fts import match_all_words

log = logging.getLogger(__name__)

PLACEHOLDER_AFTER = 1.5  # seconds of work before the chat sees a "working on it" message
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about five seconds
SEARCH_LIMIT = 10
MAX_ERROR_REPLY = 300  # an error never echoes a long argument back

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def reply(update: Update, text: str) -> Message:
    return await _message(update).reply_text(text)


def with_user_errors(handler: Handler) -> Handler:
    """Our own errors (a bad span, an unknown topic) become one calm line in the chat."""

    async def wrapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await handler(update, context)
        except WirebriefError as exc:
            await reply(update, h(shorten(str(exc), MAX_ERROR_REPLY)))

    return wrapped


# ----- digests ------------------------------------------------------------------------


def topic_command(topic: Topic) -> Handler:
    """/<topic> [span]."""

    @with_user_errors
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        _, span = split_span(context.args or [])
        await send_digest(update, context, topic, span)

    return handle


@with_user_errors
async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest <topic or free text> [span]."""
    words, span = split_span(context.args or [])
    if not words:
        await reply(
            update, "Usage: /digest &lt;topic or words&gt; [12h|3d|1w], e.g. /digest Minsk 3d"
        )
        return
    topic = resolve_topic(services(context).topics, clip(" ".join(words)))
    await send_digest(update, context, topic, span)


async def send_digest(
    update: Update, context: ContextTypes.DEFAULT_TYPE, topic: Topic, span: timedelta
) -> None:
    svc = services(context)
    chat_id = _chat_id(update)
    wait = svc.cooldown_left(chat_id)
    if wait > 0:
        await reply(update, f"One digest at a time: try again in {wait:.0f} s.")
        return
    svc.start_cooldown(chat_id)
    now = svc.clock()
    window = Window(now - span, now)
    async with svc.chat_lock(chat_id):
        progress = await _compose_showing_progress(update, context, svc, topic, window)
        await deliver(
            context, chat_id, progress.result.messages, placeholder=progress.placeholder,
            answering=_message(update),
        )  # fmt: skip
        await svc.record(chat_id, topic, "command", progress.result)


@dataclass(slots=True)
class _Progress:
    result: Composed
    placeholder: Message | None


async def _compose_showing_progress(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    svc: BotServices,
    topic: Topic,
    window: Window,
) -> _Progress:
    """Typing while we work; after a moment, a placeholder the digest will replace."""
    chat_id = _chat_id(update)
    task = asyncio.create_task(svc.compose(chat_id, topic, window))
    placeholder: Message | None = None
    waited = 0.0
    while not task.done():
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        step = (
            PLACEHOLDER_AFTER
            if placeholder is None and waited < PLACEHOLDER_AFTER
            else TYPING_EVERY
        )
        done, _ = await asyncio.wait({task}, timeout=step)
        waited += step
        if not done and placeholder is None:
            placeholder = await reply(update, f"Reading the channels for {h(topic.title)}…")
    try:
        return _Progress(task.result(), placeholder)
    except BaseException:
        if placeholder is not None:
            with contextlib.suppress(TelegramError):
                await placeholder.delete()
        raise


async def deliver(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    messages: list[str],
    placeholder: Message | None = None,
    answering: Message | None = None,
) -> None:
    """Send the messages in order. The first replaces the placeholder when there is one, or
    answers the command message so a busy group sees what it answers; in a forum group
    every message stays in the command's topic."""
    thread_id = None
    if answering is not None and answering.is_topic_message:
        thread_id = answering.message_thread_id
    for index, text in enumerate(messages):
        if index == 0 and placeholder is not None:
            await placeholder.edit_text(text)
        elif index == 0 and answering is not None:
            await context.bot.send_message(
                chat_id,
                text,
                message_thread_id=thread_id,
                reply_parameters=ReplyParameters(
                    answering.message_id, allow_sending_without_reply=True
                ),
            )
        else:
            await context.bot.send_message(chat_id, text, message_thread_id=thread_id)


# ----- search -------------------------------------------------------------------------


@with_user_errors
async def search_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/search <words> [span]: matching posts, newest first, with links."""
    svc = services(context)
    words, span = split_span(context.args or [])
    if not words:
        await reply(update, "Usage: /search &lt;words&gt; [12h|3d|1w], e.g. /search Кукурики 3d")
        return
    query = clip(" ".join(words))
    now = svc.clock()
    posts = await svc.store.search(match_all_words(query), since=now - span, limit=SEARCH_LIMIT)
    if not posts:
        await reply(update, f"No post in the last {_span_text(span)} mentions “{h(query)}”.")
        return
    count = f"{len(posts)} post" + ("s" if len(posts) != 1 else "")
    parts = [f"<b>{count} with “{h(query)}”, newest first</b>"]
    for post in posts:
        text = " ".join(post.text.split())
        text = text if len(text) <= 220 else text[:219] + "…"
        parts.append(
            f"{anchor(post.url, post.channel.name)} · {h(when_text(post.date, svc.settings.tz))}\n"
            f"{h(text)}"
        )
    await deliver(context, _chat_id(update), pack_messages(parts), answering=_message(update))


def _span_text(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    if hours % 24 == 0 and hours >= 24:
        days = hours // 24
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{hours} hours" if hours != 1 else "hour"


# ----- information --------------------------------------------------------------------


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help."""
    svc = services(context)
    topics = "\n".join(f"/{t.name} — {h(t.description or t.title)}" for t in svc.topics.values())
    first = next(iter(svc.topics), "belarus")
    await reply(
        update,
        "<b>wirebrief</b> reads the team's Telegram channels and answers with short digests: "
        "stories grouped across channels, the most confirmed first, every line linked to "
        "its posts.\n\n"
        f"<b>Topics</b>\n{topics}\n\n"
        "<b>Commands</b>\n"
        f"/{first} 3d — a topic over the last 3 days (12h, 3d, 1w; default 24h)\n"
        "/digest Minsk border 12h — a digest of any words\n"
        "/search Кукурики 1w — matching posts, newest first\n"
        "/topics, /sources, /status\n"
        f"/subscribe {first} 08:00 — a daily digest here; /unsubscribe {first}; "
        "/subscriptions\n"
        "/addsource @channel, /removesource @channel — admins only",
    )


async def topics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    lines = []
    for t in svc.topics.values():
        terms = ", ".join(str(term) for term in t.terms[:12])
        lines.append(f"/{t.name} — <b>{h(t.title)}</b>: {h(t.description)}\n<i>{h(terms)}</i>")
    await deliver(context, _chat_id(update), pack_messages(lines), answering=_message(update))


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    sources = await svc.store.sources(enabled_only=True)
    if not sources:
        await reply(update, "No sources yet. An admin can /addsource @channel.")
        return
    lines = [h(line) for line in source_lines(sources, svc.settings.tz, svc.clock())]
    await deliver(
        context, _chat_id(update), pack_messages(["<b>Sources</b>", *lines]),
        answering=_message(update),
    )  # fmt: skip


async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    store = svc.store
    sources = await store.sources(enabled_only=True)
    healthy = sum(1 for s in sources if s.status == "ok")
    polls = [s.last_poll_at for s in sources if s.last_poll_at is not None]
    last_poll = when_text(max(polls), svc.settings.tz) if polls else "never"
    lines = [
        "<b>Status</b>",
        f"Posts stored: {await store.count_posts()}",
        f"Sources healthy: {healthy} of {len(sources)}",
        f"Last poll: {h(last_poll)}",
        f"Summariser: {h(svc.summarizer_name)}",
        f"Model tokens today: {await tokens_today(svc)}",
    ]
    await reply(update, "\n".join(lines))


async def tokens_today(svc: BotServices) -> str:
    usage = await svc.store.llm_tokens_on(svc.clock().astimezone(UTC).date())
    return f"{usage.tokens_in} in, {usage.tokens_out} out ({usage.calls} calls)"


# ----- admin: sources -----------------------------------------------------------------


async def _admin_source_argument(
    update: Update, context: ContextTypes.DEFAULT_TYPE, command: str
) -> str | None:
    """The channel username an admin command names, or None after telling the user why."""
    if not is_admin(update, context):
        await reply(update, "Only admins can change sources.")
        return None
    if not context.args:
        await reply(update, f"Usage: /{command} @channel")
        return None
    try:
        return normalise_username(context.args[0])
    except ValueError as exc:
        await reply(update, h(str(exc)))
        return None


@with_user_errors
async def addsource_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    username = await _admin_source_argument(update, context, "addsource")
    if username is None:
        return
    user = update.effective_user
    origin = f"admin:{user.id if user else '?'}"
    _, created = await services(context).store.add_source(username, origin)
    await reply(
        update,
        f"Added @{h(username)}; its first posts arrive with the next poll."
        if created
        else f"@{h(username)} is already a source.",
    )


@with_user_errors
async def removesource_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    username = await _admin_source_argument(update, context, "removesource")
    if username is None:
        return
    removed = await services(context).store.remove_source(username)
    await reply(
        update,
        f"Removed @{h(username)}; its stored posts stay searchable."
        if removed
        else f"@{h(username)} is not a source.",
    )


# ----- subscriptions ------------------------------------------------------------------


def _topic_arg(svc: BotServices, name: str) -> Topic:
    key = name.strip().lstrip("/").lower()
    if key not in svc.topics:
        raise WirebriefError(f"No topic {name[:40]!r}. Topics: {', '.join(svc.topics)}")
    return svc.topics[key]


@with_user_errors
async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe <topic> [HH:MM]: a daily digest in this chat."""
    svc = services(context)
    args = context.args or []
    if not args:
        await reply(
            update, "Usage: /subscribe &lt;topic&gt; [HH:MM], e.g. /subscribe belarus 08:00"
        )
        return
    topic = _topic_arg(svc, args[0])
    at = parse_time_of_day(args[1]) if len(args) > 1 else svc.settings.digest_time.strftime("%H:%M")
    user = update.effective_user
    created = await svc.store.subscribe(
        _chat_id(update), topic.name, at, created_by=user.id if user else None, now=svc.clock()
    )
    verb = "Subscribed" if created else "Moved the subscription"
    await reply(update, f"{verb}: {h(topic.title)} every day at {at} ({h(svc.settings.timezone)}).")


@with_user_errors
async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    if not context.args:
        await reply(update, "Usage: /unsubscribe &lt;topic&gt;")
        return
    topic = _topic_arg(svc, context.args[0])
    removed = await svc.store.unsubscribe(_chat_id(update), topic.name)
    await reply(
        update,
        f"No more daily {h(topic.title)} digests here."
        if removed
        else f"This chat has no daily {h(topic.title)} digest.",
    )


async def subscriptions_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    subs = await svc.store.subscriptions(_chat_id(update))
    if not subs:
        await reply(update, "No daily digests in this chat. Try /subscribe belarus 08:00")
        return
    lines = ["<b>Daily digests here</b>"]
    for sub in subs:
        title = svc.topics[sub.topic].title if sub.topic in svc.topics else sub.topic
        last = when_text(sub.last_sent_at, svc.settings.tz) if sub.last_sent_at else "not yet"
        lines.append(f"{h(title)} at {sub.time_of_day} (last sent: {h(last)})")
    await reply(update, "\n".join(lines))
