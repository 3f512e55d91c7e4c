"""Reading Telegram's public web preview pages (`https://t.me/s/<channel>`): HTML -> posts.

Pure: no I/O and no network, so the poller can fetch however it likes and tests can feed
saved pages. Uses selectolax (lexbor) because the poller parses many pages and it is far
faster than BeautifulSoup.

Never raises on bad input: a page it cannot understand comes back with `is_preview`
False, and a post it can only partly read comes back with what could be read plus a line
in `PreviewPage.problems`. Posts without a readable id or date are skipped (and reported),
because the store cannot place them.

Decisions a caller should know:

- Edited posts: the page says "edited" but not when. `edit_date` is then set to the post's
  own `date`, as a marker: `edit_date == date` means "edited at an unknown time" (None
  would lose the fact). A real edit time from another source (an export) is better, so a
  store merging sources should not let this marker replace one.
- Links keep their text; the target is appended in parentheses, "text (https://...)",
  unless the text already is the URL (ignoring the scheme, "www." and a trailing slash) or
  is an @mention of that t.me address. Relative links (hashtag searches like `?q=%23tag`)
  and non-web schemes keep their text only. A literal `&amp;` left in a `href` (a
  t.me quirk since 2024) is decoded to `&`.
- Extra parts of a post are appended to its text as paragraphs: poll question with
  "• option" lines, and a link preview's title when the text does not already contain it.
- Line breaks come only from `<br>` and block elements; whitespace inside text nodes (the
  indentation of re-indented captures) collapses to one space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.models import ChannelRef, IncomingPost

PLACEHOLDER_LINES = frozenset(
    {
        "please open telegram to view this post",
        "view in telegram",
        "this media is not supported in your browser",
        "media is too big",
    }
)
"""Lines the page shows in place of content it will not render; never part of a text."""

_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_MESSAGE_ID = re.compile(r"[0-9]{1,18}")
_DATA_POST = re.compile(r"\s*([A-Za-z0-9_]{1,64})/([0-9]{1,18})\s*")
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0\u2028\u2029]+")
_INLINE_SPACES = re.compile(r"[ \t]+")
_AROUND_NEWLINE = re.compile(r" ?\n ?")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_VIEWS = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,6}))?\s?([KkMmBb]?)")
_GROUPED_VIEWS = re.compile(r"[0-9]{1,3}(?:[ ,\u00a0\u202f][0-9]{3}){1,5}")
_Key = tuple[str, int]
"""A post's identity on a page: lower-cased channel username and message id."""

_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}

_BLOCK_TAGS = frozenset(
    {
        "div",
        "p",
        "blockquote",
        "pre",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "hr",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "template", "svg", "noscript", "audio", "video"})
_SKIP_CLASSES = frozenset(
    {
        "tgme_widget_message_reply",
        "js-message_reply_text",
        "tgme_widget_message_link_preview",
        "media_not_supported_cont",
        "message_media_not_supported_wrap",
        "message_media_not_supported",
        "message_media_not_supported_label",
        "message_media_view_in_telegram",
        "tgme_widget_message_text_hidden",
    }
)
"""Subtrees that are never a post's own text: reply quotes and "open Telegram" blocks."""

_REPLY = "tgme_widget_message_reply"
_PREVIEW = "tgme_widget_message_link_preview"
_NOT_OWN = frozenset(
    {
        _REPLY,
        _PREVIEW,
        "media_not_supported_cont",
        "message_media_not_supported_wrap",
        "message_media_not_supported",
    }
)
"""Containers whose contents belong to something else (the quoted post, the linked page)."""
_NOT_OWN_TEXT = _NOT_OWN | {"tgme_widget_message_text"}

_MEDIA_SELECTORS: tuple[tuple[str, str], ...] = (
    (".tgme_widget_message_grouped_wrap", "album"),
    (".tgme_widget_message_poll", "poll"),
    (".tgme_widget_message_voice, .tgme_widget_message_voice_player", "voice"),
    (".tgme_widget_message_document", "document"),
    (
        ".tgme_widget_message_sticker, .tgme_widget_message_tgsticker, "
        ".tgme_widget_message_videosticker, .tgme_widget_message_sticker_wrap",
        "sticker",
    ),
    (
        ".tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player",
        "video",
    ),
    (".tgme_widget_message_photo_wrap", "photo"),
    (".tgme_widget_message_location_wrap, .tgme_widget_message_location", "location"),
    (".tgme_widget_message_contact", "contact"),
    (".tgme_widget_message_link_preview", "link_preview"),
)
"""Most specific first: an album holds photos and videos, so it must be found before them."""


