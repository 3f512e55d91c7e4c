"""The commands team members type: digests, search, topics, sources, subscriptions, status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.chat.access import addressed_to_other_bot, is_admin
from bot.chat.arguments import (
    DigestRequest,
    clip,
    parse_digest_args,
    parse_time_of_day,
    split_span,
)
from bot.chat.context import Context, services
from bot.chat.digests import PAGE_KEEP, Composed
from bot.chat.messages import pack_messages
from bot.chat.replies import (
    MORE_PREFIX,
    more_button,
    no_match,
    search_parts,
    sources_parts,
    status_html,
    subscriptions_html,
    topic_parts,
)
from bot.chat.services import BotServices
from bot.config import normalise_username
from bot.digest.pipeline import DEFAULT_LIMIT
from bot.digest.render import h, when_text
from bot.digest.topics import Topic, resolve_topic
from bot.digest.window import Window
from bot.errors import SpanError, WirebriefError
from bot.query import match_word_forms
from bot.words import shorten

log = logging.getLogger(__name__)

PLACEHOLDER_AFTER = 1.5  # seconds of work before the chat sees a "working on it" message
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about five seconds
SEARCH_LIMIT = 10
MAX_ERROR_REPLY = 300  # an error never echoes a long argument back
ALL_STORIES = 50  # `/belarus 9d all`: this many stories at once; More shows the rest
MAX_WAITING = 3  # digest requests that may wait for their turn in one chat
STALE_AFTER = timedelta(minutes=5)
"""A command older than this (sent while the bot was down) is not answered, see
`stale_command`."""
STALE_NOTICE_EVERY = 600.0

Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


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

    async def wrapped(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except WirebriefError as exc:
            await reply(update, h(shorten(str(exc), MAX_ERROR_REPLY)))

    return wrapped


# ----- digests ------------------------------------------------------------------------


def topic_command(topic: Topic) -> Handler:
    """/<topic> [span] [all] [brief]."""
    usage = (
        f"Usage: /{topic.name} [12h|3d|1w] [all] [brief], e.g. /{topic.name} 3d or "
        f"/{topic.name} 3d brief"
    )

    @with_user_errors
    async def handle(update: Update, context: Context) -> None:
        try:
            request = parse_digest_args(context.args or [])
            if request.words:
                raise SpanError(f"{request.words[-1][:20]!r} is not a span: use e.g. 12h, 3d or 1w")
        except SpanError as exc:
            await reply(update, f"{h(str(exc))}\n{usage}")
            return
        await send_digest(update, context, topic, request)

    return handle


DIGEST_USAGE = (
    "Usage: /digest [topic or words] [12h|3d|1w] [all] [brief], e.g. /digest Minsk 3d; "
    "/digest alone: the top stories of every source; /digest belarus 3d brief: a brief"
)


@with_user_errors
async def digest_command(update: Update, context: Context) -> None:
    """/digest [topic or free text] [span] [all] [brief]; with no words, every source."""
    try:
        request = parse_digest_args(context.args or [])
    except SpanError as exc:
        await reply(update, f"{h(str(exc))}\n{DIGEST_USAGE}")
        return
    if request.words:
        topic = resolve_topic(services(context).topics, clip(" ".join(request.words)))
    else:
        topic = Topic.everything()
    await send_digest(update, context, topic, request)


async def send_digest(
    update: Update, context: Context, topic: Topic, request: DigestRequest
) -> None:
    """One digest at a time per chat: a request made while another is made or within the
    cooldown waits for its turn (a few per chat; more are turned away with one line)."""
    svc = services(context)
    chat_id = _chat_id(update)
    waiting = svc.turns.waiting.get(chat_id, 0)
    if waiting >= MAX_WAITING:
        await reply(
            update,
            f"{waiting} digests are already waiting in this chat: ask again once they are here.",
        )
        return
    busy = svc.turns.lock(chat_id).locked() or svc.turns.cooldown_left(chat_id) > 0
    svc.turns.waiting[chat_id] = waiting + 1
    counted = True
    try:
        placeholder = None
        if busy:
            placeholder = await reply(update, f"Next in line: {h(topic.title)}…")
        async with svc.turns.lock(chat_id):
            svc.turns.waiting[chat_id] -= 1
            counted = False
            if (pause := svc.turns.cooldown_left(chat_id)) > 0:
                await asyncio.sleep(pause)
            svc.turns.start_cooldown(chat_id)
            now = svc.clock()
            window = Window(now - request.span, now)
            limit = ALL_STORIES if request.all_stories else DEFAULT_LIMIT
            progress = await _compose_showing_progress(
                update, context, svc, topic, window, limit, placeholder, brief=request.brief
            )
            await deliver(
                context, chat_id, progress.result.messages, placeholder=progress.placeholder,
                answering=_message(update), markup=more_button(progress.result.next_page),
            )  # fmt: skip
            await svc.digests.record(chat_id, topic, "command", progress.result)
    finally:
        if counted:
            svc.turns.waiting[chat_id] -= 1


@dataclass(slots=True)
class _Progress:
    result: Composed
    placeholder: Message | None


async def _compose_showing_progress(
    update: Update,
    context: Context,
    svc: BotServices,
    topic: Topic,
    window: Window,
    limit: int = DEFAULT_LIMIT,
    placeholder: Message | None = None,
    brief: bool = False,
) -> _Progress:
    """Typing while we work; after a moment, a placeholder the digest will replace (or
    the one that says the request waited its turn)."""
    chat_id = _chat_id(update)
    task = asyncio.create_task(
        svc.digests.compose(chat_id, topic, window, limit=limit, brief=brief)
    )
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
    context: Context,
    chat_id: int,
    messages: list[str],
    placeholder: Message | None = None,
    answering: Message | None = None,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send the messages in order. The first replaces the placeholder when there is one, or
    answers the command message so a busy group sees what it answers; in a forum group
    every message stays in the command's topic. `markup` goes under the last message."""
    thread_id = None
    if answering is not None and answering.is_topic_message:
        thread_id = answering.message_thread_id
    for index, text in enumerate(messages):
        buttons = markup if index == len(messages) - 1 else None
        if index == 0 and placeholder is not None:
            await placeholder.edit_text(text, reply_markup=buttons)
        elif index == 0 and answering is not None:
            await context.bot.send_message(
                chat_id,
                text,
                message_thread_id=thread_id,
                reply_parameters=ReplyParameters(
                    answering.message_id, allow_sending_without_reply=True
                ),
                reply_markup=buttons,
            )
        else:
            await context.bot.send_message(
                chat_id, text, message_thread_id=thread_id, reply_markup=buttons
            )


