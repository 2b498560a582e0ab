"""Test data builders shared across the test packages."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from agent.storage import init_db, make_engine, save_shop, session_scope


@contextmanager
def alpha_shop_db(url: str) -> Iterator[Engine]:
    """The database at `url` with Xiaoer's schema and one shop, "alpha"."""
    engine = make_engine(url)
    init_db(engine)
    with session_scope(engine) as session:
        save_shop(session, "alpha", "阿尔法小店")
    try:
        yield engine
    finally:
        engine.dispose()
