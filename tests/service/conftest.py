"""The service under test: the API app on a real database, its platform the simulated marketplace in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from agent import storage
from agent.checkpoints import open_checkpointer
from agent.service.app import create_app
from agent.service.platform import ShopPlatforms
from agent.service.settings import ServiceSettings
from marketplace.client import AdminClient, in_process
from marketplace.scenario import parse_scenario
from marketplace.world import World

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "fat_margin_underspend.yaml"
ADMIN_TOKEN = "service-admin-token-for-tests-0123"
PLATFORM_ADMIN = "platform-admin"
SHOP_A, SHOP_B = "fat-shop", "other-shop"


@pytest.fixture(autouse=True)
def _no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real model: the chat and the daily run use their offline paths."""
    for name in ("XIAOER_LLM_BASE_URL", "XIAOER_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def two_shop_world() -> World:
    """The fat-margin scenario with a second shop (a copy under another id), three days of history."""
    data = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    data["shops"].append({**data["shops"][0], "id": SHOP_B, "name": "Other Tea Co."})
    world = World(parse_scenario(data, source=str(SCENARIO)))
    for _ in range(3):
        world.step()
    return world


@dataclass
class Service:
    """The running API, with the platform behind it and helpers to act as the admin or an owner."""

    http: TestClient
    app: FastAPI
    engine: Engine
    world: World
    platform_admin: AdminClient

    @staticmethod
    def admin() -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def create_shop(self, shop_id: str, *, policy: dict[str, Any] | None = None, label: str = "amy") -> str:
        """Create the shop through the admin API (platform URL and token included); its new owner token."""
        spec = self.world.shops[shop_id]
        body: dict[str, Any] = {"id": shop_id, "name": spec.name, "locale": spec.locale,
                                "platform_url": "http://platform.test", "platform_token": self.world.token_for(shop_id)}
        if policy is not None:
            body["policy"] = policy
        created = self.http.post("/admin/shops", json=body, headers=self.admin())
        assert created.status_code == 201, created.text
        issued = self.http.post(f"/admin/shops/{shop_id}/tokens", json={"label": label}, headers=self.admin())
        assert issued.status_code == 201, issued.text
        return issued.json()["token"]


ServiceFactory = Callable[..., AbstractContextManager[Service]]


@contextmanager
def running_service(home: Path, database_url: str | None = None,
                    checkpoints: str | Path | None = None) -> Iterator[Service]:
    """The service over a fresh two-shop world; SQLite files under `home` unless a database URL is given."""
    world = two_shop_world()
    engine = storage.make_engine(database_url or f"sqlite:///{home / 'xiaoer.db'}")
    settings = ServiceSettings(admin_token=ADMIN_TOKEN, home=home, scheduler=False)
    try:
        with in_process(world, admin_token=PLATFORM_ADMIN) as platform_http, \
                open_checkpointer(checkpoints or home / "checkpoints.sqlite") as checkpointer, \
                ShopPlatforms(engine, http=platform_http) as platform:
            app = create_app(settings, engine=engine, checkpointer=checkpointer, platform=platform)
            with TestClient(app, base_url="http://xiaoer.test") as http:
                yield Service(http, app, engine, world, AdminClient(platform_http, PLATFORM_ADMIN))
    finally:
        engine.dispose()


@pytest.fixture
def make_service(tmp_path: Path) -> ServiceFactory:
    """`with make_service(database_url=None, checkpoints=None) as svc:` — SQLite files in tmp_path by default."""
    return lambda **options: running_service(tmp_path, **options)


@pytest.fixture
def service(make_service: ServiceFactory) -> Iterator[Service]:
    """The service on SQLite files."""
    with make_service() as svc:
        yield svc
