"""The one place that turns a post into its public link."""

from __future__ import annotations

from urllib.parse import quote

PUBLIC_TME = "https://t.me"


def post_url(username: str | None, peer_id: int | None, message_id: int) -> str:
    """`https://t.me/<username>/<id>`, or `https://t.me/c/<peer id>/<id>` for private channels.

    Links always point at the public t.me, whatever TME_URL the poller reads from, because
    they are meant for people.
    """
    if username:
        # Usernames are checked on every way in; a stored one that is not a username (an
        # older database) is still only a path segment here, never markup or another URL.
        return f"{PUBLIC_TME}/{quote(username, safe='')}/{message_id}"
    if peer_id is None:
        raise ValueError("a post link needs a channel username or id")
    return f"{PUBLIC_TME}/c/{peer_id}/{message_id}"


def bare_peer_id(chat_id: int) -> int:
    """Strip the Bot API's -100 prefix: -1001101170442 -> 1101170442.

    Exports and t.me/c/ links use the bare id; the Bot API and some dumps use the prefixed one.
    """
    if chat_id < 0:
        text = str(-chat_id)
        if text.startswith("100") and len(text) > 10:
            return int(text[3:])
        return -chat_id
    return chat_id
