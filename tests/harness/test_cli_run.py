"""`xiaoer run` against the platform served over real HTTP: the shop registers on first use, the run is
stored, pending approvals are listed, a finished day is not run twice, and the planner's memory carries over."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from agent import storage
from agent.serving import serve_in_thread
from marketplace.api import create_app
from marketplace.client import AdminClient
from marketplace.scenario import load_scenario
from marketplace.world import World
from xiaoer_cli import app

ROOT = Path(__file__).parents[2]
runner = CliRunner()


@pytest.fixture
def platform() -> Iterator[tuple[str, World, AdminClient]]:
    world = World(load_scenario(ROOT / "scenarios/fat_margin_underspend.yaml"))
    with serve_in_thread(create_app(world, admin_token="adm"), name="platform") as url, \
            httpx.Client(base_url=url) as http:
        admin = AdminClient(http, "adm")
        admin.advance(3)
        yield url, world, admin


def test_run_registers_the_shop_runs_once_a_day_and_remembers(platform, tmp_path: Path, monkeypatch) -> None:
    url, world, admin = platform
    shop_id = world.scenario.shops[0].id
    monkeypatch.setenv("XIAOER_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("XIAOER_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    missing = runner.invoke(app, ["run", "--shop", shop_id, "--platform-url", url])
    assert missing.exit_code == 2 and "XIAOER_PLATFORM_TOKEN" in missing.output

    monkeypatch.setenv("XIAOER_PLATFORM_TOKEN", world.token_for(shop_id))
    first = runner.invoke(app, ["run", "--shop", shop_id, "--platform-url", url], terminal_width=200)
    assert first.exit_code == 0, first.output
    assert "waiting_approval" in first.output and "待审批" in first.output
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'xiaoer.db'}")
    with storage.session_scope(engine) as s:
        (run,) = storage.list_runs(s, shop_id)
        assert run.status == "waiting_approval"
        executed = [p for p in storage.proposals_for_run(s, run.id) if p.state == "executed"]
        assert storage.current_policy(s, shop_id).changed_by.startswith("cli:")
        assert storage.load_memory(s, shop_id), "the planner's estimates are kept for tomorrow"
        assert s.exec(select(storage.Shop)).one().name == world.scenario.shops[0].name
    assert {p.idempotency_key for p in executed} == {c["idempotency_key"] for c in admin.changes()}
    assert list((tmp_path / "reports" / shop_id).glob("*.zh-CN.html"))

    again = runner.invoke(app, ["run", "--shop", shop_id])  # URL and token are remembered
    assert again.exit_code == 1 and "one run per shop per day" in again.output
    admin.advance(1)
    nxt = runner.invoke(app, ["run", "--shop", shop_id])
    assert nxt.exit_code == 0, nxt.output
    with storage.session_scope(engine) as s:
        assert len(storage.list_runs(s, shop_id)) == 2


@pytest.mark.parametrize("command", [["run", "--shop", "any-shop"], ["worker", "--burst"], ["serve"]])
def test_a_bad_setting_in_the_environment_is_named_and_the_command_exits_2(command, tmp_path: Path,
                                                                           monkeypatch) -> None:
    monkeypatch.setenv("XIAOER_HOME", str(tmp_path))
    monkeypatch.setenv("XIAOER_LOCK_LEASE", "a minute")
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "XIAOER_LOCK_LEASE" in result.stderr and "环境变量设置有误" in result.stderr
    assert not (tmp_path / "xiaoer.db").exists()  # nothing was opened or made
