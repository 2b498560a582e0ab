"""A throwaway PostgreSQL server for tests: initdb in a temp dir, a free loopback port, stopped and removed at the end.

The server refuses to run as root, so when the tests run as root (CI) every server command runs
as the `postgres` user through `runuser`; on a developer's machine it runs as yourself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import psycopg
from ensure import ensure

SUPERUSER = "xiaoer"
SETTINGS = (
    # A test server keeps nothing worth a crash-safe write; without fsync, commits are much faster.
    "fsync=off", "synchronous_commit=off", "full_page_writes=off",
    # Not UTC on purpose, as a server in the shops' own zone would be: timestamps must still come back in UTC.
    "timezone=Asia/Shanghai",
)


class PostgresUnavailable(RuntimeError):
    """The server binaries could not be found or installed, or the server did not start."""


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in `root` (data/, log, socket), listening on 127.0.0.1:`port`."""

    bin_dir: Path
    root: Path
    port: int = 0
    run_as: str | None = None  # "postgres" when we are root

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return self.root / "log"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log (or a note that there is none yet)."""
        if not self.log.exists():
            return "(no server log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # cwd: the postgres user may not be allowed into the caller's directory (/root).
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        """Create the cluster: UTF-8, C locale, a trusted superuser `xiaoer` and no password."""
        done = self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", SUPERUSER,
                         "-E", "UTF8", "--no-locale", "--no-sync")
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed ({done.returncode}):\n{done.stderr[-2000:]}")

    def start(self, attempts: int = 3) -> None:
        """Start on a free port and wait until it answers a query; another port if the first was taken meanwhile."""
        for _ in range(attempts):
            self.port = free_port()
            options = " ".join([f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
                                *(f"-c {setting}" for setting in SETTINGS)])
            started = self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.log),
                                "-w", "-t", "60", "start", timeout=90)
            if started.returncode == 0:
                self._wait_for_connections()
                return
            if "could not bind" not in self.log_tail():
                break
        raise PostgresUnavailable(f"pg_ctl start failed ({started.returncode}): {started.stderr.strip()}\n"
                                  f"server log ({self.log}):\n{self.log_tail()}")

    def _wait_for_connections(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"server on port {self.port} does not accept connections: {exc}\n"
                                              f"server log:\n{self.log_tail()}") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its directory."""
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def ensure_postgres() -> Path:
    """The server's bin dir, from scripts/ensure-postgres (which installs PostgreSQL when root)."""
    return Path(ensure("ensure-postgres", PostgresUnavailable))


def start_server() -> PostgresServer:
    """A running throwaway server; raises PostgresUnavailable (with the log's tail) if it cannot start."""
    bin_dir = ensure_postgres()
    root = Path(tempfile.mkdtemp(prefix="xiaoer-pg-"))
    server = PostgresServer(bin_dir, root, run_as="postgres" if os.geteuid() == 0 else None)
    try:
        if server.run_as:
            shutil.chown(root, user=server.run_as)
        server.init()
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"t_{uuid4().hex}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database made by `create_database`, closing whatever connections a test left open."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
