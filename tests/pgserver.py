"""A real PostgreSQL server for the tests: initdb and pg_ctl on a temporary data folder
and a free local port, as an unprivileged user (the server refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "wirebrief"


class PostgresUnavailable(Exception):
    """No PostgreSQL binaries here, or the server would not start; the message says which."""


def find_bindir() -> Path:
    """$PG_BINDIR if set (and only it), else the newest /usr/lib/postgresql/*/bin with
    initdb (Debian's layout)."""
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        candidates = [explicit]
    else:
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
        )[::-1]
    for folder in candidates:
        if (Path(folder) / "initdb").is_file():
            return Path(folder)
    if explicit:
        raise PostgresUnavailable(f"PG_BINDIR={explicit} has no initdb")
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
        "`apt-get install -y postgresql`)"
    )


def server_user() -> str | None:
    """Who runs the server: this user, or, as root (which the server refuses), the
    `postgres` user the Debian package makes, else a system user made for it."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "wirebrief-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         "wirebrief-pg"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        raise PostgresUnavailable(f"running as root, no postgres user: {made.stderr.strip()}")
    return "wirebrief-pg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    as_user: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    @classmethod
    def start(cls, durable: bool = False) -> PostgresServer:
        """A new server. `durable` (the bench): fsync and full-page writes on, commits
        asynchronous, the durability of SQLite's WAL with synchronous=NORMAL; otherwise
        (the tests) no fsync at all."""
        bindir = find_bindir()
        as_user = server_user()
        # As another user, in /tmp: root's own TMPDIR may be closed to that user.
        root = Path(tempfile.mkdtemp(prefix="wirebrief-pg-", dir="/tmp" if as_user else None))
        root.chmod(0o755)
        if as_user:
            shutil.chown(root, as_user)
        server = cls(bindir, root, free_port(), as_user)
        init = server._run(
            str(bindir / "initdb"), "-D", str(server.data), "-U", SUPERUSER,
            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        if init.returncode != 0:
            server.remove()
            raise PostgresUnavailable(f"initdb failed: {(init.stderr or init.stdout)[-500:]}")
        # Durability is not under test: fsync off makes CREATE DATABASE and commits fast.
        options = (
            f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1 "
            "-c synchronous_commit=off -c max_connections=200"
        )
        if not durable:
            options += " -c fsync=off -c full_page_writes=off"
        started = server._run(
            str(bindir / "pg_ctl"), "-D", str(server.data), "-l", str(server.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode != 0:
            log = (server.root / "log").read_text(errors="replace")[-800:]
            server.remove()
            raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr[-300:]} {log}")
        return server

    def stop(self) -> None:
        # Immediate: the data is thrown away, so no shutdown checkpoint is worth waiting for.
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
        )
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def sql(self, statement: str, database: str = "postgres") -> None:
        """One statement outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())
