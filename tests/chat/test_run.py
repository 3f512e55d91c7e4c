"""`wirebrief run` as a process: polls t.me, answers in Telegram, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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


REVOKED_TOKEN = "987654321:AAHrevokedTokenThatTheServerRejects_0123"


def _run_env(api: FakeBotAPI, db: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "BOT_API_URL": api.base_url,
        "TME_URL": "http://127.0.0.1:9",  # no sources: never fetched
        "DATABASE_PATH": str(db),
        "ALLOWED_CHAT_IDS": str(GROUP),
        "BOT_TOKEN": api.token,
    }
    env.update(extra)
    return env


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_rejected_token_is_one_line_that_names_the_setting_not_the_token(
    tmp_path: Path, log_format: str
) -> None:
    async with FakeBotAPI() as api:
        env = _run_env(api, tmp_path / "run.db", BOT_TOKEN=REVOKED_TOKEN, LOG_FORMAT=log_format)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert [r.status for r in api.calls("getMe")] == [401]
    output = (out + err).decode()
    assert proc.returncode == 2, output
    secret_part = REVOKED_TOKEN.split(":")[1]
    assert secret_part not in output and secret_part[:12] not in output
    assert "Traceback" not in output
    last = output.strip().splitlines()[-1]
    assert last.startswith("wirebrief: error: the Bot API rejected BOT_TOKEN"), output


async def test_an_unreachable_bot_api_is_retried_with_one_line_each_time(tmp_path: Path) -> None:
    """The Bot API answers 502 at start: `run` logs one line per attempt (no traceback),
    keeps waiting, and answers commands once the API is back."""
    async with FakeBotAPI() as api:
        api.set_down(True)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=_run_env(api, tmp_path / "run.db"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for("getMe", 2, timeout=30)
            api.set_down(False)
            await api.wait_for("setMyCommands", 1, timeout=30)
            api.user_message(GROUP, "/status", user_id=7)
            await api.wait_for("sendMessage", 1, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "Traceback" not in log
    waits = [line for line in log.splitlines() if "cannot be reached" in line]
    assert len(waits) >= 2 and all("retrying in" in line for line in waits), log[-2000:]
    assert api.token not in log


async def test_stopping_while_the_bot_api_is_unreachable_is_quick_and_clean(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api:
        api.set_down(True)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=_run_env(api, tmp_path / "run.db"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await api.wait_for("getMe", 1, timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()


async def test_sigterm_stops_within_ten_seconds_whatever_is_queued(tmp_path: Path) -> None:
    """A backlog of commands, every reply held back by Telegram's flood control (a 429 with
    retry_after 30): `Application.stop` alone would wait for all of them. SIGTERM ends the
    process within Docker's 10 s all the same, cleanly."""
    async with FakeBotAPI() as api:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            env=_run_env(api, tmp_path / "run.db", CHAT_COOLDOWN_SECONDS="0"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for("setMyCommands", 1, timeout=30)
            api.fail_next(
                "sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30, times=1000
            )
            for n in range(30):
                api.user_message(GROUP, "/status" if n % 2 else "/belarus 3d", user_id=7)
            await api.wait_for("sendMessage", 5, timeout=30)  # the replies are held back
        finally:
            started = asyncio.get_running_loop().time()
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise AssertionError("wirebrief run ignored SIGTERM for 30 s") from None
            took = asyncio.get_running_loop().time() - started
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert took < 10, (took, log[-2000:])
    assert "requests still in progress after 7 s are cancelled" in log
    assert "Traceback" not in log and api.token not in log
