"""`make demo`: two weeks of Xiaoer on one simulated shop, offline, no LLM, then a summary."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from agent.graph import RunDeps
from agent.reporting import write_daily_report
from agent.runner import run_day, scripted_owner
from marketplace.audit import audit_run
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.harness import simulate
from marketplace.scenario import Scenario
from marketplace.world import World

ADMIN = "demo-admin"


@dataclass
class DemoResult:
    days: list[dict] = field(default_factory=list)  # per day: totals and what became of the actions
    reports: list[str] = field(default_factory=list)
    baselines: dict[str, float] = field(default_factory=dict)  # policy → profit over the same days
    outside_policy: list[dict] = field(default_factory=list)  # the independent audit (marketplace.audit)

    @property
    def profit(self) -> float:
        return sum(d["profit"] for d in self.days)


def run_demo(scenario: Scenario, days: int, out_dir: Path, progress: Callable[[int], None] | None = None
             ) -> DemoResult:
    """The agent's daily job on every shop of the scenario for `days` days, the demo owner answering."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    world = World(scenario)
    result = DemoResult()
    memory: dict[str, dict] = {}
    with in_process(world, admin_token=ADMIN) as http, \
            SqliteSaver.from_conn_string(str(out_dir / "checkpoints.sqlite")) as checkpointer:
        admin = AdminClient(http, ADMIN)
        for day in range(days):
            counts: Counter = Counter()
            for shop in scenario.shops:
                client = PlatformClient(http, shop.id, world.token_for(shop.id))
                deps = RunDeps(client=client, policy=shop.policy, memory=memory.setdefault(shop.id, {}),
                               reporter=partial(write_daily_report, out_dir=out_dir / "reports", shop_name=shop.name))
                state = run_day(deps, f"{shop.id}-day{day}", checkpointer, owner=scripted_owner)
                counts.update(o["status"] for o in state.get("outcomes", []))
                result.reports.extend(p for k, p in state.get("report", {}).items() if k.endswith("html"))
            admin.advance(1)
            totals = [world.shop_days[s.id][day] for s in scenario.shops]
            result.days.append({
                "day": day, "date": world.date_of(day).isoformat(),
                **{k: sum(getattr(t, k) for t in totals) for k in ("profit", "gmv", "ad_spend", "coupon_cost")},
                **{k: counts[k] for k in ("executed", "denied", "rejected", "failed")},
            })
            if progress:
                progress(1)
        result.outside_policy = audit_run(world, admin.changes())
    for name in ("noop", "rules"):
        result.baselines[name] = simulate(scenario, name, days=days).total("profit")
    return result
