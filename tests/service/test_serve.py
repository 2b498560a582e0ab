"""`xiaoer serve --with-platform`: the scenario's shops registered with tokens, the app over the in-process
platform, its simulated clock moved by finished runs, and one real start and stop of the command."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from agent import storage
from agent.service.demo_platform import SCENARIO_ACTOR, demo_app, first_day, setup_demo_shops
from agent.service.settings import ServiceSettings
from marketplace.scenario import load_scenario
from marketplace.world import World

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "price_sensitive.yaml"
XIAOER = ROOT / ".venv" / "bin" / "xiaoer"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'xiaoer.db'}")
    storage.init_db(engine)
    yield engine
    engine.dispose()


def _policy_versions(engine: Engine, shop_id: str) -> list[storage.PolicyVersion]:
    with storage.session_scope(engine) as s:
        return storage.policy_history(s, shop_id)


def _shop_for(engine: Engine, token: str) -> str | None:
    with storage.session_scope(engine) as s:
        return storage.shop_for_token(s, token)


def test_setup_demo_shops_registers_shops_policies_and_tokens_again_and_again(engine: Engine) -> None:
    world = World(load_scenario(SCENARIO))
    first = setup_demo_shops(engine, world)

    assert set(first) == set(world.shops)
    for shop_id, token in first.items():
        assert token.startswith("xo_") and _shop_for(engine, token) == shop_id
        with storage.session_scope(engine) as s:
            shop = storage.get_shop(s, shop_id)
            assert shop is not None and shop.platform_token == world.token_for(shop_id)
        [policy] = _policy_versions(engine, shop_id)
        expected = world.shops[shop_id].policy.model_dump(mode="json", exclude={"version", "changed_by", "changed_at"})
        assert policy.changed_by == SCENARIO_ACTOR and {k: policy.body[k] for k in expected} == expected

    again = setup_demo_shops(engine, world)  # a second start on the same XIAOER_HOME
    shop_id = next(iter(first))
    assert again[shop_id] != first[shop_id]
    assert _shop_for(engine, again[shop_id]) == _shop_for(engine, first[shop_id]) == shop_id
    assert len(_policy_versions(engine, shop_id)) == 1  # the same policy is not stored twice
    with storage.session_scope(engine) as s:
        assert len(s.exec(select(storage.Shop)).all()) == len(world.shops)

    mine = _policy_versions(engine, shop_id)[-1].body
    with storage.session_scope(engine) as s:  # the owner's own limits survive the next start
        storage.save_policy(s, shop_id, {**mine, "spend": {**mine["spend"], "daily_cap": 300.0}}, "amy")
    setup_demo_shops(engine, world)
    assert [v.changed_by for v in _policy_versions(engine, shop_id)] == [SCENARIO_ACTOR, "amy"]


def test_the_served_app_shows_the_sign_in_page_and_the_shop_to_its_printed_token(engine: Engine,
                                                                                  tmp_path: Path) -> None:
    world = World(load_scenario(SCENARIO))
    tokens = setup_demo_shops(engine, world)
    shop_id, token = next(iter(tokens.items()))
    settings = ServiceSettings(home=tmp_path, scheduler=False)

    with demo_app(settings, engine, world, days=2) as app, TestClient(app) as http:
        assert world.day == 2
        page = http.get("/")
        assert page.status_code == 200 and 'name="token"' in page.text
        shop = http.get(f"/shops/{shop_id}", headers={"Authorization": f"Bearer {token}"})
        assert shop.status_code == 200 and shop.json()["id"] == shop_id
        assert http.get(f"/shops/{shop_id}").status_code == 401


def test_the_simulated_day_moves_on_once_its_run_is_done(engine: Engine, tmp_path: Path) -> None:
    world = World(load_scenario(SCENARIO))
    shop_id, token = next(iter(setup_demo_shops(engine, world).items()))
    owner = {"Authorization": f"Bearer {token}"}
    settings = ServiceSettings(home=tmp_path, scheduler=False)

    with demo_app(settings, engine, world, days=2) as app, TestClient(app) as http:
        run = http.post(f"/shops/{shop_id}/runs", headers=owner).json()
        assert run["date"] == world.date_of(2).isoformat()
        assert run["status"] == "waiting_approval" and world.day == 2  # a run waiting for the owner holds the day
        decided = http.post(f"/shops/{shop_id}/proposals/decide", headers=owner,
                            json={"decisions": {pid: {"decision": "reject"} for pid in run["pending"]}})
        assert decided.json()["runs"][0]["status"] == "done" and world.day == 3
        assert http.post(f"/shops/{shop_id}/runs", headers=owner).json()["date"] == world.date_of(3).isoformat()

    restarted = World(load_scenario(SCENARIO))  # a restart starts past the days this home has run
    assert first_day(engine, restarted, days=0) == 4
    assert first_day(engine, restarted, days=10) == 10
    assert first_day(engine, restarted, days=999) == restarted.scenario.horizon_days - 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"xiaoer serve exited with {proc.returncode}:\n{log.read_text(encoding='utf-8')}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {seconds}s:\n{log.read_text(encoding='utf-8')}")


@pytest.mark.skipif(not XIAOER.exists(), reason="needs the project's .venv (make installs it)")
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_xiaoer_serve_with_platform_starts_prints_a_token_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, log = _free_port(), tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("XIAOER_") and k not in ("DATABASE_URL", "OPENAI_API_KEY")}
    env["XIAOER_HOME"] = str(tmp_path / "home")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(XIAOER), "serve", "--with-platform", str(SCENARIO), "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health", proc, log)
        printed = log.read_text(encoding="utf-8")
        found = re.search(rf"open {re.escape(base)}/ and sign in with (xo_\S+)\s+\(shop (\S+)\)", printed)
        assert found, printed
        token, shop_id = found.groups()
        assert f"用 {token} 登录" in printed
        shop = httpx.get(f"{base}/shops/{shop_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert shop.status_code == 200 and shop.json()["id"] == shop_id
        assert 'name="token"' in httpx.get(f"{base}/", timeout=10).text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"xiaoer serve did not stop within 30s of Ctrl+C:\n{log.read_text(encoding='utf-8')}")
    assert code == 0, log.read_text(encoding="utf-8")
    assert "Application shutdown complete" in log.read_text(encoding="utf-8")
    assert (tmp_path / "home" / "xiaoer.db").exists()
