"""What a Telegram client makes tappable in plain text: links, e-mail addresses, `tg:` links,
mentions and bot commands addressed to a bot.

A digest may link only to stored posts, so text from posts and from the model must not hold
anything Telegram would turn into a link. The rules follow Telegram's own entity finder
(tdlib, `td/telegram/MessageEntity.cpp`: `match_urls`, `fix_url`, `is_email_address`,
`match_tg_urls`, `find_mentions`, `match_bot_commands`):

- a host is labels of letters, digits, `_`, `-`, `~` (any script) joined by dots, with an
  optional `user@` in front, `:port`, and a path after `/`, `?` or `#`;
- it is a link when it is an IPv4 address, or when its last label is a registered top-level
  domain: the complete list comes from the Public Suffix List bundled by the
  `publicsuffixlist` package (read from its own file; nothing is downloaded), in Unicode and
  in punycode, and any well-formed `xn--` label counts too;
- with a scheme (`https://`, `ftp://` …) any host counts;
- the fullwidth and ideographic dots (`．`, `。`, `｡`) count as dots: clients and browsers
  map them to `.` (IDNA), so `evil．com` opens evil.com;
- `tg:`, `ton:` and `tonsite:` links, `@name` mentions (also with the fullwidth `＠`), and
  `/command@bot`.

`find_links` gives the spans; `defang` (display of post text) and `strip_links` (model text)
decide what to do with them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

DOTS = ".．。｡"
_DOT = "[.．。｡]"
_LABEL = r"[\w~-]{1,63}"
"""A host label; bounded (DNS allows 63) so a 100,000-letter word costs linear time."""
URL_RE = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+-]{0,15})://)?"
    r"(?:[^\s/\[\]{}()'`<>\"@«»＠]{1,64}[@＠])?"
    rf"(?P<host>{_LABEL}(?:{_DOT}{_LABEL})+)"
    r"(?::\d{1,5})?"
    r"(?:[/?#][^\s<>\"«»]*)?"
)
TG_URL_RE = re.compile(r"(?<![\w.-])(?:tg|ton|tonsite):(?://)?[^\s<>\"«»]+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@＠])[@＠][A-Za-z0-9_]{3,32}(?![\w])")
BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}[@＠][A-Za-z0-9_]{3,32}(?![\w])")
_PATH_TAIL = ".:;,('?!`"
# Cheap gates: a line can hold a link only if it has a scheme, a dot followed by a label
# that is a TLD, or four dotted numbers. Most lines of news have none, and skip the scan.
_TAIL_RE = re.compile(rf"{_DOT}([^\W\d_]{{2,63}}|xn--[A-Za-z0-9]+)(?![\w~-])")
_IPV4_GATE = re.compile(r"\d{1,3}[.．。｡]\d{1,3}[.．。｡]\d{1,3}[.．。｡]\d{1,3}")
_IPV4_PART = re.compile(r"0|[1-9][0-9]{0,2}")
_PUNYCODE = re.compile(r"xn--[a-z0-9]+")


@functools.cache
def top_level_domains() -> frozenset[str]:
    """Every top-level domain of the Public Suffix List, in Unicode and punycode, lower-case.

    The list ships inside the `publicsuffixlist` package; an update is a package update.
    """
    text = (resources.files("publicsuffixlist") / "public_suffix_list.dat").read_text("utf-8")
    found: set[str] = set()
    for line in text.splitlines():
        rule = line.strip()
        if not rule or rule.startswith("//"):
            continue
        label = rule.split()[0].lstrip("!").rsplit(".", 1)[-1].lower()
        if not label or label == "*":
            continue
        found.add(label)
        # The punycode form too; a label the stdlib's IDNA 2003 cannot encode keeps its
        # Unicode form only (xn-- labels are accepted by shape anyway).
        with contextlib.suppress(UnicodeError):
            found.add(label.encode("idna").decode("ascii"))
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Link:
    """A stretch of text a client would make tappable."""

    start: int
    end: int
    kind: str
    """"url" (links and e-mail addresses), "tg", "mention" or "command"."""


def _is_link_host(host: str, has_scheme: bool) -> bool:
    """tdlib's `fix_url` test of a host: an IPv4 address, or a registered TLD at the end."""
    labels = re.split(_DOT, host)
    if len(labels) < 2 or any(not label for label in labels):
        return False
    if len(labels) == 4 and all(_IPV4_PART.fullmatch(p) and int(p) <= 255 for p in labels):
        return True
    if all(label.isdigit() for label in labels):
        return False
    tld = labels[-1].lower()
    if _PUNYCODE.fullmatch(tld):
        return len(tld) > 5
    if len(tld) < 2 or "_" in tld or "-" in tld:
        return False
    return has_scheme or tld in top_level_domains()


