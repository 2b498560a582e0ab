"""The app database's engine and transactions: the URL from the environment, SQLite set up to be shared by
several threads and processes (busy timeout, WAL, foreign keys), JSON columns without infinities."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from tools.jsonsafe import finite


def database_url(url: str | None = None) -> str:
    """The database to use: `url`, else `DATABASE_URL`, else SQLite under `XIAOER_HOME` (default `./.xiaoer`)."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        home = Path(os.environ.get("XIAOER_HOME") or ".xiaoer")
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'xiaoer.db'}"
    for bare in ("postgresql://", "postgres://"):  # a URL without a driver means psycopg 3, not psycopg2
        if url.startswith(bare):
            return "postgresql+psycopg://" + url.removeprefix(bare)
    return url


def make_engine(url: str | None = None) -> Engine:
    """An engine for `database_url(url)`; SQLite is set up to be shared by a web server and a scheduler."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, json_serializer=_dumps, pool_pre_ping=True)
    in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
    options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(url, json_serializer=_dumps, connect_args={"check_same_thread": False}, **options)

    @sa_event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # First, so the pragmas below wait too: switching to WAL takes a lock another new connection may hold.
        cursor.execute("PRAGMA busy_timeout=5000")  # wait for another thread's write instead of failing
        if not in_memory:
            _wal(cursor)  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _wal(cursor: Any, tries: int = 50, pause: float = 0.1) -> None:
    """Put the SQLite file in WAL mode, which it keeps once set. The switch needs a lock that SQLite may refuse at
    once, busy timeout or not, while another process's new connection holds it (processes starting together on a
    new database): then look again, for up to `tries` × `pause` seconds, instead of failing the start."""
    for attempt in range(tries):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(pause)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _dumps(value: Any) -> str:
    """JSON for a JSON column: Chinese kept readable, and no infinities or NaN.

    JSON has no infinity: PostgreSQL refuses `Infinity` outright, and SQLite stores it as text that later
    breaks the API's JSON answers. An infinite number (the lowest ROI a SKU that cannot keep the margin
    floor would need; the percent change of a bid raised from zero) is stored as null, "no finite value",
    as JavaScript's JSON.stringify does; the guard's message beside it says it in words.
    """
    return json.dumps(finite(value), ensure_ascii=False)
