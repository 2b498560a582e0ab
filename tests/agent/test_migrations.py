"""Schema migrations on SQLite and PostgreSQL: the revisions build exactly the models' schema, and `init_db`
brings any database to head (new, up to date, or made by an older Xiaoer) without losing a row.

A model change without a revision fails `test_the_revisions_build_exactly_the_models_schema`: write one
with `alembic revision --autogenerate` (see alembic.ini).
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, Table, insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from typer.testing import CliRunner

from agent.service.webhook import SECRET_OVERLAP, rotate_secret
from agent.storage import (
    audit_log,
    get_shop,
    head_revision,
    init_db,
    make_engine,
    migration_config,
    migration_connection,
    migration_options,
    save_shop,
    schema_revision,
    session_scope,
)
from xiaoer_cli import app

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASELINE = ScriptDirectory.from_config(migration_config()).get_base()
runner = CliRunner()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run the revisions themselves up to `revision` (not init_db's create_all shortcut for a new database)."""
    with migration_connection(engine) as connection:
        command.upgrade(migration_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with migration_connection(engine) as connection:
        command.downgrade(migration_config(connection), revision)


def drift(engine: Engine, metadata: MetaData = SQLModel.metadata) -> list[Any]:
    """What autogenerate would write for `metadata` against this database: nothing when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migration_options(connection.dialect.name))
        return compare_metadata(context, metadata)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def add_old_rows(engine: Engine) -> None:
    """A shop with a policy, a run, a proposal and an audit event, written through the database's own columns
    (the current models may have columns an older schema lacks)."""
    rows: dict[str, dict[str, Any]] = {
        "shops": {"id": "alpha", "name": "阿尔法小店", "locale": "zh-CN", "timezone": "Asia/Shanghai",
                  "daily_run_time": "08:00", "webhook_url": "https://example.test/hook", "created_at": NOW},
        "policy_versions": {"shop_id": "alpha", "version": 1, "body": {"max_bid": 2.5}, "changed_by": "owner",
                            "changed_at": NOW, "note": "first"},
        "runs": {"id": "run-1", "shop_id": "alpha", "day": 1, "date": "2026-03-02", "kind": "daily",
                 "status": "done", "thread_id": "t-1", "started_at": NOW},
        "proposals": {"id": "p-1", "run_id": "run-1", "shop_id": "alpha", "kind": "set_bid", "target": "sku-1",
                      "action": {"bid": 2.0}, "rationale": "出价偏低", "proposed_by": "planner", "state": "executed",
                      "created_at": NOW, "updated_at": NOW},
        "audit_events": {"at": NOW, "shop_id": "alpha", "run_id": "run-1", "proposal_id": "p-1", "actor": "cli",
                         "event": "executed", "detail": {"ok": True}},
    }
    with engine.begin() as connection:
        old = MetaData()
        for name, row in rows.items():
            connection.execute(insert(Table(name, old, autoload_with=connection)), row)


# --- (1) the revisions and the models agree ---------------------------------------------------------------------

def test_the_revisions_build_exactly_the_models_schema(engine: Engine) -> None:
    migrate(engine)

    assert drift(engine) == []
    assert schema_revision(engine) == head_revision()


def test_a_model_change_without_a_revision_shows_as_drift(engine: Engine) -> None:
    migrate(engine)
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["shops"].append_column(Column("nickname", String, nullable=True))

    (diff,) = drift(engine, changed)
    assert diff[0] == "add_column" and diff[2:4] == ("shops", changed.tables["shops"].c.nickname)


def test_tables_of_others_in_the_database_are_left_alone(engine: Engine) -> None:
    with engine.begin() as connection:  # LangGraph keeps its checkpoints in the app database on PostgreSQL
        connection.execute(text("CREATE TABLE checkpoints (thread_id VARCHAR PRIMARY KEY)"))

    init_db(engine)  # not taken for a database of an older Xiaoer: made afresh and stamped

    assert schema_revision(engine) == head_revision()
    assert drift(engine) == []  # nor would autogenerate drop it
    assert count(engine, "checkpoints") == 0


# --- (2) older databases are upgraded with their rows ------------------------------------------------------------

@pytest.mark.parametrize("versioned", [True, False], ids=["at-baseline", "create_all-before-migrations"])
def test_an_older_database_is_upgraded_by_init_db_with_its_rows(engine: Engine, versioned: bool) -> None:
    assert BASELINE is not None
    migrate(engine, BASELINE)
    if not versioned:  # what an older Xiaoer's create_all left: the baseline's tables and no alembic_version
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
    add_old_rows(engine)

    init_db(engine)

    assert schema_revision(engine) == head_revision()
    assert drift(engine) == []
    for table in ("shops", "policy_versions", "runs", "proposals", "audit_events"):
        assert count(engine, table) == 1, table
    with session_scope(engine) as session:
        shop = get_shop(session, "alpha")
        assert shop is not None and (shop.name, shop.webhook_url) == ("阿尔法小店", "https://example.test/hook")
        assert (shop.webhook_secret, shop.previous_webhook_secret, shop.previous_webhook_secret_until) == (None,) * 3
        assert [(e.event, e.detail) for e in audit_log(session, "alpha")] == [("executed", {"ok": True})]


def test_a_rotated_webhook_secret_and_its_end_are_stored_by_the_revisions_columns(engine: Engine) -> None:
    migrate(engine)
    with session_scope(engine) as session:
        shop = save_shop(session, "alpha", "阿尔法小店", webhook_url="https://example.test/hook")
        shop.webhook_secret = "whsec_old"
        new = rotate_secret(shop, NOW)

    with session_scope(engine) as session:
        shop = get_shop(session, "alpha")
        assert shop is not None and (shop.webhook_secret, shop.previous_webhook_secret) == (new, "whsec_old")
        assert shop.previous_webhook_secret_until == NOW + SECRET_OVERLAP  # aware UTC on either backend


def test_a_revision_that_copies_a_table_keeps_the_rows_that_refer_to_it(engine: Engine) -> None:
    # On SQLite, dropping a column rebuilds `shops` (copy, drop, rename) while runs and proposals refer to it:
    # that needs foreign keys off during the migration, and back on afterwards.
    init_db(engine)
    add_old_rows(engine)
    head = head_revision()

    downgrade(engine, BASELINE or "base")  # every later revision's downgrade, then its upgrade
    assert schema_revision(engine) == BASELINE
    migrate(engine)

    assert schema_revision(engine) == head and drift(engine) == []
    for table in ("shops", "runs", "proposals", "audit_events"):
        assert count(engine, table) == 1, table
    with pytest.raises(IntegrityError), engine.begin() as connection:  # foreign keys are enforced again
        connection.execute(text("INSERT INTO runs (id, shop_id, day, date, kind, status, thread_id, started_at) "
                                "VALUES ('run-2', 'nobody', 1, '2026-03-02', 'daily', 'done', 't-2', :at)"),
                           {"at": NOW})


# --- (3) init_db on new and current databases ------------------------------------------------------------------

def test_init_db_makes_a_new_database_at_head_and_running_it_again_changes_nothing(engine: Engine) -> None:
    init_db(engine)
    assert schema_revision(engine) == head_revision()
    assert drift(engine) == []
    with session_scope(engine) as session:
        save_shop(session, "alpha", "阿尔法小店")

    init_db(engine)
    init_db(engine)

    assert schema_revision(engine) == head_revision()
    assert count(engine, "alembic_version") == 1
    with session_scope(engine) as session:
        assert get_shop(session, "alpha") is not None


def test_processes_starting_at_once_migrate_the_database_once(db_url: str) -> None:
    def start(_: int) -> str | None:
        engine = make_engine(db_url)  # an engine each, as separate processes would have
        try:
            init_db(engine)
            return schema_revision(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(start, range(4)))

    assert revisions == [head_revision()] * 4
    engine = make_engine(db_url)
    try:
        assert count(engine, "alembic_version") == 1 and drift(engine) == []
    finally:
        engine.dispose()


def test_a_new_database_is_made_from_the_models_not_by_running_every_revision(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The suite makes hundreds of databases: create_all and a stamp are quick, replaying history is not.
    def upgrade(*_: Any, **__: Any) -> None:
        raise AssertionError("init_db ran the revisions for a new database")

    monkeypatch.setattr(command, "upgrade", upgrade)
    init_db(engine)
    init_db(engine)  # and an up-to-date one has nothing to run either

    assert schema_revision(engine) == head_revision()


# --- (4) the operator's commands ----------------------------------------------------------------------------------

def test_db_current_and_upgrade_commands(engine: Engine, db_url: str) -> None:
    assert BASELINE is not None
    migrate(engine, BASELINE)
    add_old_rows(engine)
    head = head_revision()
    env = {"DATABASE_URL": db_url}

    behind = runner.invoke(app, ["db", "current"], env=env)
    assert behind.exit_code == 1 and BASELINE in behind.output and "xiaoer db upgrade" in behind.output

    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"{BASELINE} -> {head} (head)" in upgraded.output

    assert schema_revision(engine) == head and count(engine, "shops") == 1
    current = runner.invoke(app, ["db", "current"], env=env)
    assert current.exit_code == 0 and f"{head} (head)" in current.output
    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert again.exit_code == 0 and "already at" in again.output


def test_db_upgrade_makes_a_new_database(db_url: str) -> None:
    env = {"DATABASE_URL": db_url}
    assert runner.invoke(app, ["db", "current"], env=env).exit_code == 1

    result = runner.invoke(app, ["db", "upgrade"], env=env)

    assert result.exit_code == 0 and f"none -> {head_revision()} (head)" in result.output
    assert runner.invoke(app, ["db", "current"], env=env).exit_code == 0
