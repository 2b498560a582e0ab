"""The simulated platform beside the service, for a newcomer: its shops registered, its clock moved by the runs.

`setup_demo_shops` puts every shop of a scenario in storage with an owner token; `demo_app` serves
the API and the page over the platform in this process. The simulated clock does not follow the wall
clock: `SimulatedClockJobs` moves it a day once a run of the current day is done and no other shop's
run of that day is still under way, so "Run now" always has a new day after the last one finished.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import col, func, select

from agent import storage
from agent.checkpoints import open_checkpointer
from agent.jobs import Jobs, OwnerDecision, RunView
from agent.llm import make_chat_model
from agent.service import metrics
from agent.service.app import create_app
from agent.service.platform import ShopPlatforms
from agent.service.settings import ServiceSettings
from agent.storage_models import Run, RunStatus
from marketplace.client import AdminClient, PlatformError, in_process

if TYPE_CHECKING:
    from marketplace.world import World

log = logging.getLogger(__name__)
DEMO_LABEL = "demo-owner"  # the owner's name in the audit log
SCENARIO_ACTOR = "scenario"  # who stored the scenario's policy; a version by anyone else is the owner's own


def setup_demo_shops(engine: Engine, world: World) -> dict[str, str]:
    """Register every shop of the simulated world in storage and issue each a new owner token; shop id → token.

    Safe to call again: a known shop gets its name, locale and platform token updated; the scenario's
    policy is stored when the shop has none, or when the scenario changed it and the owner had not;
    every call issues a fresh owner token (earlier ones stay valid).
    """
    tokens = {}
    for spec in world.scenario.shops:
        with storage.session_scope(engine) as s:
            storage.save_shop(s, spec.id, spec.name or spec.id, locale=spec.locale,
                              platform_token=world.token_for(spec.id))
            policy = _policy_body(spec.policy.model_dump(mode="json"))
            current = storage.current_policy(s, spec.id)
            if current is None or (current.changed_by == SCENARIO_ACTOR and _policy_body(current.body) != policy):
                storage.save_policy(s, spec.id, policy, SCENARIO_ACTOR, f"scenario {world.scenario.name}")
            tokens[spec.id] = storage.issue_token(s, spec.id, DEMO_LABEL)
    return tokens


def _policy_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("version", "changed_by", "changed_at")}


def first_day(engine: Engine, world: World, days: int) -> int:
    """The simulated day to start at: `days` in, or the day after the last one already run for these shops,
    at most the scenario's last day."""
    with storage.session_scope(engine) as s:
        last = s.exec(select(func.max(Run.day)).where(col(Run.shop_id).in_(list(world.shops)))).one()
    start = max(days, last + 1 if last is not None else 0)
    return min(start, world.scenario.horizon_days - 1)


@dataclass
class SimulatedClockJobs(Jobs):
    """Jobs against the simulated platform that move its clock a day once the current day's runs are finished.

    admin: the platform's admin client (the only way to move its clock); None leaves the clock alone.
    shop_ids: the shops on that platform. horizon_days: the scenario's length (its last day is horizon - 1).
    """

    admin: AdminClient | None = None
    shop_ids: tuple[str, ...] = ()
    horizon_days: int = 0
    _clock_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run_daily(self, shop_id: str, *, actor: str = "scheduler") -> RunView:
        view = super().run_daily(shop_id, actor=actor)
        self.advance_if_day_done()
        return view

    def decide(self, shop_id: str, decisions: dict[str, OwnerDecision], *, actor: str) -> list[RunView]:
        views = super().decide(shop_id, decisions, actor=actor)
        self.advance_if_day_done()
        return views

    def expire_due(self) -> list[str]:
        expired = super().expire_due()
        if expired:
            self.advance_if_day_done()
        return expired

    def advance_if_day_done(self) -> bool:
        """Move the platform to its next day when a daily run of the current day is done and none is under way."""
        if self.admin is None:
            return False
        with self._clock_lock:  # two runs finishing together move the clock once
            clock = self.admin.clock()
            if clock["day"] + 1 >= self.horizon_days:
                return False
            with storage.session_scope(self.engine) as s:
                statuses = set(s.exec(select(Run.status).where(
                    Run.date == clock["date"], Run.kind == "daily", col(Run.shop_id).in_(self.shop_ids))).all())
            if RunStatus.DONE.value not in statuses or RunStatus.RUNNING.value in statuses:
                return False
            try:
                self.admin.advance(1)
            except PlatformError as exc:  # the run itself is done and stored: this must not make it look failed
                log.warning("the simulated clock stays on %s: %s", clock["date"], exc)
                return False
            log.info("simulated day %s is done; the platform moves to the next day", clock["date"])
            return True


@contextmanager
def demo_app(settings: ServiceSettings, engine: Engine, world: World, *, days: int = 3,
             advance_after_run: bool = True) -> Iterator[FastAPI]:
    """The service app over `world`'s platform, served in-process; the platform's clock moved to `first_day`.

    Shops must be in storage already (`setup_demo_shops`). Everything opened here closes when the block ends.
    """
    admin_token = secrets.token_urlsafe(24)  # nobody outside this process needs it
    with in_process(world, admin_token) as http, open_checkpointer(settings.checkpoint_target()) as checkpointer, \
            ShopPlatforms(engine, http=http) as platforms:
        admin = AdminClient(http, admin_token)
        ahead = first_day(engine, world, days) - world.day
        if ahead > 0:
            admin.advance(ahead)
        jobs = SimulatedClockJobs(engine=engine, checkpointer=checkpointer, platform=platforms,
                                  out_dir=settings.reports_dir, llm=make_chat_model(),
                                  on_llm_tokens=metrics.add_llm_tokens,
                                  admin=admin if advance_after_run else None, shop_ids=tuple(world.shops),
                                  horizon_days=world.scenario.horizon_days)
        yield create_app(settings, jobs=jobs)