@dataclass(frozen=True, slots=True)
class PreviewPage:
    """What one preview page holds, plus what the poller needs to page and to diagnose."""

    channel: str | None = None
    """Username from the page (data-post prefix, channel info or links), None if unknown."""
    title: str | None = None
    """The channel's title, when the page shows it."""
    posts: list[IncomingPost] = field(default_factory=list)
    """Oldest first; albums are one post; service messages are left out."""
    before: int | None = None
    """Id to ask `?before=` for the next older page."""
    after: int | None = None
    """Id to ask `?after=` for the next newer page, if the page links one."""
    problems: list[str] = field(default_factory=list)
    """One line per post that was skipped or only partly read."""
    no_posts: bool = False
    """A preview page without any message (Telegram's "No posts found", also seen when rate
    limited): not proof that the channel is empty."""
    is_preview: bool = False
    """False for a landing page (channel without a public preview) or unknown HTML."""


MAX_NESTING = 5000
"""Real preview pages nest tags about 25 deep. The HTML parser's time grows with the square
of the nesting (5,000 nested tags: 0.07 s; 20,000: 1.3 s; 200,000: minutes), so a deeper
page is refused before it is parsed."""
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]{0,30})(?:\s[^<>]*)?(/?)>")
_RAW_TEXT_RE = re.compile(
    r"<(script|style|template|textarea)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE
)
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip


def nesting_deeper_than(html: str, limit: int) -> bool:
    """Whether the markup opens more than `limit` tags inside one another (a linear scan)."""
    if html.count("<") <= limit:
        return False  # fewer tags than the limit: a real page (~4,000 tags) ends here
    depth = 0
    for tag in _TAG_RE.finditer(
        _RAW_TEXT_RE.sub("", html) if "<!--" in html or "<s" in html else html
    ):
        closing, name, self_closing = tag.groups()
        if self_closing or name.lower() in _VOID_TAGS:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > limit:
                return True
    return False


def parse_preview_page(html: str, source: str = "page") -> PreviewPage:
    """Read a `t.me/s/<channel>` page. `source` names the page in `problems` lines.

    Never raises: unreadable input gives a page with `is_preview` False (and, when it was
    refused rather than unreadable, the reason in `problems`).
    """
    if isinstance(html, str) and nesting_deeper_than(html, MAX_NESTING):
        return PreviewPage(
            problems=[f"{source}: tags nested more than {MAX_NESTING:,} deep; not read"]
        )
    try:
        return _parse(html, source)
    except Exception as exc:  # a parser must not take the poller down
        return PreviewPage(problems=[f"{source}: could not read the page ({exc!r:.200})"])


def parse_views(text: str) -> int | None:
    """Telegram's abbreviated counts: "37.2K" -> 37200, "1.5M" -> 1500000, "812" -> 812.

    Also "1 204" / "1,204" (grouped digits). Anything else -> None, so a bad value reads as
    "unknown" rather than as zero.
    """
    if not isinstance(text, str):
        return None
    value = text.strip()
    if _GROUPED_VIEWS.fullmatch(value):
        return int(re.sub(r"[^0-9]", "", value))
    match = _VIEWS.fullmatch(value)
    if match is None:
        return None
    whole, fraction, suffix = match.groups()
    if fraction is not None and not suffix:
        return None  # "1.5" is not a count of views
    try:
        number = Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:
        return None
    return int(number * _MULTIPLIERS[suffix.upper()])


# ----- the page -------------------------------------------------------------------------


def _parse(html: str, source: str) -> PreviewPage:
    if not isinstance(html, str) or not html.strip():
        return PreviewPage()
    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return PreviewPage()
    widgets = root.css(".tgme_widget_message")
    has_history = root.css_first(".tgme_channel_history") is not None
    says_none = root.css_first(".tme_no_messages_found") is not None
    is_preview = bool(widgets) or has_history or says_none

    page_channel = _page_channel(root)
    title = _first_text(root, ".tgme_channel_info_header_title")
    if not is_preview and title is None:
        title = _first_text(root, ".tgme_page_title span") or _first_text(root, ".tgme_page_title")

    problems: list[str] = []
    by_key: dict[_Key, IncomingPost] = {}
    members: dict[_Key, set[int]] = {}
    for number, widget in enumerate(widgets, start=1):
        if "service_message" in _classes(widget):
            continue
        raw = widget.attrs.get("data-post")
        ref = _DATA_POST.fullmatch(raw or "")
        if ref is None or int(ref.group(2)) == 0:
            problems.append(
                f"{source}: message #{number}: no readable id ({(raw or '')[:60]!r}); skipped"
            )
            continue
        username, message_id = ref.group(1), int(ref.group(2))
        label = f"{username}/{message_id}"
        if page_channel is None:
            page_channel = username
        post_title = title if title and username.lower() == page_channel.lower() else None
        try:
            post = _read_post(widget, username, message_id, post_title, label, source, problems)
        except Exception as exc:  # one odd post must not cost the rest of the page
            problems.append(f"{source}: post {label}: could not be read ({exc!r:.120}); skipped")
            continue
        if post is None:
            continue
        key = (username.lower(), message_id)
        by_key[key] = post
        if post.media_kind == "album":
            members[key] = _album_members(widget, username) - {message_id}

    posts = _merge_album_members(by_key, members)
    before, after = _cursors(root)
    return PreviewPage(
        channel=page_channel,
        title=title,
        posts=posts,
        before=before,
        after=after,
        problems=problems,
        no_posts=is_preview and not widgets,
        is_preview=is_preview,
    )


