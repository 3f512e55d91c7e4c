"""The layering the README's code map promises, checked on the source: the core (digest)
imports nothing from ingest, the chat side or the store at run time, the ground floor
imports only itself, and the digest use case of the chat side has no Telegram in it.

Imports inside `if TYPE_CHECKING:` are for the type checker only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
GROUND_FLOOR = {"bot.words", "bot.query", "bot.models", "bot.errors", "bot.links"}


def runtime_imports(path: Path) -> set[str]:
    """The modules `path` imports when it runs (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((BOT / package).rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        hits = sorted(
            name
            for name in runtime_imports(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if hits:
            bad[str(path.relative_to(BOT.parent))] = hits
    return bad


def test_the_core_imports_nothing_from_the_layers_around_it() -> None:
    core = modules("digest")
    assert len(core) > 20  # the check looks at the real package
    above = ("bot.store", "bot.ingest", "bot.chat", "bot.cli", "bot.wiring", "telegram")
    assert offending(core, above) == {}


def test_the_ground_floor_imports_only_itself() -> None:
    for name in GROUND_FLOOR:
        path = BOT / f"{name.removeprefix('bot.')}.py"
        ours = {m for m in runtime_imports(path) if m == "bot" or m.startswith("bot.")}
        assert ours <= GROUND_FLOOR, (name, ours - GROUND_FLOOR)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("store", ("bot.digest", "bot.chat", "bot.ingest", "bot.cli", "telegram")),
        ("ingest", ("bot.chat", "bot.digest", "bot.cli", "telegram.ext")),
        # `embeddings/service.py` embeds what grouping reads (the digest's cleaned text).
        ("embeddings", ("bot.chat", "bot.ingest", "bot.cli", "telegram")),
    ],
)
def test_each_step_imports_nothing_downstream_of_it(
    package: str, forbidden: tuple[str, ...]
) -> None:
    assert offending(modules(package), forbidden) == {}


def test_the_digest_use_case_of_the_chat_side_has_no_telegram_in_it() -> None:
    assert offending([BOT / "chat" / "digests.py"], ("telegram",)) == {}
    # The checker sees Telegram where it is: the handlers import it.
    assert offending([BOT / "chat" / "commands.py"], ("telegram",)) != {}