# ----- "More" -------------------------------------------------------------------------


async def more_pressed(update: Update, context: Context) -> None:
    """The "More" button under a long digest: the next page of the same digest (same
    window, same ranking) in the same chat. A button works once, and for a week, also
    after a restart; an older or unknown one says it expired."""
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = services(context)
    chat_id = _chat_id(update)
    page_id = int(query.data.removeprefix(MORE_PREFIX))
    page = await svc.store.take_digest_page(page_id, chat_id, svc.clock())
    topic = svc.topic_named(page.topic, page.query) if page else None
    if page is None or topic is None or svc.clock() - page.created_at > PAGE_KEEP:
        await _answer(query, "This button has expired: ask for the digest again.")
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        return
    await _answer(query)
    origin = query.message if isinstance(query.message, Message) else None
    try:
        async with svc.turns.lock(chat_id):
            composed = await svc.digests.compose(
                chat_id, topic, Window(page.since, page.until), exclude_seen=page.exclude_seen,
                limit=page.page_size, shown_before=page.shown,
            )  # fmt: skip
            messages = composed.messages
            if not composed.digest.items:
                messages = [f"Nothing more in this {h(topic.title)} digest."]
            await deliver(
                context, chat_id, messages, answering=origin, markup=more_button(composed.next_page)
            )
            await svc.digests.record(chat_id, topic, "more", composed)
    except BaseException:
        await svc.store.release_digest_page(page.id)
        raise
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)  # spent: the new page has its own


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; a query answered too late is not worth an error."""
    with contextlib.suppress(TelegramError):
        await query.answer(text)


# ----- search -------------------------------------------------------------------------


SEARCH_USAGE = "Usage: /search &lt;words&gt; [12h|3d|1w], e.g. /search Кукурики 3d"


@with_user_errors
async def search_command(update: Update, context: Context) -> None:
    """/search <words> [span]: matching posts (any inflected form), newest first, as plain
    text with links; when none is in the span, the latest earlier one."""
    svc = services(context)
    try:
        words, span = split_span(context.args or [])
    except SpanError as exc:
        await reply(update, f"{h(str(exc))}\n{SEARCH_USAGE}")
        return
    if not words:
        await reply(update, SEARCH_USAGE)
        return
    query = clip(" ".join(words))
    match = match_word_forms(query)
    now, tz = svc.clock(), svc.settings.tz
    posts = await svc.store.search(match, since=now - span, limit=SEARCH_LIMIT)
    if not posts:
        earlier = await svc.store.latest_post(match, before=now - span)
        await reply(update, no_match(query, span, earlier, tz, now))
        return
    parts = search_parts(query, posts, tz, now)
    await deliver(context, _chat_id(update), pack_messages(parts), answering=_message(update))


# ----- information --------------------------------------------------------------------


async def topics_command(update: Update, context: Context) -> None:
    parts = topic_parts(list(services(context).topics.values()))
    await deliver(context, _chat_id(update), pack_messages(parts), answering=_message(update))


async def sources_command(update: Update, context: Context) -> None:
    """The polled sources and their health, then every stored channel: its posts, their
    dates and how they arrive (a channel known only from an import is a source too)."""
    svc = services(context)
    sources = await svc.store.sources(enabled_only=True)
    channels = await svc.store.channel_summaries()
    if not sources and not channels:
        await reply(update, "No sources yet. An admin can /addsource @channel.")
        return
    parts = sources_parts(sources, channels, svc.settings.tz, svc.clock())
    await deliver(context, _chat_id(update), pack_messages(parts), answering=_message(update))


async def status_command(update: Update, context: Context) -> None:
    svc = services(context)
    usage = await svc.store.llm_tokens_on(svc.clock().astimezone(UTC).date())
    posts = await svc.store.count_posts()
    sources = await svc.store.sources(enabled_only=True)
    await reply(update, status_html(posts, sources, svc.summariser_name, usage, svc.settings.tz))


# ----- admin: sources -----------------------------------------------------------------


async def _admin_source_argument(update: Update, context: Context, command: str) -> str | None:
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
async def addsource_command(update: Update, context: Context) -> None:
    username = await _admin_source_argument(update, context, "addsource")
    if username is None:
        return
    user = update.effective_user
    origin = f"admin:{user.id if user else '?'}"
    svc = services(context)
    _, created = await svc.store.add_source(username, origin, svc.clock())
    await reply(
        update,
        f"Added @{h(username)}; its first posts arrive with the next poll."
        if created
        else f"@{h(username)} is already a source.",
    )


@with_user_errors
async def removesource_command(update: Update, context: Context) -> None:
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
    """A topic to subscribe to: a configured one, or `digest` (every source)."""
    key = name.strip().lstrip("/").lower()
    topic = svc.topic_named(key) if key != "query" else None
    if topic is None:
        raise WirebriefError(
            f"No topic {name[:40]!r}. Topics: {', '.join(svc.topics)}, or digest (every source)"
        )
    return topic


@with_user_errors
async def subscribe_command(update: Update, context: Context) -> None:
    """/subscribe <topic> [HH:MM]: a daily digest in this chat."""
    svc = services(context)
    args = context.args or []
    if not args:
        await reply(
            update,
            "Usage: /subscribe &lt;topic&gt; [HH:MM], e.g. /subscribe belarus 08:00; "
            "/subscribe digest 08:00 for the top stories of every source",
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
async def unsubscribe_command(update: Update, context: Context) -> None:
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


async def subscriptions_command(update: Update, context: Context) -> None:
    svc = services(context)
    subs = await svc.store.subscriptions(_chat_id(update))
    if not subs:
        await reply(update, "No daily digests in this chat. Try /subscribe belarus 08:00")
        return
    titles = {sub.topic: topic.title for sub in subs if (topic := svc.topic_named(sub.topic))}
    await reply(update, subscriptions_html(subs, titles, svc.settings.tz))


# ----- unknown and old commands -------------------------------------------------------


async def unknown_command(update: Update, context: Context) -> None:
    """A private chat's command we do not have gets a pointer, not silence. (In groups a
    command may be meant for another bot: silence there.)"""
    text = _message(update).text or ""
    command = text.split(maxsplit=1)[0].split("@", 1)[0][:40]
    await reply(update, f"I don't know {h(command)}. /help lists what I can do.")


async def stale_command(update: Update, context: Context) -> None:
    """A command sent while the bot was down, older than STALE_AFTER: not answered (a
    "last 24 hours" digest of then is not what anyone wants now, and a backlog of answers
    floods the chat), but the chat is told once, so nobody waits for it."""
    svc = services(context)
    chat_id = _chat_id(update)
    if addressed_to_other_bot(_message(update).text or "", context.bot.username):
        return  # `/belarus@otherbot`: not ours to answer, late or not
    if not svc.stale_told.due(chat_id, STALE_NOTICE_EVERY):
        return
    sent = when_text(_message(update).date, svc.settings.tz)
    await reply(
        update,
        f"This request is from {h(sent)}, while the bot was offline, and was not answered. "
        "Ask again if you still want it.",
    )
