"""`xiaoer db upgrade|current`: the schema of the app database (`DATABASE_URL`, default SQLite under `XIAOER_HOME`).

`xiaoer serve` and `xiaoer run` migrate the database on start as well; `upgrade` lets an operator do
it on purpose (say, before starting several processes), `current` tells whether it is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # storage (SQLAlchemy, Alembic) loads only when a command runs: `xiaoer --help` stays quick
    from sqlalchemy import Engine

app = typer.Typer(help="The app database's schema (DATABASE_URL). 应用数据库的结构。", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Migrate the database to this Xiaoer's schema, keeping its rows. 将数据库结构升级到最新版本（保留数据）。"""
    from agent import storage

    with _engine() as engine:
        before = storage.schema_revision(engine)
        storage.init_db(engine)
        after = storage.schema_revision(engine)
        where = _shown(engine)
    if before == after:
        typer.echo(f"{where}: already at {after} (head), nothing to do. 已是最新版本。")
    else:
        typer.echo(f"{where}: {before or 'none'} -> {after} (head). 已升级。")


@app.command("current")
def current() -> None:
    """Show the database's schema revision; exit 1 when it is behind. 显示数据库结构版本；落后时退出码为 1。"""
    from agent import storage

    with _engine() as engine:
        revision = storage.schema_revision(engine)
        where = _shown(engine)
    head = storage.head_revision()
    if revision == head:
        typer.echo(f"{where}: {revision} (head). 已是最新版本。")
        return
    typer.echo(f"{where}: {revision or 'none'}, this Xiaoer's is {head}: run `xiaoer db upgrade` "
               "(serve and run also do it on start). 版本落后，请运行 `xiaoer db upgrade`。")
    raise typer.Exit(1)


@contextmanager
def _engine() -> Iterator[Engine]:
    from agent import storage

    engine = storage.make_engine()  # DATABASE_URL, else XIAOER_HOME's SQLite: the database serve and run use
    try:
        yield engine
    finally:
        engine.dispose()


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
