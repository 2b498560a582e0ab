"""Fixtures for the agent's tests: the scripted OpenAI-compatible stub server (one per test module), and
databases on each backend the app supports."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm_stub import LlmStub, run_stub


@pytest.fixture(scope="module")
def stub() -> LlmStub:
    """The stub's script and the requests it saw; tests `stub.load(...)` a script of their own."""
    return LlmStub([])


@pytest.fixture(scope="module")
def base_url(stub: LlmStub) -> Iterator[str]:
    """The stub served on loopback: its OpenAI-style `/v1` base URL."""
    with run_stub(stub) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend the app supports: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'xiaoer.db'}"
    return request.getfixturevalue("pg_database")  # only here, so the SQLite runs never start a server
