"""Prove FakeBotAPI behaves like Telegram as far as a real PTB Bot/Application can tell.

Why: other end-to-end tests trust this fake to reject what Telegram would reject (bad HTML,
over-long text) and to drive PTB's polling loop realistically; if the fake drifts, those tests
silently prove nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from .botapi import MAX_MESSAGE_LENGTH, FakeBotAPI, HtmlParseError, parse_html

GROUP = -1001234567890


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


def build_app(
    api: FakeBotAPI, token: str | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    return (
        ApplicationBuilder()
        .token(token or api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    app = build_app(api)
    async with app:
        yield app.bot


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after is an int or a timedelta depending on PTB_TIMEDELTA; normalise it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ------------------------------------------------------------------ pure HTML parser


def test_parse_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html('😀 <b>bold</b> <a href="https://x.io/?a=1&amp;b=2">link</a>')
    assert text == "😀 bold link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 4, "url": "https://x.io/?a=1&b=2"},
    ]


def test_parse_html_pre_with_language_and_spoilers() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        "<blockquote expandable>q</blockquote>&#39;&#x27;&quot;&lt;&gt;"
    )
    assert text == "x = 1stq''\"<>"
    types = [(e["type"], e.get("language")) for e in entities]
    assert types == [
        ("pre", "python"),
        ("spoiler", None),
        ("spoiler", None),
        ("expandable_blockquote", None),
    ]


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag"),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("line<br>next", 'Unsupported start tag "br"'),
        ("a < b", 'Unsupported start tag ""'),
        ("AT&T", 'Unescaped "&"'),
        ("&nbsp;", 'Unescaped "&"'),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ('<a href="x>y', "Unclosed start tag"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(html: str, fragment: str) -> None:
    with pytest.raises(HtmlParseError, match=None) as info:
        parse_html(html)
    assert fragment in str(info.value)


# ------------------------------------------------------------------ Bot over HTTP


async def test_get_me_send_and_edit(api: FakeBotAPI, bot: Bot) -> None:
    assert bot.username == api.bot_username
    assert bot.id == 123456
    assert [r.method for r in api.requests] == ["getMe"]

    msg = await bot.send_message(
        GROUP,
        "<b>Digest</b> &amp; more",
        parse_mode="HTML",
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert msg.message_id == 1
    assert msg.chat.id == GROUP and msg.chat.type == "supergroup"
    assert msg.text == "Digest & more"
    assert msg.entities[0].type == "bold"
    assert msg.from_user is not None and msg.from_user.id == bot.id

    (call,) = api.calls("sendMessage")
    assert call.params["chat_id"] == GROUP
    assert call.params["text"] == "<b>Digest</b> &amp; more"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert api.sent[0]["message_id"] == 1

    edited = await bot.edit_message_text("Digest v2", chat_id=GROUP, message_id=msg.message_id)
    assert not isinstance(edited, bool) and edited.text == "Digest v2"
    assert api.texts_to(GROUP) == ["Digest v2"]
    assert api.sent[0]["text"] == "Digest & more"  # `sent` keeps what was returned at send time

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Digest v2", chat_id=GROUP, message_id=msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)

    assert await bot.delete_message(GROUP, msg.message_id) is True
    assert api.messages_to(GROUP) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(GROUP, msg.message_id)


async def test_text_stays_string_and_reply_parameters(api: FakeBotAPI, bot: Bot) -> None:
    update = api.user_message(42, "hello", chat_type="private")
    user_msg_id = update["message"]["message_id"]
    reply = await bot.send_message(42, "123", reply_parameters=ReplyParameters(user_msg_id))
    assert reply.text == "123"
    assert api.calls("sendMessage")[0].params["text"] == "123"
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == user_msg_id
    assert reply.message_id == user_msg_id + 1  # ids are shared per chat, like Telegram
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(42, "x", reply_parameters=ReplyParameters(777))


# PTB reads RetryAfter.retry_after in its own __init__, which warns unless PTB_TIMEDELTA is set.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_and_scripted_errors(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(GROUP, "x")
    assert retry_seconds(info.value) == 7
    assert api.calls("sendMessage")[0].status == 429
    assert api.messages_to(GROUP) == []  # a failed call has no side effects

    await bot.send_message(GROUP, "after")  # the scripted failure was used up
    assert api.texts_to(GROUP) == ["after"]

    api.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the group chat", times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was kicked"):
            await bot.send_message(GROUP, "y")
    api.fail_next("sendChatAction", 500, "Internal Server Error")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_chat_action(GROUP, "typing")

    api.forbid_chat(GROUP, "Forbidden: bot is not a member of the channel chat")
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(GROUP, "z")
    api.forbid_chat(GROUP, None)
    await bot.send_message(GROUP, "z")


@pytest.mark.parametrize(
    "html",
    [
        "<b>unclosed",
        "2 < 3",
        "Q&A",
        "<br>",
        "<i><b>x</i></b>",
        '<a href="https://a.b/?x=1&y=2">l</a>',
    ],
)
async def test_bad_html_is_bad_request(api: FakeBotAPI, bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(GROUP, html, parse_mode="HTML")
    assert api.messages_to(GROUP) == []


async def test_length_limit_counts_visible_text(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(GROUP, "x" * (MAX_MESSAGE_LENGTH + 1))
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(GROUP, "&amp;" * (MAX_MESSAGE_LENGTH + 1), parse_mode="HTML")
    # Tags and entity spelling do not count: exactly 4096 visible characters is fine.
    await bot.send_message(GROUP, "<b>" + "&lt;" * MAX_MESSAGE_LENGTH + "</b>", parse_mode="HTML")
    msg = await bot.send_message(GROUP, "x" * MAX_MESSAGE_LENGTH)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.edit_message_text("y" * (MAX_MESSAGE_LENGTH + 1), GROUP, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(GROUP, "<b> </b>", parse_mode="HTML")


async def test_commands_webhook_chat_and_unknown(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([("digest", "Send the digest"), ("ping", "Check")])
    commands = await bot.get_my_commands()
    assert [c.command for c in commands] == ["digest", "ping"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Digest", "uppercase is invalid")])

    api.channel_post(-1009, "post", username="newschan", title="News")
    chat = await bot.get_chat("@newschan")
    assert chat.id == -1009 and chat.type == "channel" and chat.title == "News"
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat("@nope")

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert api.calls("noSuchMethod")[0].status == 404

    with pytest.raises(BadRequest, match=r"(?i)multipart"):
        await bot.send_document(GROUP, b"data", filename="a.txt")


async def test_wrong_token_is_invalid_token(api: FakeBotAPI) -> None:
    app = build_app(api, token="999:WRONG")
    try:
        with pytest.raises(InvalidToken):
            await app.initialize()
    finally:
        # A failed initialize leaves the bot's httpx clients open; app.shutdown() is a no-op then.
        await app.bot.shutdown()
    assert api.requests[0].status == 401


async def test_down_gives_network_error(api: FakeBotAPI, bot: Bot) -> None:
    api.set_down(True)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(GROUP, "x")
    api.set_down(False)
    await bot.send_message(GROUP, "x")


async def test_wait_for_times_out_with_helpful_message(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(AssertionError, match=r"(?s)sendMessage.*getMe -> 200"):
        await api.wait_for("sendMessage", timeout=0.1)


# ------------------------------------------------------------------ getUpdates semantics


async def test_get_updates_holds_until_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    start = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    assert time.monotonic() - start < 0.5

    loop = asyncio.get_running_loop()
    loop.call_later(0.3, api.user_message, GROUP, "hi")
    start = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 2, elapsed
    assert [u.message.text for u in updates if u.message] == ["hi"]

    start = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert 0.9 <= time.monotonic() - start < 2


async def test_offset_confirms_and_negative_offset(api: FakeBotAPI, bot: Bot) -> None:
    for i in range(3):
        api.user_message(GROUP, f"m{i}")
    first = await bot.get_updates(limit=2)
    assert len(first) == 2
    again = await bot.get_updates()  # unconfirmed updates are delivered again, like Telegram
    assert [u.update_id for u in again][:2] == [u.update_id for u in first]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["m2"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()

    for i in range(3):
        api.user_message(GROUP, f"n{i}")
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["n2"]


async def test_newer_poll_terminates_older_one(api: FakeBotAPI) -> None:
    url = f"{api.base_url}{api.token}/getUpdates"
    async with httpx.AsyncClient() as client:
        older = asyncio.create_task(client.post(url, data={"timeout": "5"}))
        await api.wait_for("getUpdates")
        newer = await client.post(url, data={"timeout": "0"})
        old = await older
    assert newer.json() == {"ok": True, "result": []}
    assert old.status_code == 409
    assert "terminated by other getUpdates request" in old.json()["description"]


# ------------------------------------------------------------------ a real Application


async def test_application_polling_replies_and_never_sees_duplicates(api: FakeBotAPI) -> None:
    seen: list[int] = []

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append(update.update_id)
        await update.effective_message.reply_text("<b>pong</b>", parse_mode="HTML")

    app = build_app(api)
    app.add_handler(CommandHandler("ping", ping))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await api.wait_for("getUpdates")
            api.user_message(GROUP, "/ping@wirebrief_test_bot")
            await api.wait_for("sendMessage")
            api.user_message(GROUP, "/ping")
            api.user_message(GROUP, "/ping extra args", user_id=7)
            api.user_message(GROUP, "not a command")
            await api.wait_for("sendMessage", count=3)
        finally:
            await app.updater.stop()
            await app.stop()

    assert api.texts_to(GROUP) == ["pong", "pong", "pong"]
    assert api.messages_to(GROUP)[0]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert len(seen) == len(set(seen)) == 3
    delivered = api.delivered_update_ids()
    assert len(delivered) == len(set(delivered)) == 4
    assert [r.method for r in api.requests[:2]] == ["getMe", "deleteWebhook"]
    assert api.pending_updates == []  # the shutdown getUpdates confirmed everything


async def test_inline_keyboards_callback_queries_and_reply_markup_edits(
    api: FakeBotAPI, bot: Bot
) -> None:
    """What the "More" buttons rely on: keyboards are checked like Telegram checks them,
    a press arrives as a callback_query with the message, a query is answered once, and a
    keyboard can be replaced or removed (not "modified" into the same one)."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    sent = await bot.send_message(GROUP, "page 1", reply_markup=keyboard)
    assert sent.reply_markup == keyboard
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(GROUP, "page 1", reply_markup=too_long)
    update = Update.de_json(api.callback_query(GROUP, sent.message_id, "more:1"), bot)
    assert update is not None and update.callback_query is not None
    query = update.callback_query
    assert query.data == "more:1" and query.message is not None
    assert query.message.reply_markup == keyboard  # type: ignore[union-attr]
    assert await bot.answer_callback_query(query.id, "ok") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)  # once only
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=keyboard)
    edited = await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=None)
    assert isinstance(edited, Message) and edited.reply_markup is None
    assert "reply_markup" not in api.messages_to(GROUP)[0]
