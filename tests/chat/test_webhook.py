"""Webhook mode: Telegram is told the URL and a secret; only requests with it are served."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx

from bot.chat.app import build_application
from bot.chat.runner import start_bot, stop_bot
from bot.chat.services import BotServices
from bot.digest.summary import ExtractiveSummariser
from bot.digest.topics import load_topics
from bot.store import Store
from tests.chat.conftest import GROUP, Clock, settings_for
from tests.fakes.botapi import FakeBotAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_registers_a_secret_and_serves_only_telegram(
    api: FakeBotAPI, demo_store: Store, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-updates"
    settings = settings_for(
        api, tmp_path, webhook_url=url, webhook_listen="127.0.0.1", webhook_port=port
    )
    svc = BotServices(settings, demo_store, load_topics(), ExtractiveSummariser(), Clock())
    app = build_application(svc)
    await start_bot(app, settings)
    try:
        [registered] = api.calls("setWebhook")
        assert registered.params["url"] == url
        secret = registered.params["secret_token"]
        assert len(secret) >= 32
        assert not api.calls("getUpdates")  # no long polling in webhook mode
        update = {
            "update_id": 1,
            "message": {
                "message_id": 5, "date": 1773216000, "text": "/status",
                "chat": {"id": GROUP, "type": "supergroup", "title": "Team"},
                "from": {"id": 7, "is_bot": False, "first_name": "A"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            },
        }  # fmt: skip
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, content=json.dumps(update))
            assert forged.status_code == 403  # no secret: not Telegram
            real = await client.post(
                url, content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"},
            )  # fmt: skip
            assert real.status_code == 200
        await api.wait_for("sendMessage", 1, timeout=10)
        await asyncio.sleep(0.2)
        assert len(api.texts_to(GROUP)) == 1 and api.texts_to(GROUP)[0].startswith("Status")
    finally:
        await stop_bot(app)
