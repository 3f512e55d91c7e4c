"""`wirebrief run` as a process: polls t.me, answers in Telegram, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.chat.conftest import GROUP
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.tme_server import FakeTme


async def test_run_polls_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, FakeTme() as tme:
        channel = tme.channel("noel_reports", "Noel Reports")
        channel.add(
            3, start=datetime.now(UTC) - timedelta(hours=1),
            text="Lukashenko orders border checks near Brest, report {id}",
        )  # fmt: skip
        db = tmp_path / "run.db"
        env = {
            **os.environ,
            "BOT_TOKEN": api.token,
            "BOT_API_URL": api.base_url,
            "TME_URL": tme.base_url,
            "SOURCES": "noel_reports",
            "DATABASE_PATH": str(db),
            "ALLOWED_CHAT_IDS": str(GROUP),
            "LOG_LEVEL": "DEBUG",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for("setMyCommands", 1, timeout=30)
            await tme.wait_for_requests("noel_reports", 1, within=30)
            await api.wait_for("getUpdates", 2, timeout=30)
            # The poller stored the channel's posts; a /digest finds them.
            for _ in range(100):
                conn = sqlite3.connect(db)
                count = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
                conn.close()
                if count == 3:
                    break
                await asyncio.sleep(0.1)
            api.user_message(GROUP, "/digest Brest 1w", user_id=7)
            await api.wait_for("sendMessage", 1, timeout=30)
            assert "Lukashenko orders border checks near Brest" in api.texts_to(GROUP)[0]
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        log = err.decode()
        assert proc.returncode == 0, log[-2000:]
        assert "stopping" in log
        assert api.token not in log and api.token.split(":")[1] not in log
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
