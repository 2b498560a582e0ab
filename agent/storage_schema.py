"""The app database's schema: Alembic migrations shipped in `agent/migrations`, and `init_db`, which brings any
database to the latest revision (used through `agent.storage`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import SQLModel

from agent.storage_models import UTCDateTime

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x7869616F65726462  # "xiaoerdb": the PostgreSQL advisory lock that lets one process migrate at a time


def init_db(engine: Engine) -> None:
    """Bring the database to the latest schema, so a model change reaches databases made by an older Xiaoer."""
    with migration_connection(engine) as connection:
        tables = set(inspect(connection).get_table_names())
        migrations = MigrationContext.configure(connection, opts=migration_options(connection.dialect.name))
        if "alembic_version" not in tables and not tables & SQLModel.metadata.tables.keys():
            SQLModel.metadata.create_all(connection)  # a new database: in one go, quicker than every migration
            migrations.stamp(_scripts(), "head")
            return
        if "alembic_version" not in tables:  # made by create_all before migrations, which is the baseline
            (baseline,) = _scripts().get_bases()
            migrations.stamp(_scripts(), baseline)
        if set(migrations.get_current_heads()) != set(_scripts().get_heads()):
            command.upgrade(migration_config(connection), "head")


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision: None for an empty one, or one made before migrations."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The revision this Xiaoer's models are at, which `init_db` brings every database to."""
    head = _scripts().get_current_head()  # raises if two heads: the revisions need `alembic merge`
    assert head is not None, f"no revisions in {MIGRATIONS / 'versions'}"
    return head


def migration_config(connection: Connection | None = None) -> Config:
    """Alembic's settings, built in code so an installed wheel needs no alembic.ini; migrates `connection` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migration_options(dialect: str) -> dict[str, Any]:
    """How Alembic compares and writes Xiaoer's schema, shared by env.py and the drift test."""
    return {
        "target_metadata": SQLModel.metadata,
        "render_as_batch": dialect == "sqlite",  # SQLite alters a table by copying it (batch mode)
        "include_name": _is_ours,
        "render_item": _render_item,
    }


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """One transaction for a schema change, which concurrent starts of Xiaoer wait for instead of racing.

    PostgreSQL: an advisory lock held until commit. SQLite: BEGIN IMMEDIATE takes the write lock up
    front (pysqlite would otherwise run the DDL outside any transaction), and foreign keys are off
    meanwhile, since a batch migration drops and renames tables that others refer to.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # ignored inside a transaction: before BEGIN
            connection.commit()
        try:
            with connection.begin():
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migration_config())  # read once: the revisions ship with the code


def _is_ours(name: str | None, type_: str, parent_names: Any) -> bool:
    # Other tables may share the database (LangGraph's checkpoints on PostgreSQL): never compare or drop them.
    return type_ != "table" or name in SQLModel.metadata.tables


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations spell out the column type, so they keep working when the app's Python type changes.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
