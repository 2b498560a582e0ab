"""Alembic's environment: Xiaoer's tables (`SQLModel.metadata`) on the caller's connection, else on `DATABASE_URL`.

`agent.storage.init_db` and the tests pass their connection in `config.attributes["connection"]`;
the `alembic` command (developers, with the top-level alembic.ini) opens `agent.storage.make_engine()`.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from agent.storage import database_url, make_engine, migration_connection, migration_options


def run_online(connection: Connection) -> None:
    context.configure(connection=connection, **migration_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """`alembic upgrade --sql`: the SQL for a DBA to read or run, without a connection."""
    url = database_url(context.config.get_main_option("sqlalchemy.url"))
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(url=url, literal_binds=True, **migration_options(dialect))
    with context.begin_transaction():
        context.run_migrations()


if context.config.config_file_name:  # the `alembic` command: log what it runs, as alembic.ini says
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)
if context.is_offline_mode():
    run_offline()
elif (given := context.config.attributes.get("connection")) is not None:
    run_online(given)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with migration_connection(engine) as connection:
            run_online(connection)
    finally:
        engine.dispose()
