"""The web preview extraction of `bot.ingest.webpreview`, written with BeautifulSoup + lxml.

A faithful, minimal port for the parser benchmark: the same fields (id, date, text with
links and line breaks, views, edited, media kind, forwarded from, author, reply to, album
members folded in, page channel, title and paging cursors) by the same rules, in the
idiomatic BeautifulSoup way (`find_all` by class, which is faster than CSS `select`).
The bench checks that it returns the same posts as the product parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString

from bot.ingest.webpreview import (
    _BLOCK_TAGS,
    _DATA_POST,
    _NOT_OWN,
    _NOT_OWN_TEXT,
    _PREVIEW,
    _REPLY,
    _SKIP_CLASSES,
    _SKIP_TAGS,
    _SPACES,
    _USERNAME,
    _clean_href,
    _int_or_none,
    _join,
    _parse_date,
    _path_of,
    _render_link,
    _TextBuilder,
    parse_views,
)
from bot.models import ChannelRef, IncomingPost

_MEDIA: tuple[tuple[tuple[str, ...], str], ...] = (
    (("tgme_widget_message_grouped_wrap",), "album"),
    (("tgme_widget_message_poll",), "poll"),
    (("tgme_widget_message_voice", "tgme_widget_message_voice_player"), "voice"),
    (("tgme_widget_message_document",), "document"),
    (
        (
            "tgme_widget_message_sticker",
            "tgme_widget_message_tgsticker",
            "tgme_widget_message_videosticker",
            "tgme_widget_message_sticker_wrap",
        ),
        "sticker",
    ),
    (("tgme_widget_message_video_player", "tgme_widget_message_roundvideo_player"), "video"),
    (("tgme_widget_message_photo_wrap",), "photo"),
    (("tgme_widget_message_location_wrap", "tgme_widget_message_location"), "location"),
    (("tgme_widget_message_contact",), "contact"),
    (("tgme_widget_message_link_preview",), "link_preview"),
)


@dataclass
class Bs4Page:
    """The page as the BeautifulSoup port reads it."""

    channel: str | None = None
    title: str | None = None
    posts: list[IncomingPost] = field(default_factory=list)
    before: int | None = None
    after: int | None = None


def _attr(node: Tag, name: str) -> str | None:
    """A single-valued attribute as a string (bs4 types them loosely)."""
    value = node.get(name)
    return None if value is None else str(value)


def _classes(node: Tag) -> set[str]:
    value = node.get("class")
    if not value:
        return set()
    return set(value) if isinstance(value, list) else set(str(value).split())


def _has_class(*names: str) -> Any:
    wanted = set(names)
    return lambda value: value is not None and value in wanted


def _inside(node: Tag, stop: Tag, classes: frozenset[str] | set[str]) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop:
        if _classes(parent) & classes:
            return True
        parent = parent.parent
    return False


def _own(widget: Tag, names: tuple[str, ...], blocked: frozenset[str] = _NOT_OWN) -> Tag | None:
    for node in widget.find_all(class_=_has_class(*names)):
        if not _inside(node, widget, blocked):
            return node
    return None


def _plain(node: Tag | None) -> str | None:
    if node is None:
        return None
    text = _SPACES.sub(" ", node.get_text()).strip()
    return text or None


def _hidden(node: Tag) -> bool:
    style = node.get("style")
    return isinstance(style, str) and "display:none" in style.replace(" ", "").lower()


def _node_text(root: Tag) -> str:
    out = _TextBuilder()
    stack: list[tuple[int, Any, int]] = [(0, c, 0) for c in reversed(list(root.children))]
    while stack:
        action, node, start = stack.pop()
        if action == 2:
            out.soft_break()
            continue
        if action == 1:
            text = _SPACES.sub(" ", "".join(out.pieces[start:])).strip()
            rendered = _render_link(text, _clean_href(node.get("href")))
            if rendered != text:
                out.replace_from(start, rendered)
            continue
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:
                out.add(_SPACES.sub(" ", str(node)))
            continue  # comments, doctypes, CDATA
        tag = node.name
        if tag in _SKIP_TAGS:
            continue
        if tag == "br":
            out.add("\n")
            continue
        classes = _classes(node)
        if classes & _SKIP_CLASSES or _hidden(node):
            continue
        if tag == "img":
            if "emoji" in classes:
                out.add(node.get("alt") or "")
            continue
        if tag in _BLOCK_TAGS:
            out.soft_break()
            stack.append((2, node, 0))
        if tag == "a":
            stack.append((1, node, len(out.pieces)))
        stack.extend((0, c, 0) for c in reversed(list(node.children)))
    return out.result()


def _time(widget: Tag) -> Tag | None:
    for date_link in widget.find_all(class_="tgme_widget_message_date"):
        for node in date_link.find_all("time", datetime=True):
            if not _inside(node, widget, _NOT_OWN):
                return node
    for node in widget.find_all("time", datetime=True):
        if not _inside(node, widget, _NOT_OWN):
            return node
    return None


def _media_kind(widget: Tag) -> str | None:
    for names, kind in _MEDIA:
        node = _own(widget, names)
        if node is not None:
            if kind == "document" and (
                "audio" in _classes(node)
                or any("audio" in _classes(n) for n in node.find_all(class_=True))
            ):
                return "audio"
            return kind
    return None


def _poll_text(widget: Tag) -> str:
    poll = _own(widget, ("tgme_widget_message_poll",))
    if poll is None:
        return ""
    question = _plain(poll.find(class_="tgme_widget_message_poll_question"))
    options = [
        f"• {text}"
        for text in (
            _plain(n) for n in poll.find_all(class_="tgme_widget_message_poll_option_text")
        )
        if text
    ]
    return "\n".join(part for part in [question or "", *options] if part)


def _says_edited(meta: Tag) -> bool:
    own = "".join(str(c) for c in meta.children if type(c) is NavigableString)
    if "edited" in own.lower():
        return True
    return any("edited" in " ".join(n.get("class") or []) for n in meta.find_all(class_=True))


def _read_post(
    widget: Tag, username: str, message_id: int, title: str | None
) -> IncomingPost | None:
    time_node = _time(widget)
    date = _parse_date(_attr(time_node, "datetime") if time_node is not None else None)
    if date is None:
        return None
    views_node = _own(widget, ("tgme_widget_message_views",))
    views = parse_views(views_node.get_text()) if views_node is not None else None
    meta = _own(widget, ("tgme_widget_message_meta",))
    edited = meta is not None and _says_edited(meta)
    media_kind = _media_kind(widget)
    blocks = [
        node
        for node in widget.find_all(class_="tgme_widget_message_text")
        if "js-message_reply_text" not in _classes(node)
        and not _inside(node, widget, _NOT_OWN_TEXT)
    ]
    text = _join(
        [*(_node_text(n) for n in blocks), _poll_text(widget) if media_kind == "poll" else ""]
    )
    preview_title = _plain(_own(widget, ("link_preview_title",), _NOT_OWN - {_PREVIEW}))
    if preview_title and preview_title.casefold() not in text.casefold():
        text = _join([text, preview_title])
    reply_to = None
    reply = _own(widget, (_REPLY,), _NOT_OWN - {_REPLY})
    if reply is not None and reply.name == "a" and reply.get("href"):
        path = _path_of(_attr(reply, "href"))
        if path and len(path) == 2 and path[0].lower() == username.lower():
            reply_to = _int_or_none(path[1])
    return IncomingPost(
        channel=ChannelRef(username=username, title=title),
        message_id=message_id,
        date=date,
        text=text,
        views=views,
        edit_date=date if edited else None,
        forwarded_from=_plain(_own(widget, ("tgme_widget_message_forwarded_from_name",))),
        media_kind=media_kind,
        author=_plain(_own(widget, ("tgme_widget_message_from_author",))),
        reply_to=reply_to,
    )


def _page_channel(soup: BeautifulSoup) -> str | None:
    header = soup.find(class_="tgme_channel_info_header_username")
    if header is not None:
        name = header.get_text().strip().lstrip("@")
        if _USERNAME.fullmatch(name):
            return name
    links = soup.find_all(
        lambda t: (
            (t.name == "link" and (t.get("rel") or [None])[0] in {"canonical", "prev", "next"})
            or (t.name == "a" and "tgme_page_context_link" in _classes(t))
        )
    )
    for node in links:
        path = _path_of(_attr(node, "href"))
        if path and len(path) >= 2 and path[0] == "s" and _USERNAME.fullmatch(path[1]):
            return path[1]
    return None


def _cursors(soup: BeautifulSoup) -> tuple[int | None, int | None]:
    before = after = None
    for more in soup.find_all("a", class_="tme_messages_more"):
        before = before or _int_or_none(_attr(more, "data-before"))
        after = after or _int_or_none(_attr(more, "data-after"))
    for rel, key in (("prev", "before"), ("next", "after")):
        if (before if key == "before" else after) is not None:
            continue
        node = soup.find("link", rel=rel)
        if node is not None:
            match = re.search(rf"[?&]{key}=([0-9]+)", _attr(node, "href") or "")
            value = _int_or_none(match.group(1)) if match else None
            if key == "before":
                before = value
            else:
                after = value
    return before, after


def parse_page(html: str) -> Bs4Page:
    soup = BeautifulSoup(html, "lxml")
    widgets = soup.find_all(class_="tgme_widget_message")
    channel = _page_channel(soup)
    title = _plain(soup.find(class_="tgme_channel_info_header_title"))
    is_preview = (
        bool(widgets)
        or soup.find(class_=_has_class("tgme_channel_history", "tme_no_messages_found")) is not None
    )
    if not is_preview and title is None:
        page_title = soup.find(class_="tgme_page_title")
        title = _plain(page_title.find("span") if page_title else None) or _plain(page_title)
    by_key: dict[tuple[str, int], IncomingPost] = {}
    members: dict[tuple[str, int], set[int]] = {}
    for widget in widgets:
        if "service_message" in _classes(widget):
            continue
        ref = _DATA_POST.fullmatch(_attr(widget, "data-post") or "")
        if ref is None or int(ref.group(2)) == 0:
            continue
        username, message_id = ref.group(1), int(ref.group(2))
        if channel is None:
            channel = username
        post_title = title if title and username.lower() == channel.lower() else None
        post = _read_post(widget, username, message_id, post_title)
        if post is None:
            continue
        key = (username.lower(), message_id)
        by_key[key] = post
        if post.media_kind == "album":
            ids = set()
            for wrap in widget.find_all(class_="tgme_widget_message_grouped_wrap"):
                for link in wrap.find_all("a", href=True):
                    path = _path_of(_attr(link, "href"))
                    if path and len(path) == 2 and path[0].lower() == username.lower():
                        member = _int_or_none(path[1])
                        if member is not None:
                            ids.add(member)
            members[key] = ids - {message_id}
    for head, ids in members.items():
        for member in ids:
            key = (head[0], member)
            item = by_key.get(key)
            if item is None or key in members or head not in by_key:
                continue
            album = by_key[head]
            if item.text and item.text not in album.text:
                by_key[head] = replace(album, text=_join([album.text, item.text]))
            del by_key[key]
    posts = sorted(by_key.values(), key=lambda p: (p.date, p.message_id))
    before, after = _cursors(soup)
    return Bs4Page(channel, title, posts, before, after)


def comparable(post: IncomingPost) -> tuple[Any, ...]:
    return (
        post.channel.username,
        post.message_id,
        post.date,
        post.text,
        post.views,
        post.edit_date,
        post.forwarded_from,
        post.media_kind,
        post.author,
        post.reply_to,
    )


__all__ = ["Bs4Page", "comparable", "datetime", "parse_page"]
