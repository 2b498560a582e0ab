"""Fixtures for every test: a real PostgreSQL server, started only for the tests that ask for it."""

from collections.abc import Iterator

import pytest
from pg import PostgresUnavailable, create_database, drop_database, start_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The superuser URL of a throwaway PostgreSQL server for this test session.

    Never skips: CI runs as root and installs the server, so a server that cannot start fails the
    tests that need it, with the end of its log in the message.
    """
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None  # pytest.fail, without the chained error
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh, empty database for one test (dropped afterwards)."""
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)