def _page_channel(root: LexborNode) -> str | None:
    """The channel's username from the page header or its own links, before any post."""
    header = root.css_first(".tgme_channel_info_header_username")
    if header is not None:
        name = header.text(deep=True).strip().lstrip("@")
        if _USERNAME.fullmatch(name):
            return name
    for node in root.css(
        'link[rel="canonical"], link[rel="prev"], link[rel="next"], a.tgme_page_context_link'
    ):
        path = _path_of(node.attrs.get("href"))
        if path and len(path) >= 2 and path[0] == "s" and _USERNAME.fullmatch(path[1]):
            return path[1]
    return None


def _cursors(root: LexborNode) -> tuple[int | None, int | None]:
    """Paging ids: the "more" links carry them as data-before/data-after; <link> as ?query."""
    before = after = None
    for more in root.css("a.tme_messages_more"):
        before = before or _int_or_none(more.attrs.get("data-before"))
        after = after or _int_or_none(more.attrs.get("data-after"))
    if before is None:
        before = _query_int(root, 'link[rel="prev"]', "before")
    if after is None:
        after = _query_int(root, 'link[rel="next"]', "after")
    return before, after


def _query_int(root: LexborNode, selector: str, key: str) -> int | None:
    node = root.css_first(selector)
    if node is None:
        return None
    try:
        values = parse_qs(urlsplit(node.attrs.get("href") or "").query).get(key)
    except ValueError:
        return None
    return _int_or_none(values[0]) if values else None


def _album_members(widget: LexborNode, username: str) -> set[int]:
    """Ids of an album's items, from their `https://t.me/<channel>/<id>?single` links."""
    ids: set[int] = set()
    for link in widget.css(".tgme_widget_message_grouped_wrap a[href]"):
        path = _path_of(link.attrs.get("href"))
        if path and len(path) == 2 and path[0].lower() == username.lower():
            member = _int_or_none(path[1])
            if member is not None:
                ids.add(member)
    return ids


def _merge_album_members(
    by_key: dict[_Key, IncomingPost], members: dict[_Key, set[int]]
) -> list[IncomingPost]:
    """Fold any album item that also came as its own widget into the album's post.

    The page normally renders an album as one widget, but the store must never see its
    items as separate posts, whatever the markup does. Returns the posts oldest first.
    """
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
    return sorted(by_key.values(), key=lambda post: (post.date, post.message_id))


# ----- one post -------------------------------------------------------------------------


def _read_post(
    widget: LexborNode,
    username: str,
    message_id: int,
    title: str | None,
    label: str,
    source: str,
    problems: list[str],
) -> IncomingPost | None:
    stop = widget.mem_id
    time_node = _own(widget, ".tgme_widget_message_date time[datetime]", stop) or _own(
        widget, "time[datetime]", stop
    )
    raw_date = time_node.attrs.get("datetime") if time_node is not None else None
    date = _parse_date(raw_date)
    if date is None:
        what = "no date" if not raw_date else f"unreadable date {raw_date[:40]!r}"
        problems.append(f"{source}: post {label}: {what}; skipped")
        return None

    views = None
    views_node = _own(widget, ".tgme_widget_message_views", stop)
    if views_node is not None:
        raw_views = views_node.text(deep=True)
        views = parse_views(raw_views)
        if views is None:
            problems.append(f"{source}: post {label}: unreadable views {raw_views[:20]!r}")

    meta = _own(widget, ".tgme_widget_message_meta", stop)
    edited = meta is not None and _says_edited(meta)

    media_kind = _media_kind(widget, stop)
    text = _join(
        [
            *(_node_text(node) for node in _own_texts(widget, stop)),
            _poll_text(widget, stop) if media_kind == "poll" else "",
        ]
    )
    preview_title = _own_plain(widget, ".link_preview_title", stop, _NOT_OWN - {_PREVIEW})
    if preview_title and preview_title.casefold() not in text.casefold():
        text = _join([text, preview_title])
    if not text and media_kind is None:
        problems.append(f"{source}: post {label}: no text and no known media")

    return IncomingPost(
        channel=ChannelRef(username=username, title=title),
        message_id=message_id,
        date=date,
        text=text,
        views=views,
        edit_date=date if edited else None,
        forwarded_from=_own_plain(widget, ".tgme_widget_message_forwarded_from_name", stop),
        media_kind=media_kind,
        author=_own_plain(widget, ".tgme_widget_message_from_author", stop),
        reply_to=_reply_to(widget, username, stop),
    )


