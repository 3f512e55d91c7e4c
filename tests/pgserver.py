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
    """The newest /usr/lib/postgresql/*/bin with initdb (Debian's layout), or $PG_BINDIR."""
    explicit = os.environ.get("PG_BINDIR")
    candidates = [explicit] if explicit else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )[::-1]
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file():
            return Path(folder)
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
        "`apt-get install -y postgresql`)"
    )


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
        as_user = None
        if os.geteuid() == 0:
            as_user = "postgres"
            try:
                import pwd

                pwd.getpwnam(as_user)
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user") from None
        root = Path(tempfile.mkdtemp(prefix="wirebrief-pg-"))
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
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def sql(self, statement: str, database: str = "postgres") -> None:
        """One statement outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())
