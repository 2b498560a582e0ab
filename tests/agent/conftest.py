"""Fixtures for the agent's tests: the scripted OpenAI-compatible stub server (one per test module)."""

from collections.abc import Iterator

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