def _says_edited(meta: LexborNode) -> bool:
    """The meta line's own words, not the signature beside them (an author may be "Edited")."""
    if "edited" in meta.text(deep=False).lower():
        return True
    return any("edited" in (node.attrs.get("class") or "") for node in meta.css("[class]"))


def _own_texts(widget: LexborNode, stop: int) -> list[LexborNode]:
    """The post's own text blocks: not a reply quote's, and not one nested in another.

    Albums and videos wrap the caption in a second `tgme_widget_message_text`; a group of
    documents has one caption block per document.
    """
    found = []
    for node in widget.css(".tgme_widget_message_text"):
        if "js-message_reply_text" in _classes(node):
            continue
        if not _inside(node, stop, _NOT_OWN_TEXT):
            found.append(node)
    return found


def _media_kind(widget: LexborNode, stop: int) -> str | None:
    for selector, kind in _MEDIA_SELECTORS:
        node = _own(widget, selector, stop)
        if node is not None:
            return "audio" if kind == "document" and _is_audio(node) else kind
    return None


def _is_audio(document: LexborNode) -> bool:
    """Music files are documents with an audio icon."""
    if "audio" in _classes(document):
        return True
    return any("audio" in _classes(node) for node in document.css("[class]"))


def _poll_text(widget: LexborNode, stop: int) -> str:
    poll = _own(widget, ".tgme_widget_message_poll", stop)
    if poll is None:
        return ""
    question = _plain_of(poll.css_first(".tgme_widget_message_poll_question"))
    options = [
        f"• {option}"
        for option in (
            _plain_of(node) for node in poll.css(".tgme_widget_message_poll_option_text")
        )
        if option
    ]
    return "\n".join(part for part in [question or "", *options] if part)


def _reply_to(widget: LexborNode, username: str, stop: int) -> int | None:
    """The quoted post's id, only when it is in the same channel (else it means nothing)."""
    reply = _own(widget, "a.tgme_widget_message_reply[href]", stop, _NOT_OWN - {_REPLY})
    if reply is None:
        return None
    path = _path_of(reply.attrs.get("href"))
    if not path or len(path) != 2 or path[0].lower() != username.lower():
        return None
    return _int_or_none(path[1])


# ----- text -----------------------------------------------------------------------------


class _TextBuilder:
    """Collects text pieces and knows, in O(1), whether the output is at a line start."""

    __slots__ = ("at_line_start", "pieces")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.at_line_start = True

    def add(self, piece: str) -> None:
        if not piece:
            return
        self.pieces.append(piece)
        visible = piece.rstrip(" ")
        if visible:
            self.at_line_start = visible.endswith("\n")

    def soft_break(self) -> None:
        """A block boundary: a new line unless one has just started."""
        if not self.at_line_start:
            self.add("\n")

    def replace_from(self, start: int, text: str) -> None:
        del self.pieces[start:]
        self.at_line_start = True
        for piece in self.pieces[-1:]:
            visible = piece.rstrip(" ")
            self.at_line_start = not visible or visible.endswith("\n")
        self.add(text)

    def result(self) -> str:
        text = _INLINE_SPACES.sub(" ", "".join(self.pieces))
        text = _AROUND_NEWLINE.sub("\n", text)
        lines = [line for line in text.split("\n") if line.strip().lower() not in PLACEHOLDER_LINES]
        return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


_VISIT, _CLOSE_LINK, _CLOSE_BLOCK = 0, 1, 2


