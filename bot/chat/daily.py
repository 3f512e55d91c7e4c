"""Daily digests: due subscriptions are sent by a tick that reads the clock.

Schedules live in SQLite, not in the job queue: a tick every half minute compares each
subscription's time of day with the (injectable) clock. A restart loses nothing, a bot
that was down at 08:00 sends the 08:00 digest when it comes back, and tests drive the
clock instead of sleeping for hours.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.chat.access import services
from bot.chat.commands import deliver
from bot.chat.services import BotServices
from bot.digest.window import Window
from bot.store import Subscription

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0
MAX_WINDOW = timedelta(days=7)


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
    """DIGEST_CHAT_IDS × DIGEST_TOPICS at DIGEST_TIME become subscriptions."""
    topics = svc.settings.digest_topics or (["belarus"] if "belarus" in svc.topics else [])
    at = svc.settings.digest_time.strftime("%H:%M")
    for chat_id in svc.settings.digest_chat_ids:
        for name in topics:
            if name in svc.topics:
                await svc.store.subscribe(chat_id, name, at, origin="config", now=svc.clock())
            else:
                log.warning("DIGEST_TOPICS names %r, which is not a topic", name)


async def send_due(svc: BotServices, context: ContextTypes.DEFAULT_TYPE) -> list[int]:
    """Send every due digest; returns the subscription ids sent."""
    now = svc.clock()
    sent = []
    for sub in await svc.store.subscriptions():
        if not is_due(sub, now, svc) or sub.topic not in svc.topics:
            continue
        topic = svc.topics[sub.topic]
        since = sub.last_sent_at or now - timedelta(hours=24)
        window = Window(max(since, now - MAX_WINDOW), now)
        try:
            composed = await svc.compose(sub.chat_id, topic, window, exclude_seen=True)
            await deliver(context, sub.chat_id, composed.messages)
        except Forbidden:
            log.warning(
                "chat %s blocked the bot; its daily %s digest is skipped", sub.chat_id, topic.name
            )
        except TelegramError as exc:
            log.warning(
                "daily %s digest to %s failed: %s; retrying next tick", topic.name, sub.chat_id, exc
            )
            continue
        else:
            await svc.record(sub.chat_id, topic, "daily", composed)
        await svc.store.mark_subscription_sent(sub.id, now)
        sent.append(sub.id)
    return sent


async def daily_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue callback."""
    try:
        await send_due(services(context), context)
    except Exception:
        log.exception("daily digests tick failed")
