"""The `wirebrief` command: parse arguments, call the pipeline, print. No logic of its own."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import Settings, load_settings, normalise_username
from bot.digest.pipeline import DEFAULT_LIMIT, build_digest
from bot.digest.render import FORMATS, local_time, render, source_lines
from bot.digest.topics import Topic, load_topics, resolve_topic
from bot.digest.window import parse_time, resolve_window
from bot.errors import WirebriefError
from bot.ingest.importer import ImportReport, import_paths
from bot.logs import RedactingFilter, setup_logging
from bot.store import Store, open_store
from bot.store.fts import match_all_words


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirebrief",
        description="Cited digests of Telegram news channels.",
    )
    parser.add_argument("--version", action="version", version=f"wirebrief {__version__}")
    parser.add_argument("--db", type=Path, help="database file (overrides DATABASE_PATH)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="import the built-in sample and print its digest")
    demo.add_argument("--format", choices=FORMATS, default="text")

    imp = sub.add_parser("import", help="import Telegram Desktop exports or JSON/JSONL posts")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.add_argument(
        "--username", metavar="NAME",
        help="the @username of the channel a one-channel export is from (exports give only "
        "its numeric id; with this, its posts join the channel's web preview posts)",
    )  # fmt: skip

    digest = sub.add_parser("digest", help="print a cited digest of a topic or a query")
    what = digest.add_mutually_exclusive_group(required=True)
    what.add_argument("topic", nargs="?", help="a topic name (see `wirebrief topics`)")
    what.add_argument("--query", help="free text to digest instead of a topic")
    digest.add_argument("--since", help="ISO date/time or a span back from now (24h, 3d, 1w)")
    digest.add_argument("--until", help="ISO date/time or a span back from now; default now")
    digest.add_argument(
        "--limit", type=bounded(1, 100), default=DEFAULT_LIMIT, help="items to show"
    )
    digest.add_argument("--format", choices=FORMATS, default="text")

    search = sub.add_parser("search", help="find stored posts, newest first")
    search.add_argument("query", nargs="+")
    search.add_argument("--since", help="ISO date/time or a span (24h, 3d, 1w)")
    search.add_argument("--limit", type=bounded(1, 1000), default=20)

    export = sub.add_parser("export", help="write stored posts as JSON Lines to stdout")
    export.add_argument("--channel", help="a channel username or numeric id")
    export.add_argument("--since")
    export.add_argument("--until")

    sub.add_parser("topics", help="list the topics and their terms")

    sub.add_parser("sources", help="the channels polled and their health")

    sub.add_parser("run", help="run the bot, the channel poller and the daily digests")

    health = sub.add_parser("health", help="exit 0 when the database and polling are healthy")
    health.add_argument(
        "--max-poll-age", type=int, default=None, metavar="SECONDS",
        help="longest time without a successful poll (default: 3 poll intervals + 10 min)",
    )  # fmt: skip

    backup = sub.add_parser("backup", help="an online, consistent copy of the database")
    backup.add_argument("path", type=Path, help="a file, or a folder for a time-stamped file")

    ingest = sub.add_parser("ingest", help="poll the sources (SOURCES and those added in the bot)")
    ingest.add_argument(
        "--once", action="store_true", required=True, help="poll every source once and exit"
    )
    return parser


EXIT_OK = 0
EXIT_PARTIAL = 1  # ran, but found a problem: rejected import records, unhealthy, a failed poll
EXIT_USAGE = 2  # bad arguments or settings: nothing was done
EXIT_IO = 3  # the database or a file could not be read or written
EXIT_INTERNAL = 4  # a bug: the log has the (redacted) traceback
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """The one way out of every command: an exit code and, on failure, one line on stderr
    with no secret in it (see `report_failure`)."""
    args = build_parser().parse_args(argv)
    setup_logging("WARNING")
    redactor = RedactingFilter(())
    try:
        settings = load_settings(**({"database_path": args.db} if args.db else {}))
        redactor = RedactingFilter(secrets_of(settings))
        verbose = args.command == "run" or "log_level" in settings.model_fields_set
        setup_logging(
            settings.log_level if verbose else "WARNING",
            settings.log_format,
            secrets=secrets_of(settings),
        )
        handler = COMMANDS[args.command]
        return asyncio.run(handler(args, settings))
    except KeyboardInterrupt:
        print("wirebrief: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return report_failure(exc, redactor)


def report_failure(exc: Exception, redactor: RedactingFilter) -> int:
    """Expected errors are one line; anything else is logged (redacted) as a bug."""
    if isinstance(exc, WirebriefError):
        line, code = f"error: {exc}", EXIT_USAGE
    elif isinstance(exc, sqlite3.Error):
        # Disk full, a locked or corrupt file: one line, and committed work is safe.
        line, code = f"database error: {exc}", EXIT_IO
    elif isinstance(exc, OSError):
        line, code = f"error: {exc.strerror or exc}: {exc.filename or ''}", EXIT_IO
    else:
        logging.getLogger("bot").error("unexpected error", exc_info=exc)
        line = f"internal error ({type(exc).__name__}); the log above has the details"
        code = EXIT_INTERNAL
    print(f"wirebrief: {redactor.redact(line)}", file=sys.stderr)
    return code


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}")
        return value

    return parse


def secrets_of(settings: Settings) -> list[str]:
    """What must never be printed: the bot token and the model key."""
    found = []
    for secret in (settings.bot_token, settings.openai_api_key):
        if secret is not None:
            found.append(secret.get_secret_value())
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _topics(settings: Settings) -> dict[str, Topic]:
    return load_topics(settings.topics_file)


async def _with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    store = await open_store(settings.database_path)
    try:
        return await work(store)
    finally:
        await store.close()


# ----- commands -----------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        try:
            username = normalise_username(args.username) if args.username else None
        except ValueError as exc:
            raise WirebriefError(f"--username: {exc}") from None
        report = await _import_with_progress(store, args.paths, args.quiet, username)
        _print_report(report)
        return 0 if report.ok else 1

    return await _with_store(settings, work)


async def _import_with_progress(
    store: Store, paths: list[Path], quiet: bool, username: str | None
) -> ImportReport:
    if quiet or not sys.stderr.isatty():
        return await import_paths(store, paths, username=username)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        tasks: dict[Path, Any] = {}

        def progress(path: Path, seen: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(path.name, total=None)
            bar.update(tasks[path], completed=seen)

        return await import_paths(store, paths, progress, username)


def _print_report(report: ImportReport) -> None:
    for rejected in report.rejected[:50]:
        print(f"rejected: {rejected}", file=sys.stderr)
    if len(report.rejected) > 50:
        print(f"… and {len(report.rejected) - 50} more rejected records", file=sys.stderr)
    for skipped in report.skipped:
        print(f"skipped: {skipped.where}: {skipped.reason}", file=sys.stderr)
    print(report.summary())


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    topics = _topics(settings)
    topic = resolve_topic(topics, args.topic) if args.topic else Topic.adhoc(args.query)
    if args.topic and topic.name == "query":
        known = ", ".join(sorted(topics))
        raise WirebriefError(f"no topic {args.topic!r}; topics: {known}; or use --query TEXT")
    now = _now()
    window = resolve_window(now, args.since, args.until, settings.tz)

    async def work(store: Store) -> int:
        from bot.digest.llm import make_summarizer  # imports openai only for digests

        summarizer = make_summarizer(settings, store)
        digest = await build_digest(
            store, topic, window, now, limit=max(1, args.limit), summarizer=summarizer
        )
        sys.stdout.write(render(digest, args.format, settings.tz))
        return 0

    return await _with_store(settings, work)


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    match = match_all_words(" ".join(args.query))
    since = parse_time(args.since, _now(), settings.tz) if args.since else None

    async def work(store: Store) -> int:
        posts = await store.search(match, since=since, limit=max(1, args.limit))
        if not posts:
            print("No stored post matches.")
        for post in posts:
            when = local_time(post.date, settings.tz).strftime("%Y-%m-%d %H:%M")
            text = " ".join(post.text.split())
            text = text if len(text) <= 160 else text[:159] + "…"
            print(f"{when}  {post.channel.name}  {post.url}\n    {text}")
        return 0

    return await _with_store(settings, work)


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    now = _now()
    since = parse_time(args.since, now, settings.tz) if args.since else None
    until = parse_time(args.until, now, settings.tz) if args.until else None

    async def work(store: Store) -> int:
        channel_id = None
        if args.channel:
            channel = await _find_channel(store, args.channel)
            channel_id = channel.id
        async for post in store.iter_posts(channel_id, since, until):
            record = {
                "channel": post.channel.title,
                "username": post.channel.username,
                "channel_id": post.channel.peer_id,
                "message_id": post.message_id,
                "date": post.date.isoformat(),
                "text": post.text,
                "url": post.url,
                "views": post.views,
                "edited": post.edited,
                "edit_date": post.edit_date.isoformat() if post.edit_date else None,
                "forwarded_from": post.forwarded_from,
                "media_kind": post.media_kind,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0

    return await _with_store(settings, work)


async def _find_channel(store: Store, name: str) -> Any:
    key = name.strip().lstrip("@")
    for channel in await store.channels():
        if (channel.username and channel.username.lower() == key.lower()) or str(
            channel.peer_id
        ) == key.removeprefix("-100"):
            return channel
    raise WirebriefError(f"no stored channel {name!r}; see `wirebrief export` without --channel")


async def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    for topic in _topics(settings).values():
        print(f"/{topic.name}  {topic.title}: {topic.description}")
        print("    " + ", ".join(str(term) for term in topic.terms))
    return 0


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import demo_posts

    now = _now()
    with tempfile.TemporaryDirectory(prefix="wirebrief-demo-") as folder:
        store = await open_store(Path(folder) / "demo.db")
        try:
            result = await store.upsert_posts(demo_posts(now))
            print(
                f"Imported {result.inserted} sample posts into a temporary database.\n",
                file=sys.stderr,
            )
            topic = load_topics(settings.topics_file or None).get("belarus") or next(
                iter(load_topics().values())
            )
            window = resolve_window(now)
            digest = await build_digest(store, topic, window, now)
            sys.stdout.write(render(digest, args.format, settings.tz))
        finally:
            await store.close()
    return 0


async def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        await store.sync_config_sources(settings.sources)
        sources = await store.sources(enabled_only=False)
        if not sources:
            print("No sources. Set SOURCES=operativnoZSU,noel_reports,… or /addsource in the bot.")
        for line in source_lines(sources, settings.tz):
            print(line)
        return 0

    return await _with_store(settings, work)


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.http import make_http_client
    from bot.ingest.poller import Poller, PreviewFetcher

    async def work(store: Store) -> int:
        await store.sync_config_sources(settings.sources)
        async with make_http_client() as client:
            fetcher = PreviewFetcher(client, settings.tme_url)
            poller = Poller(
                store,
                fetcher,
                interval=timedelta(seconds=settings.poll_interval_seconds),
                backfill=settings.backfill_posts,
            )
            outcomes = await poller.poll_once()
        if not outcomes:
            print("No sources to poll: set SOURCES or add channels in the bot.")
        for outcome in outcomes:
            print(outcome.line())
        return 0 if all(o.error is None for o in outcomes) else 1

    return await _with_store(settings, work)


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat.runner import run

    await run(settings)
    return 0


async def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.health import check_health

    if not settings.database_path.exists():
        print(f"unhealthy: no database at {settings.database_path}")
        return 1
    seconds = args.max_poll_age or 3 * settings.poll_interval_seconds + 600

    async def work(store: Store) -> int:
        report = await check_health(store, _now(), timedelta(seconds=seconds))
        state = "healthy" if report.ok else "unhealthy: " + "; ".join(report.problems)
        print(f"{state} ({'; '.join(report.facts)})")
        return 0 if report.ok else 1

    return await _with_store(settings, work)


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.backup import backup_database

    result = await asyncio.to_thread(backup_database, settings.database_path, args.path)
    print(f"backed up {result.posts} posts ({result.bytes / 1e6:.1f} MB) to {result.path}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]] = {
    "demo": cmd_demo,
    "import": cmd_import,
    "digest": cmd_digest,
    "search": cmd_search,
    "export": cmd_export,
    "topics": cmd_topics,
    "sources": cmd_sources,
    "ingest": cmd_ingest,
    "run": cmd_run,
    "health": cmd_health,
    "backup": cmd_backup,
}
