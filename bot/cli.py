"""The `wirebrief` command: parse arguments, call the pipeline, print. No logic of its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import __version__
from bot.config import Settings, load_settings, normalise_username
from bot.digest.pipeline import DEFAULT_LIMIT, build_digest
from bot.digest.render import FORMATS, local_time, render
from bot.digest.topics import Topic, default_topics_path, load_topics, resolve_topic
from bot.digest.window import parse_time, resolve_window
from bot.errors import WirebriefError
from bot.ingest.importer import ImportReport, import_paths
from bot.ingest.imports import find_import_files, read_import_file
from bot.listings import channel_lines, search_excerpt, source_lines
from bot.logs import RedactingFilter, setup_logging
from bot.models import IncomingPost, Post
from bot.query import match_word_forms
from bot.store import Store, open_store

ROLES = frozenset({"all", "bot", "poller", "scheduler"})
"""What `wirebrief run --role` may name: the bot's updates, the poller of sources, the
scheduler of daily digests; all three by default."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirebrief",
        description="Cited digests of Telegram news channels.",
    )
    parser.add_argument("--version", action="version", version=f"wirebrief {__version__}")
    parser.add_argument(
        "--db", help="database file or postgresql:// URL (overrides DATABASE_PATH and DATABASE_URL)"
    )
    # `--db` after the command too (`wirebrief digest belarus --db x.db`); SUPPRESS keeps a
    # `--db` given before the command when none follows it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="database file or postgresql:// URL (overrides DATABASE_PATH and DATABASE_URL)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = functools.partial(sub.add_parser, parents=[common])

    demo = add("demo", help="import the built-in sample and print its digest")
    demo.add_argument("--format", choices=FORMATS, default="text")

    imp = add("import", help="import Telegram Desktop exports or JSON/JSONL posts")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.add_argument(
        "--no-embed", action="store_true",
        help="do not embed the new posts now (`wirebrief embed` or `run` does it later)",
    )  # fmt: skip
    imp.add_argument(
        "--username", metavar="NAME",
        help="the @username of the channel a one-channel export is from (exports give only "
        "its numeric id; with this, its posts join the channel's web preview posts)",
    )  # fmt: skip

    digest = add("digest", help="print a cited digest of a topic or a query")
    what = digest.add_mutually_exclusive_group(required=True)
    what.add_argument("topic", nargs="?", help="a topic name (see `wirebrief topics`)")
    what.add_argument("--query", help="free text to digest instead of a topic")
    what.add_argument(
        "--all", action="store_true", help="every post of every channel: the top stories of all"
    )
    digest.add_argument("--since", help="ISO date/time or a span back from now (24h, 3d, 1w)")
    digest.add_argument("--until", help="ISO date/time or a span back from now; default now")
    digest.add_argument(
        "--limit", type=bounded(1, 100), default=DEFAULT_LIMIT, help="items to show"
    )
    digest.add_argument("--format", choices=FORMATS, default="text")
    digest.add_argument(
        "--brief", action="store_true",
        help="a wire editor's brief: headline and lede, confirmed, claimed, where reports "
        "differ, sources, a reference after every sentence",
    )  # fmt: skip

    search = add("search", help="find stored posts, newest first")
    search.add_argument("query", nargs="+")
    search.add_argument("--since", help="ISO date/time or a span (24h, 3d, 1w)")
    search.add_argument("--limit", type=bounded(1, 1000), default=20)

    export = add("export", help="write stored posts as JSON Lines to stdout")
    export.add_argument("--channel", help="a channel username or numeric id")
    export.add_argument("--since")
    export.add_argument("--until")

    embed = add("embed", help="compute the embeddings of stored posts that lack one (resumable)")
    embed.add_argument("--limit", type=bounded(1, 10_000_000), default=None, metavar="N")
    embed.add_argument("--quiet", action="store_true", help="no progress bar")

    topics = add("topics", help="list the topics and their terms")
    topics.add_argument(
        "--dump", action="store_true",
        help="print the shipped topics file (a start for TOPICS_FILE, which extends it)",
    )  # fmt: skip

    add("sources", help="the channels polled and their health")

    run = add("run", help="run the bot, the channel poller and the daily digests")
    run.add_argument(
        "--role", action="append", choices=sorted(ROLES), default=None,
        help="what this process does (repeatable; default all): the bot's updates, the "
        "poller of sources (several may share one database), the scheduler of daily "
        "digests (one at a time holds its lease)",
    )  # fmt: skip

    health = add("health", help="exit 0 when the database and polling are healthy")
    health.add_argument(
        "--max-poll-age", type=int, default=None, metavar="SECONDS",
        help="longest time without a successful poll (default: 3 poll intervals + 10 min)",
    )  # fmt: skip

    backup = add("backup", help="an online, consistent copy of the database")
    backup.add_argument(
        "path", help="a file, or a folder (an existing one, or any path ending in /) for a "
        "time-stamped file",
    )  # fmt: skip

    migrate = add(
        "migrate", help="copy the SQLite database into PostgreSQL (resumable: run it again)"
    )
    migrate.add_argument(
        "--to", required=True, metavar="URL",
        help="the PostgreSQL database to copy into (postgresql://…); empty, or holding an "
        "unfinished copy of the same file",
    )  # fmt: skip
    migrate.add_argument("--quiet", action="store_true", help="no progress bar")

    ingest = add("ingest", help="poll the sources (SOURCES and those added in the bot)")
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
        settings = load_settings(**database_override(args.db))
        redactor = RedactingFilter(secrets_of(settings))
        verbose = args.command == "run" or "log_level" in settings.model_fields_set
        setup_logging(
            settings.log_level if verbose else "WARNING",
            settings.log_format,
            secrets=secrets_of(settings),
        )
        handler = COMMANDS[args.command]
        return asyncio.run(handler(args, settings))
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt:
        print("wirebrief: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return report_failure(exc, redactor)


def quiet_broken_pipe() -> int:
    """`wirebrief export | head -1`: the reader has what it wanted; stop without a word.

    Python would report the failed flush of stdout at exit, so stdout goes to /dev/null.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def report_failure(exc: Exception, redactor: RedactingFilter) -> int:
    """Expected errors are one line; anything else is logged (redacted) as a bug."""
    if isinstance(exc, WirebriefError):
        line, code = f"error: {exc}", EXIT_USAGE
    elif isinstance(exc, sqlite3.Error) or _is_postgres_error(exc):
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


def database_override(db: str | Path | None) -> dict[str, Any]:
    """`--db` names a SQLite file or a postgresql:// URL, and wins over both variables."""
    if not db:
        return {}
    if str(db).startswith(("postgresql://", "postgres://")):
        return {"database_url": db}
    return {"database_path": db, "database_url": None}


def _is_postgres_error(exc: Exception) -> bool:
    """A server gone, a full disk or a refused statement: like a SQLite error, one line."""
    psycopg = sys.modules.get("psycopg")  # imported only where PostgreSQL is used
    return psycopg is not None and isinstance(exc, psycopg.Error)


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
    for secret in (settings.bot_token, settings.openai_api_key, settings.embeddings_api_key):
        if secret is not None:
            found.append(secret.get_secret_value())
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        found.append(url)
        password = urlsplit(url).password
        if password:
            found.append(password)
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _topics(settings: Settings) -> dict[str, Topic]:
    return load_topics(settings.topics_file)


async def _with_store(
    settings: Settings, work: Callable[[Store], Awaitable[int]], create: bool = True
) -> int:
    """Run `work` on the database. Commands that only read pass `create=False`: a
    mistyped --db is then one line and exit 2, never a new empty database."""
    store = await open_store(settings.database, create=create)
    try:
        return await work(store)
    finally:
        await store.close()


# ----- commands -----------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        username = normalise_username(args.username) if args.username else None
    except ValueError as exc:
        raise WirebriefError(f"--username: {exc}") from None
    if username:
        await asyncio.to_thread(_refuse_username_for_several_channels, args.paths, username)

    async def work(store: Store) -> int:
        report = await _import_with_progress(store, args.paths, args.quiet, username)
        _print_report(report)
        if not args.no_embed and report.counts.inserted + report.counts.edited > 0:
            await _embed_with_progress(store, settings, args.quiet)
        return 0 if report.ok else 1

    return await _with_store(settings, work)


def _refuse_username_for_several_channels(paths: list[Path], username: str) -> None:
    """`--username` names the one channel of an export that gives only its numeric id.
    Over input holding several such channels it would merge them all into one (and record
    their different posts with the same ids as edits), so it is refused before anything
    is written."""
    peer_ids: set[int | None] = set()
    for path in find_import_files(paths):
        for item in read_import_file(path):
            if isinstance(item, IncomingPost) and item.channel.username is None:
                peer_ids.add(item.channel.peer_id)
                if len(peer_ids) > 1:
                    raise WirebriefError(
                        f"--username @{username} names one channel, but the input holds "
                        "several channels known only by their numeric ids; import them "
                        "without --username, or one export at a time with its own"
                    )


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


async def _embed_with_progress(
    store: Store, settings: Settings, quiet: bool, limit: int | None = None
) -> int:
    """Backfill the store's embeddings, showing progress; 0 when nothing is left undone."""
    from bot.embeddings.factory import make_embedder
    from bot.embeddings.service import backfill

    embedder = make_embedder(settings)
    if embedder is None:
        print("Embeddings are off (EMBEDDINGS=off): stories are grouped by shared words.")
        return 0
    try:
        total = await store.count_posts_to_embed(embedder.model)
        if limit is not None:
            total = min(total, limit)
        if total == 0:
            print(f"Every post has its embedding ({embedder.model}).")
            return 0
        if quiet or not sys.stderr.isatty():
            report = await backfill(store, embedder, limit=limit)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(
                TextColumn("embedding"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(), transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("embed", total=total)
                report = await backfill(
                    store, embedder, lambda done, _: bar.update(task, completed=done), limit
                )
    finally:
        await embedder.close()
    left = await store.count_posts_to_embed(embedder.model)
    line = f"Embedded {report.embedded} posts ({embedder.model}); {left} left to embed."
    if report.problem:
        line += f" Stopped or skipped: {report.problem}."
    if left:
        line += " `wirebrief embed` continues; digests group the rest by shared words."
    print(line)
    return 0 if report.problem is None else 1


async def cmd_embed(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        return await _embed_with_progress(store, settings, args.quiet, args.limit)

    return await _with_store(settings, work)


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    topics = _topics(settings)
    known = ", ".join(sorted(topics))
    if args.all:
        topic = Topic.everything()
    elif args.topic is not None:
        if not args.topic.strip():
            raise WirebriefError(f"give a topic ({known}), --query TEXT or --all")
        topic = resolve_topic(topics, args.topic)
        if topic.name == "query":
            raise WirebriefError(
                f"no topic {args.topic[:40]!r}; topics: {known}; or use --query TEXT"
            )
    else:
        topic = Topic.adhoc(args.query)
    now = _now()
    window = resolve_window(now, args.since, args.until, settings.tz)

    async def work(store: Store) -> int:
        from bot.wiring import digest_tools

        tools = digest_tools(settings, store)
        embedder, summariser = tools.embedder, tools.summariser
        try:
            digest = await build_digest(
                store, topic, window, now, limit=max(1, args.limit), summariser=summariser,
                embedder=embedder, brief=args.brief,
            )  # fmt: skip
        finally:
            if embedder is not None:
                await embedder.close()
        if args.brief:
            from bot.digest.brief import build_brief, render_brief

            sys.stdout.write(render_brief(build_brief(digest, settings.tz), args.format))
        else:
            sys.stdout.write(render(digest, args.format, settings.tz))
        return 0

    return await _with_store(settings, work, create=False)


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    match = match_word_forms(" ".join(args.query))
    since = parse_time(args.since, _now(), settings.tz) if args.since else None

    def line(post: Post) -> str:
        when = local_time(post.date, settings.tz).strftime("%Y-%m-%d %H:%M")
        return f"{when}  {post.channel.name}  {post.url}\n    {search_excerpt(post, 160)}"

    async def work(store: Store) -> int:
        posts = await store.search(match, since=since, limit=max(1, args.limit))
        if not posts:
            earlier = await store.latest_post(match, before=since) if since else None
            if earlier is None:
                print("No stored post matches.")
            else:
                print("No post since then matches; the latest earlier one:")
                print(line(earlier))
        for post in posts:
            print(line(post))
        return 0

    return await _with_store(settings, work, create=False)


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    now = _now()
    since = parse_time(args.since, now, settings.tz) if args.since else None
    until = parse_time(args.until, now, settings.tz, end_of_day=True) if args.until else None

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

    return await _with_store(settings, work, create=False)


async def _find_channel(store: Store, name: str) -> Any:
    key = name.strip().lstrip("@")
    for channel in await store.channels():
        if (channel.username and channel.username.lower() == key.lower()) or str(
            channel.peer_id
        ) == key.removeprefix("-100"):
            return channel
    raise WirebriefError(f"no stored channel {name!r}; see `wirebrief export` without --channel")


async def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    if args.dump:
        sys.stdout.write(default_topics_path().read_text(encoding="utf-8"))
        return 0
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
            result = await store.upsert_posts(demo_posts(now), now)
            print(
                f"Imported {result.inserted} sample posts into a temporary database.\n",
                file=sys.stderr,
            )
            topic = load_topics(settings.topics_file or None).get("belarus") or next(
                iter(load_topics().values())
            )
            window = resolve_window(now)
            from bot.embeddings.factory import make_embedder

            embedder = make_embedder(settings)
            try:
                digest = await build_digest(store, topic, window, now, embedder=embedder)
            finally:
                if embedder is not None:
                    await embedder.close()
            sys.stdout.write(render(digest, args.format, settings.tz))
        finally:
            await store.close()
    return 0


async def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        await store.sync_config_sources(settings.sources)
        sources = await store.sources(enabled_only=False)
        channels = await store.channel_summaries()
        if not sources:
            print("No polled sources. Set SOURCES=operativnoZSU,noel_reports,… or /addsource.")
        for line in source_lines(sources, settings.tz):
            print(line)
        if channels:
            print(f"\nStored channels ({len(channels)}):")
        for line in channel_lines(channels, settings.tz):
            print(line)
        return 0

    return await _with_store(settings, work, create=False)


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.http import make_http_client
    from bot.wiring import make_poller

    async def work(store: Store) -> int:
        await store.sync_config_sources(settings.sources)
        async with make_http_client() as client:
            outcomes = await make_poller(store, client, settings).poll_once()
        if not outcomes:
            print("No sources to poll: set SOURCES or add channels in the bot.")
        for outcome in outcomes:
            print(outcome.line())
        return 0 if all(o.error is None for o in outcomes) else 1

    return await _with_store(settings, work)


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat.runner import run

    await run(settings, roles=frozenset(args.role or ["all"]))
    return 0


async def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.health import check_health

    # Exit 1, not 2, even for a missing file: Docker reserves a HEALTHCHECK's exit 2.
    if settings.database_url is None and not settings.database_path.is_file():
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

    if settings.database_url is not None:
        raise WirebriefError(
            "backup copies the SQLite file; back up PostgreSQL with pg_dump (README: PostgreSQL)"
        )
    folder = args.path.endswith(("/", os.sep))
    result = await asyncio.to_thread(
        backup_database, settings.database_path, Path(args.path), folder
    )
    print(f"backed up {result.posts} posts ({result.bytes / 1e6:.1f} MB) to {result.path}")
    return 0


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """SQLite (`--db` or DATABASE_PATH) → PostgreSQL (`--to`), with a progress bar."""
    from bot.store.copy import Progress, copy_to_postgres

    if not str(args.to).startswith(("postgresql://", "postgres://")):
        raise WirebriefError(f"--to: expected a postgresql:// URL, got {args.to[:40]!r}")
    if settings.database_url is not None:
        raise WirebriefError(
            "migrate copies a SQLite file: give it with --db PATH or DATABASE_PATH "
            "(DATABASE_URL is set, so the source would be PostgreSQL)"
        )
    source = settings.database_path
    if args.quiet or not sys.stderr.isatty():
        report = await copy_to_postgres(source, args.to)
    else:
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        with Bar(
            TextColumn("copying {task.fields[table]:<16}"), BarColumn(),
            TextColumn("{task.completed}/{task.total} rows"), TimeRemainingColumn(),
            transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("copy", total=None, table="")

            def progress(table: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, table=table)

            show: Progress = progress
            report = await copy_to_postgres(source, args.to, show)
    print(report.summary())
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]] = {
    "demo": cmd_demo,
    "import": cmd_import,
    "embed": cmd_embed,
    "digest": cmd_digest,
    "search": cmd_search,
    "export": cmd_export,
    "topics": cmd_topics,
    "sources": cmd_sources,
    "ingest": cmd_ingest,
    "run": cmd_run,
    "health": cmd_health,
    "backup": cmd_backup,
    "migrate": cmd_migrate,
}
