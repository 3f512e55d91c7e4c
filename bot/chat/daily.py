"""Daily digests: due subscriptions are sent by a tick that reads the clock.

Schedules live in SQLite, not in the job queue: a tick every half minute compares each
subscription's time of day with the (injectable) clock. A restart loses nothing, a bot
that was down at 08:00 sends the 08:00 digest when it comes back, and tests drive the
clock instead of sleeping for hours.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram.error import ChatMigrated, NetworkError, RetryAfter, TelegramError

from bot.chat.context import Context, services
from bot.chat.replies import more_button
from bot.chat.services import BotServices
from bot.digest.window import Window
from bot.store import Subscription

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0
MAX_WINDOW = timedelta(days=7)
LATE_POST_MARGIN = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=12)


def due_at(sub: Subscription, now: datetime, svc: BotServices) -> datetime:
    """Today's send time of `sub` (in TIMEZONE), as an aware datetime."""
    hour, minute = (int(x) for x in sub.time_of_day.split(":"))
    local = now.astimezone(svc.settings.tz)
    return datetime.combine(local.date(), time(hour, minute), tzinfo=svc.settings.tz)


def is_due(sub: Subscription, now: datetime, svc: BotServices) -> bool:
    due = due_at(sub, now, svc)
    if now < due:
        return False
    if sub.last_sent_at is not None and sub.last_sent_at >= due:
        return False
    # Subscribed after today's time: the first digest comes tomorrow.
    return sub.created_at < due


async def sync_configured(svc: BotServices) -> None:
    """DIGEST_CHAT_IDS × DIGEST_TOPICS at DIGEST_TIME: added when missing, never forced
    back on a chat that moved or turned its digest off."""
    topics = svc.settings.digest_topics or (["belarus"] if "belarus" in svc.topics else [])
    at = svc.settings.digest_time.strftime("%H:%M")
    for chat_id in svc.settings.digest_chat_ids:
        for name in topics:
            if svc.topic_named(name) is not None:
                await svc.store.ensure_configured_subscription(chat_id, name, at, svc.clock())
            else:
                log.warning("DIGEST_TOPICS names %r, which is not a topic", name)


def may_receive(svc: BotServices, chat_id: int) -> bool:
    """A chat taken out of ALLOWED_CHAT_IDS (and DIGEST_CHAT_IDS) gets nothing more."""
    settings = svc.settings
    return chat_id in settings.allowed_chat_ids or chat_id in settings.digest_chat_ids


async def send_due(svc: BotServices, context: Context) -> list[int]:
    """Send every due digest; returns the subscription ids handled (sent or given up)."""
    now = svc.clock()
    handled = []
    for sub in await svc.store.subscriptions():
        if not is_due(sub, now, svc) or svc.topic_named(sub.topic) is None:
            continue
        if not may_receive(svc, sub.chat_id):
            continue
        if svc.daily_retries.waiting(sub.id):
            continue
        if await send_one(svc, context, sub, now):
            svc.daily_retries.succeeded(sub.id)
            await svc.store.mark_subscription_sent(sub.id, now)
            handled.append(sub.id)
    return handled


async def send_one(svc: BotServices, context: Context, sub: Subscription, now: datetime) -> bool:
    """One daily digest. True when it is done for today (delivered, or given up)."""
    topic = svc.topic_named(sub.topic)
    assert topic is not None  # checked by send_due
    # Start a little before the last digest: a post dated 07:58 but fetched at 08:03 still
    # belongs to someone's digest. What the chat has already received is left out anyway.
    overlap = timedelta(seconds=svc.settings.poll_interval_seconds) + LATE_POST_MARGIN
    since = (sub.last_sent_at - overlap) if sub.last_sent_at else now - timedelta(hours=24)
    window = Window(max(since, now - MAX_WINDOW), now)
    delivered = 0
    async with svc.turns.lock(sub.chat_id):
        composed = await svc.digests.compose(sub.chat_id, topic, window, exclude_seen=True)
        markup = more_button(composed.next_page)
        try:
            for index, text in enumerate(composed.messages):
                last = index == len(composed.messages) - 1
                await context.bot.send_message(
                    sub.chat_id, text, reply_markup=markup if last else None
                )
                delivered += 1
        except ChatMigrated as exc:
            log.info("chat %s is now %s; its subscriptions follow", sub.chat_id, exc.new_chat_id)
            await svc.store.move_chat(sub.chat_id, exc.new_chat_id)
            return False
        except TelegramError as exc:
            if delivered == 0:
                return give_up_or_retry(svc, sub, now, exc)
            log.warning(
                "daily %s to %s: %d of %d messages sent, then %s",
                topic.name, sub.chat_id, delivered, len(composed.messages), exc,
            )  # fmt: skip
        await svc.digests.record(sub.chat_id, topic, "daily", composed)
    return True


def give_up_or_retry(svc: BotServices, sub: Subscription, now: datetime, exc: Exception) -> bool:
    """Network trouble is retried with backoff until the day is over; a refusal is final."""
    if isinstance(exc, NetworkError | RetryAfter) and now < due_at(sub, now, svc) + GIVE_UP_AFTER:
        delay = svc.daily_retries.next_delay(sub.id)
        attempts = svc.daily_retries.failed(sub.id, delay)
        log.warning(
            "daily %s to %s failed (%s); retry %d in %.0f s",
            sub.topic, sub.chat_id, exc, attempts, delay,
        )  # fmt: skip
        return False
    log.error("daily %s to %s given up for today: %s", sub.topic, sub.chat_id, exc)
    return True


async def daily_tick(context: Context) -> None:
    """The JobQueue callback."""
    svc = services(context)
    svc.track_current_task()
    try:
        await send_due(svc, context)
    except Exception:
        log.exception("daily digests tick failed")
