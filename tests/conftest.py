"""Fixtures for every test: a real PostgreSQL server, a real Redis server and a real Chromium, started only for the
tests that ask."""

from collections.abc import Iterator

import pytest
from browser import ensure_chromium
from pg import PostgresUnavailable, create_database, drop_database, start_server
from playwright.sync_api import Browser, Playwright, sync_playwright
from redis_server import RedisUnavailable, start_redis


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


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The URL of a throwaway Redis server for this test session (installed by scripts/ensure-redis on first use).

    Never skips, for the same reason as `postgres_url`.
    """
    try:
        server = start_redis()
    except RedisUnavailable as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The session's Redis server, emptied before and after each test that uses it."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    yield redis_server_url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium and the CJK font, installed on first use by scripts/ensure-browser (root only; CI is root)."""
    code, out, err = ensure_chromium()
    if code == 3:
        pytest.skip(f"no browser and not root: {err.strip()}")
    assert code == 0, f"scripts/ensure-browser failed ({code}):\n{err[-2000:]}"
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def pw() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(pw: Playwright, chromium_path: str) -> Iterator[Browser]:
    browser = pw.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
    yield browser
    browser.close()
