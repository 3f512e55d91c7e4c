"""Post text as readers and as the grouping see it.

`clean_text` strips what channels wrap around a report (markdown marks, bare links, emoji
bullets, "subscribe" footers) for display. `features` reduces a text to the stems that
say what it is about, for near-duplicate detection across channels and languages.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from bot.digest.tappable import defang_links
from bot.words import LETTERS_RE

MARKDOWN_LINK_RE = re.compile(r"\[([^\]\n]*)\]\((?:https?://|tg://)[^)\s]*\)")
# A line that is only a link (a channel's signature): "[Kyiv Wire](https://t.me/…)".
LINK_ONLY_LINE_RE = re.compile(r"^\W*\[[^\]\n]*\]\([^)\s]*\)\W*$")
URL_RE = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
MARKDOWN_MARK_RE = re.compile(r"\*\*|__|~~|\|\||```|`")
SENTENCE_SPLIT_RE = re.compile(r"[.!?…:;—–\-]\s+|[«»\"“”()]")
SENTENCE_END_RE = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=[\"«“(]?[A-ZА-ЯЁІЇЄҐЎ0-9])")
# Lines that are channel furniture, not news: calls to subscribe, donate, send tips.
# Only the imperatives and infinitives of "subscribe" and "join": "Путин подписал закон"
# and "Лукашенко підписав указ" are news, "Подписаться" is furniture.
FOOTER_RE = re.compile(
    r"(подпи(?:шись|шитесь|саться|сывайся|сывайтесь)|"
    r"підпи(?:сатися|сатись|суйся|суйтеся|суйтесь|шись|шіться)|"
    r"падпі(?:сацца|шыся|шыцеся)|subscribe|присоедин(?:яйся|яйтесь|иться)|"
    r"приєдну(?:йся|йтеся|йтесь|ватися)|join us|наш канал|наш чат|"
    r"прислать новость|надіслати новину|предложить новость|запропонувати новину|"
    r"донат|donat|підтримати канал|поддержать канал|boost|буст)",
    re.IGNORECASE,
)
# The same alternatives, matched against a lower-cased line: Python's case-insensitive
# matching of a Unicode alternation is several times slower, and this runs on every line.
_FOOTER_LOWER_RE = re.compile(FOOTER_RE.pattern)
STEM_LENGTH = 5
# Stems are spelled in a coarse Latin skeleton so that Ukrainian, Russian, Belarusian and
# English spellings of a name meet: Волинь / Волынь / Volyn -> "volin", Лукашенко /
# Lukashenko -> "lukas". i/y/и/і/ї/ы/й fold together, as do doubled letters.
_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e",
        "э": "e", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "ы": "i",
        "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
        "т": "t", "у": "u", "ў": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh",
        "щ": "sch", "ь": "", "ъ": "", "ю": "iu", "я": "ia", "'": "", "’": "",
        "y": "i", "w": "v", "c": "k", "q": "k", "x": "ks",
    }
)  # fmt: skip
_DOUBLED_RE = re.compile(r"(.)\1+")
# Spelling variants that name the same thing (as skeleton stems).
STEM_ALIASES = {
    "belar": "belor", "bilor": "belor", "polan": "polsh", "rusia": "rosia", "lithu": "litva",
    "nimek": "germa", "kazah": "kazak", "moskv": "mosko", "kiev": "kiv", "kiiv": "kiv",
}  # fmt: skip

# Words that say nothing about which event a post reports (en, ru, uk).
_STOP_WORDS_TEXT = """
    the a an and or of to in on at by for from with as is are was were be been has have had
    it its this that these those he she they we you his her their our not no but if than
    then will would can could said says after before over under about into out up new more
    most и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по
    только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже
    или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они
    тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под
    будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем
    чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после
    над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
    свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это
    также году года которые который которая которых также заявил заявила заявили сообщил
    сообщили сообщает сообщила по словам і й та що не на в у з зі до від як але це цей ця ці
    той ті його її їх ми ви він вона вони був була було були буде бути для про при після
    через під над між також вже ще який яка яке які котрий тому щоб або чи ні так теж лише
    тільки може можна коли де там тут із зa заявив заявила повідомив повідомила повідомили
    року році
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Inflected forms of the longer stop words (которым, сообщила, заявили …).
STOP_STEMS = frozenset(w[:STEM_LENGTH] for w in STOP_WORDS if len(w) >= 6)


