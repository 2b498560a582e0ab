"""The one way the app opens a LangGraph checkpointer: PostgreSQL when configured, else a SQLite file.

Both savers are safe to share between the threads of the API server and the scheduler: each
serialises its own database access with a lock (`PostgresSaver.lock`, `SqliteSaver.lock`), which is
also why SQLite's connection may be opened with `check_same_thread=False`. For PostgreSQL the saver
takes its connection from a small pool rather than holding one for the life of the process, so a
connection dropped by a server restart or a proxy's idle timeout is replaced instead of failing
every run after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
# The saver holds its lock for every query, so it never uses more than one connection at a time;
# the spare connection only covers the moment a broken one is being replaced.
_POOL_SIZE = 2


def is_postgres_url(target: str | Path | None) -> bool:
    """Whether `target` names a PostgreSQL database (bare, `postgres://` or SQLAlchemy's `+psycopg` form)."""
    return isinstance(target, str) and target.startswith(_POSTGRES_SCHEMES)


def checkpoints_target(
    target: str | Path | None = None, *, checkpoints: str | None = None, database_url: str | None = None,
    home: str | Path | None = None,
) -> str | Path:
    """Where checkpoints live: `target` as given; else XIAOER_CHECKPOINTS (a PostgreSQL URL or a SQLite path);
    else the app database when DATABASE_URL is PostgreSQL; else `checkpoints.sqlite` under XIAOER_HOME
    (default `./.xiaoer`), beside the app's SQLite database.

    The more specific setting wins: checkpoints named on purpose go there even when the app database is
    PostgreSQL. `checkpoints`, `database_url` and `home` stand for those variables (ServiceSettings passes
    what it read); one not passed is read from the environment, where a blank value counts as unset.
    """
    if target is not None:
        return target
    checkpoints = checkpoints or os.environ.get("XIAOER_CHECKPOINTS", "").strip()
    if checkpoints:
        return checkpoints if "://" in checkpoints else Path(checkpoints)
    database_url = database_url or os.environ.get("DATABASE_URL", "").strip()
    if is_postgres_url(database_url):
        return database_url
    return Path(home or os.environ.get("XIAOER_HOME", "").strip() or ".xiaoer") / "checkpoints.sqlite"


@contextmanager
def open_checkpointer(target: str | Path | None = None) -> Iterator[BaseCheckpointSaver]:
    """A checkpointer for `checkpoints_target(target)`, ready to use, closed when the block ends.

    A PostgreSQL URL gives a `PostgresSaver` on a connection pool, its tables created or migrated;
    anything else is a SQLite file path (its directory is created) or `:memory:`. Sync only: async
    code needs the `aio` savers.
    """
    target = checkpoints_target(target)
    if is_postgres_url(target):
        with _postgres(str(target)) as saver:
            yield saver
        return
    if isinstance(target, str) and "://" in target:
        raise ValueError(f"checkpoints: {target.split('://')[0]}:// is not supported; "
                         "give a postgresql:// URL or a SQLite file path")
    from langgraph.checkpoint.sqlite import SqliteSaver

    if str(target) != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(target)) as saver:
        yield saver


@contextmanager
def _postgres(url: str) -> Iterator[BaseCheckpointSaver]:
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import DictRow, dict_row
    from psycopg_pool import ConnectionPool

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)  # libpq knows no SQLAlchemy driver names
    # The settings PostgresSaver.from_conn_string uses. The saver never commits, and setup() runs CREATE
    # INDEX CONCURRENTLY, which cannot run in a transaction: autocommit. prepare_threshold=0 prepares each
    # of its few, often repeated queries on first use. It reads rows as dicts.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with PostgresSaver.from_conn_string(conninfo) as first:
        # On a connection of its own: a wrong URL or a server that is down fails here at once with
        # libpq's own message, where the pool would retry quietly and time out after 30 s.
        first.setup()
    with ConnectionPool(conninfo, connection_class=Connection[DictRow], min_size=1, max_size=_POOL_SIZE,
                        kwargs=kwargs, open=True,
                        check=ConnectionPool.check_connection, name="xiaoer-checkpoints") as pool:
        yield PostgresSaver(pool)