def _node_text(root: LexborNode) -> str:
    """A text block as plain text: <br> and blocks are line breaks, links as "text (url)".

    Walks with an explicit stack, so absurdly deep markup cannot hit the recursion limit.
    """
    out = _TextBuilder()
    stack: list[tuple[int, LexborNode, int]] = [
        (_VISIT, child, 0) for child in reversed(_children(root))
    ]
    while stack:
        action, node, link_start = stack.pop()
        if action == _CLOSE_BLOCK:
            out.soft_break()
            continue
        if action == _CLOSE_LINK:
            _close_link(out, node, link_start)
            continue
        tag = node.tag or ""
        if tag == "-text":
            out.add(_SPACES.sub(" ", node.text_content or ""))
            continue
        if tag.startswith("-") or tag in _SKIP_TAGS:
            continue
        if tag == "br":
            out.add("\n")
            continue
        classes = _classes(node)
        if classes & _SKIP_CLASSES or _hidden(node):
            continue
        if tag == "img":
            if "emoji" in classes:
                out.add(node.attrs.get("alt") or "")
            continue
        if tag in _BLOCK_TAGS:
            out.soft_break()
            stack.append((_CLOSE_BLOCK, node, 0))
        if tag == "a":
            stack.append((_CLOSE_LINK, node, len(out.pieces)))
        stack.extend((_VISIT, child, 0) for child in reversed(_children(node)))
    return out.result()


def _close_link(out: _TextBuilder, node: LexborNode, start: int) -> None:
    text = _SPACES.sub(" ", "".join(out.pieces[start:])).strip()
    rendered = _render_link(text, _clean_href(node.attrs.get("href")))
    if rendered != text:
        out.replace_from(start, rendered)


def _render_link(text: str, href: str | None) -> str:
    """ "text (url)", or just the text when the url would add nothing."""
    if not href or not href.lower().startswith(("http://", "https://")):
        return text
    if not text:
        return href
    bare_text, bare_href = _bare_url(text), _bare_url(href)
    if bare_text == bare_href:
        return text
    if text.endswith(("…", "...")) and bare_href.startswith(_bare_url(text.rstrip("…."))):
        return href  # a shortened URL: the whole one is more useful
    if text.startswith("@") and bare_href in {
        f"{host}/{text[1:].lower()}" for host in ("t.me", "telegram.me", "telegram.dog")
    }:
        return text
    return f"{text} ({href})"


def _bare_url(url: str) -> str:
    url = url.strip().lower()
    for prefix in ("https://", "http://"):
        if url.startswith(prefix):
            url = url[len(prefix) :]
            break
    if url.startswith("www."):
        url = url[4:]
    return url.rstrip("/")


def _clean_href(href: str | None) -> str | None:
    """t.me has been double-escaping `&` in post links; undo the extra `&amp;`."""
    if href is None:
        return None
    for _ in range(3):
        if "&amp;" not in href:
            break
        href = href.replace("&amp;", "&")
    return href.strip()


# ----- small helpers --------------------------------------------------------------------


def _children(node: LexborNode) -> list[LexborNode]:
    return list(node.iter(include_text=True))


def _classes(node: LexborNode) -> set[str]:
    value = node.attrs.get("class")
    return set(value.split()) if value else set()


def _hidden(node: LexborNode) -> bool:
    style = node.attrs.get("style")
    return style is not None and "display:none" in style.replace(" ", "").lower()


def _inside(node: LexborNode, stop: int, classes: Iterable[str]) -> bool:
    """Whether an ancestor below the `stop` node (by mem_id) has one of `classes`."""
    wanted = set(classes)
    parent = node.parent
    while parent is not None and parent.mem_id != stop:
        if _classes(parent) & wanted:
            return True
        parent = parent.parent
    return False


def _own(
    widget: LexborNode, selector: str, stop: int, blocked: frozenset[str] = _NOT_OWN
) -> LexborNode | None:
    """The first match that belongs to the post itself, not to a quote or a preview."""
    for node in widget.css(selector):
        if not _inside(node, stop, blocked):
            return node
    return None


def _own_plain(
    widget: LexborNode, selector: str, stop: int, blocked: frozenset[str] = _NOT_OWN
) -> str | None:
    return _plain_of(_own(widget, selector, stop, blocked))


def _plain_of(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    text = _SPACES.sub(" ", node.text(deep=True)).strip()
    return text or None


def _first_text(root: LexborNode, selector: str) -> str | None:
    return _plain_of(root.css_first(selector))


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _int_or_none(value: str | None) -> int | None:
    if value is None or not _MESSAGE_ID.fullmatch(value.strip()):
        return None
    number = int(value)
    return number if number > 0 else None


def _path_of(href: str | None) -> list[str] | None:
    """Path segments of a URL or a site-relative path: "https://t.me/a/1?x" -> ["a", "1"]."""
    if not href:
        return None
    try:
        path = urlsplit(href.strip()).path
    except ValueError:
        return None
    return [part for part in path.split("/") if part]