@functools.lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """A post's words for display: no markdown marks, links, emoji bullets or footers.

    Memoised (strings are immutable): ranking, relevance, sentence choice and the semantic
    pass each read the cleaned text of the same posts."""
    if "](" in text:  # the markdown link patterns need it; most posts have none
        text = "\n".join(line for line in text.splitlines() if not LINK_ONLY_LINE_RE.match(line))
        text = MARKDOWN_LINK_RE.sub(r"\1", text)
    if _may_have_marks(text):
        text = MARKDOWN_MARK_RE.sub("", text)
    urls = _may_have_urls(text)
    lines = []
    for line in text.splitlines():
        if urls:
            line = URL_RE.sub("", line)
        if _is_footer(line):
            continue
        line = defang(strip_symbols(line))
        if LETTERS_RE.search(line):
            lines.append(line)
    return "\n".join(lines)


def strip_markup(text: str) -> str:
    """A post's words with its Markdown undone (links become their text, marks go) and no
    bare links, keeping every line: for a post that `clean_text` finds all furniture."""
    text = MARKDOWN_LINK_RE.sub(r"\1", text)
    text = URL_RE.sub("", MARKDOWN_MARK_RE.sub("", text))
    return defang(" ".join(strip_symbols(line) for line in text.splitlines()))


def defang(text: str) -> str:
    """What a post names but must not become a link in a digest: `evil.example` is shown
    as `evil[.]example`, `tg:resolve` as `tg[:]resolve` and `@channel` as `channel`, as
    wire and security desks do. What counts as a link is what Telegram's own entity parser
    makes tappable (any registered TLD, IP hosts, e-mail, `tg:`; see `bot.digest.tappable`)."""
    return defang_links(text)


def _may_have_marks(text: str) -> bool:
    """Whether MARKDOWN_MARK_RE can match: a cheap test that skips a regex pass."""
    return "`" in text or "**" in text or "__" in text or "~~" in text or "||" in text


def _may_have_urls(text: str) -> bool:
    """Whether URL_RE can match (case-insensitively): a cheap test that skips regex passes."""
    if "://" in text:
        return True
    lower = text.lower()
    return "www." in lower or "t.me/" in lower


class _SymbolTable(dict[int, str]):
    """`str.translate` table: emoji, pictographs and marks become a space, the rest stays.

    Filled on first sight of each character, so a line costs one C-level pass instead of a
    Python call per character (this runs on every sentence a digest looks at).
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        symbol = unicodedata.category(char) in _SYMBOL_CATEGORIES or char in "\ufe0f\u20e3"
        self[code] = value = " " if symbol else char
        return value


_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Cf", "Co", "Cs"})
_SYMBOLS = _SymbolTable()


def _is_footer(line: str) -> bool:
    """A short line that only asks readers to subscribe, donate or send news."""
    return _FOOTER_LOWER_RE.search(line.lower()) is not None and len(LETTERS_RE.findall(line)) <= 8


def strip_symbols(line: str) -> str:
    """Drop emoji, pictographs and decorative marks; keep letters, digits and punctuation."""
    line = " ".join(line.translate(_SYMBOLS).split())
    return line.strip(" -—–•▪·|:>")


def sentences(text: str) -> list[str]:
    """Split cleaned text into sentences (and lines, which channels use as sentences)."""
    out = []
    for line in text.splitlines():
        for part in SENTENCE_END_RE.split(line):
            part = part.strip()
            if part:
                out.append(part)
    return out


def skeleton(word: str) -> str:
    """A word in the coarse Latin spelling that Ukrainian, Russian, Belarusian and English
    spellings of one name share (Лукашенко, Лукашэнка, Lukashenko → "lukashenko")."""
    return _DOUBLED_RE.sub(r"\1", word.lower().translate(_TRANSLIT).replace("kh", "h"))


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A crude, language-blind stem: the first letters carry the root in uk/ru/be/en.

    Five letters keep "полис" and "полиса", "Лукашенко" and "Лукашенка" together.
    """
    skeleton = _DOUBLED_RE.sub(r"\1", word.translate(_TRANSLIT).replace("kh", "h"))
    short = skeleton[:STEM_LENGTH]
    return STEM_ALIASES.get(short, short)