def find_links(text: str) -> list[Link]:
    """The tappable spans of `text`, in order, not overlapping."""
    found: list[Link] = []
    if any(dot in text for dot in DOTS):
        found.extend(_urls(text))
    if ":" in text:
        found.extend(Link(m.start(), m.end(), "tg") for m in TG_URL_RE.finditer(text))
    if "@" in text or "＠" in text:
        found.extend(Link(m.start(), m.end(), "command") for m in BOT_COMMAND_RE.finditer(text))
        found.extend(Link(m.start(), m.end(), "mention") for m in MENTION_RE.finditer(text))
    found.sort(key=lambda link: (link.start, -link.end))
    kept: list[Link] = []
    for link in found:
        if kept and link.start < kept[-1].end:
            continue
        kept.append(link)
    return kept


def _may_hold_urls(text: str) -> bool:
    if "://" in text:
        return True
    tlds = top_level_domains()
    for tail in _TAIL_RE.finditer(text):
        if tail[1].lower() in tlds or tail[1].lower().startswith("xn--"):
            return True
    return _IPV4_GATE.search(text) is not None


def _urls(text: str) -> Iterator[Link]:
    if not _may_hold_urls(text):
        return
    for match in URL_RE.finditer(text):
        host = match["host"]
        # A host ends in letters or digits: "Minsk." ends a sentence, not a domain.
        host_end = match.end("host")
        while host and (host[-1] in DOTS or host[-1] in "-~"):
            host, host_end = host[:-1], host_end - 1
        if not _is_link_host(host, match["scheme"] is not None):
            continue
        end = match.end()
        if end > host_end:
            while end > host_end + 1 and text[end - 1] in _PATH_TAIL:
                end -= 1
        else:
            end = host_end
        start = match.start()
        if start > 0 and text[start - 1] in "@＠":
            start -= 1  # "@host.com/path" is a link, and the "@" goes with it
        yield Link(start, end, "url")


def defang_links(text: str) -> str:
    """Post text as a wire desk shows a link it does not vouch for: `evil[.]com`,
    `tg[:]resolve`, a mention without its `@`. Nothing a client would tap remains."""
    links = find_links(text)
    if not links:
        return text
    out: list[str] = []
    last = 0
    for link in links:
        out.append(text[last : link.start])
        piece = text[link.start : link.end]
        if link.kind == "url":
            piece = re.sub(_DOT, "[.]", piece).replace("://", "[:]//")
            piece = piece.replace("＠", "@")
            piece = re.sub(r"^@", "", piece)  # "@host.com/path" is not a mention either
        elif link.kind == "tg":
            piece = piece.replace(":", "[:]", 1)
        elif link.kind == "command":
            piece = re.sub("[@＠]", " ", piece)
        else:
            piece = piece[1:]
        out.append(piece)
        last = link.end
    out.append(text[last:])
    return "".join(out)


def remove_links(text: str, replacement: str = " ") -> str:
    """`text` with every tappable span replaced."""
    links = find_links(text)
    if not links:
        return text
    out: list[str] = []
    last = 0
    for link in links:
        out.append(text[last : link.start])
        out.append(replacement)
        last = link.end
    out.append(text[last:])
    return "".join(out)
