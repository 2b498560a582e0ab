"""Health, metrics and process settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from agent import storage
from agent.checkpoints import checkpoints_target
from agent.service import metrics
from agent.service.app import create_app
from agent.service.settings import ServiceSettings

from .conftest import SHOP_A, Service

SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+(\.\d+)?$')


def test_health_says_ok_with_a_database_and_503_without(service: Service, tmp_path) -> None:
    assert service.http.get("/health").json() == {"status": "ok", "database": "ok"}
    gone = storage.make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    answer = TestClient(create_app(ServiceSettings(scheduler=False), engine=gone)).get("/health")
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "database_unavailable"


def test_metrics_are_prometheus_text(service: Service) -> None:
    token = service.create_shop(SHOP_A, policy={})
    service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token))
    metrics.add_llm_tokens(5)
    answer = service.http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = answer.text.splitlines()
    for line in lines:
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line
    assert 'xiaoer_runs{status="waiting_approval"} 1' in lines
    assert any(line.startswith('xiaoer_proposals{kind="set_bid",state="') for line in lines)
    assert any(line.startswith('xiaoer_guard_decisions{decision="') for line in lines)
    assert f"xiaoer_llm_tokens_total {metrics.llm_tokens()}" in lines
    with pytest.raises(ValueError, match="n must be >= 0"):
        metrics.add_llm_tokens(-1)


def test_settings_refuse_a_weak_admin_token_and_read_blank_as_unset(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for weak in ("changethis", "short-token"):
        with pytest.raises(ValidationError, match="XIAOER_ADMIN_TOKEN"):
            ServiceSettings(admin_token=weak)
    for name in ("DATABASE_URL", "XIAOER_ADMIN_TOKEN", "XIAOER_HOME", "XIAOER_REPORTS_DIR", "XIAOER_CHECKPOINTS"):
        monkeypatch.setenv(name, "")
    settings = ServiceSettings()
    assert (settings.admin, settings.reports_dir, str(settings.home)) == (None, None, ".xiaoer")
    assert settings.database() == "sqlite:///.xiaoer/xiaoer.db"
    assert (tmp_path / ".xiaoer").is_dir(), "the default database's directory is made"
    monkeypatch.setenv("XIAOER_SCHEDULER", "")
    assert ServiceSettings().scheduler is True
    monkeypatch.setenv("XIAOER_SCHEDULER", "false")
    assert ServiceSettings().scheduler is False


def test_settings_read_only_their_own_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A field's own name is not a variable of ours: $HOME is the user's home, not Xiaoer's data directory.
    for name in ("XIAOER_HOME", "XIAOER_SCHEDULER", "XIAOER_CHECKPOINTS", "XIAOER_PUBLIC_URL", "XIAOER_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (("HOME", str(tmp_path)), ("SCHEDULER", "false"), ("CHECKPOINTS", "/elsewhere.sqlite"),
                        ("PUBLIC_URL", "http://other.example"), ("QUEUE_URL", "redis://other:6379/0")):
        monkeypatch.setenv(name, value)
    settings = ServiceSettings()
    assert (str(settings.home), settings.scheduler, settings.checkpoints, settings.public_url, settings.queue_url) == (
        ".xiaoer", True, None, None, None)
    assert settings.checkpoint_target() == Path(".xiaoer") / "checkpoints.sqlite"
    monkeypatch.setenv("XIAOER_HOME", str(tmp_path / "data"))
    assert ServiceSettings().home == tmp_path / "data" and ServiceSettings(home=tmp_path).home == tmp_path


def test_settings_put_checkpoints_where_the_checkpointer_would(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "XIAOER_HOME", "XIAOER_CHECKPOINTS"):
        monkeypatch.delenv(name, raising=False)
    assert ServiceSettings(home=tmp_path).checkpoint_target() == tmp_path / "checkpoints.sqlite"
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/xiaoer")
    assert ServiceSettings().checkpoint_target() == checkpoints_target() == "postgresql://x@db/xiaoer"
    monkeypatch.setenv("XIAOER_CHECKPOINTS", "/data/cp.sqlite")  # the more specific setting wins
    assert ServiceSettings().checkpoint_target() == checkpoints_target() == Path("/data/cp.sqlite")