def features(text: str) -> frozenset[str]:
    """The stems a post is about: lower-cased, ё folded, stop words and furniture dropped."""
    return post_features(text).stems


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """What the grouping compares: all stems, and the anchors among them.

    Anchors are the words that survive translation: numbers, names and acronyms
    (capitalised words inside a sentence). Reports of one event in Ukrainian, Russian
    and English share few ordinary stems but most of their anchors.
    """

    stems: frozenset[str]
    anchors: frozenset[str]


@functools.lru_cache(maxsize=4096)
def post_features(text: str) -> PostFeatures:
    """Stems and anchors of a text. Memoised (the result is immutable): a digest groups its
    posts, then its summariser reads the same posts' features again."""
    # Each regex pass is skipped when a cheap test shows it cannot match: this runs on every
    # post a digest groups and on every sentence its summariser weighs.
    if _may_have_marks(text):
        text = MARKDOWN_MARK_RE.sub("", text)
    if "](" in text:
        text = "\n".join(line for line in text.splitlines() if not LINK_ONLY_LINE_RE.match(line))
        text = MARKDOWN_LINK_RE.sub(r"\1", text)
    if _may_have_urls(text):
        text = URL_RE.sub(" ", text)
    if "@" in text:
        text = MENTION_RE.sub(" ", text)
    text = text.replace("ё", "е").replace("Ё", "Е")
    stems: set[str] = set()
    anchors: set[str] = set()
    words = _WORDS
    for line in text.splitlines():
        if _is_footer(line):
            continue
        if "](" in line and LINK_ONLY_LINE_RE.match(line):
            continue
        for sentence in SENTENCE_SPLIT_RE.split(line):
            for position, word in enumerate(LETTERS_RE.findall(sentence)):
                found = words.get(word, _UNKNOWN)
                if found is _UNKNOWN:
                    found = _word_feature(word)
                if found is None:
                    continue
                key, number = found
                stems.add(key)
                if number or (word[0].isupper() and (position > 0 or len(word) >= 4)):
                    anchors.add(key)
    return PostFeatures(frozenset(stems), frozenset(anchors))


_WORDS: dict[str, tuple[str, bool] | None] = {}
"""Memo of `_word_feature`: the vocabulary of a news feed repeats from post to post."""
_MAX_WORDS = 1 << 17
_UNKNOWN: tuple[str, bool] | None = ("", False)
"""Sentinel for a word not in the memo yet (compared by identity)."""


def clear_post_memos() -> None:
    """Forget what was computed per post text (features, cleaned text), keeping the
    per-word memos: for benchmarks that must not reuse a previous digest's work."""
    post_features.cache_clear()
    clean_text.cache_clear()


def clear_caches() -> None:
    """Forget every memo of this module (for benchmarks and tests of cold starts)."""
    _WORDS.clear()
    clear_post_memos()
    stem.cache_clear()


def _word_feature(word: str) -> tuple[str, bool] | None:
    """(stem, is a number) of one word as `post_features` sees it, or None for a word that
    says nothing (a stop word, a short word, a lone digit); remembered in `_WORDS`."""
    if len(_WORDS) >= _MAX_WORDS:
        _WORDS.clear()
    _WORDS[word] = found = _word_feature_of(word)
    return found


def _word_feature_of(word: str) -> tuple[str, bool] | None:
    lower = word.lower()
    if lower in STOP_WORDS or lower[:STEM_LENGTH] in STOP_STEMS:
        return None
    if word.isdigit():
        return (word, True) if len(word) >= 2 else None
    if len(word) < 3 and not (len(word) >= 2 and word.isupper()):
        return None
    return stem(lower), False
