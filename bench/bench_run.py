"""One shop's daily run as the service does it: wall time of `Jobs.run_daily` and of the owner's answer.

    python bench/bench_run.py [--days N] [--json OUT]

For a small shop and the 200-SKU catalogue, each simulated day: start the run (observe, plan,
guard, execute what the policy allows, verify, report in two languages, everything recorded in
SQLite storage and checkpoints), then approve whatever waits (resume, execute, verify, report
again). Then the same days with the bare graph (in-memory checkpoints, no storage, no saved
reports) to show what storage and reporting cost. Figures are medians over the days.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agent import storage
from agent.checkpoints import open_checkpointer
from agent.graph import RunDeps
from agent.jobs import Jobs, OwnerDecision
from agent.runner import run_day, scripted_owner
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.scenario import load_scenario
from marketplace.world import World

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("price_sensitive", "catalogue_200")
WARM_DAYS = 3


def with_service(name: str, days: int) -> dict[str, Any]:
    """Jobs on SQLite storage and checkpoints: per day, the run and the owner's answer."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    world, spec = World(scenario), scenario.shops[0]
    starts, answers, proposals = [], [], 0
    with tempfile.TemporaryDirectory() as tmp, in_process(world, admin_token="adm") as http, \
            open_checkpointer(Path(tmp) / "checkpoints.sqlite") as checkpointer:
        engine = storage.make_engine(f"sqlite:///{tmp}/xiaoer.db")
        storage.init_db(engine)
        with storage.session_scope(engine) as s:
            storage.save_shop(s, spec.id, spec.name)
            storage.save_policy(s, spec.id, spec.policy.model_dump(mode="json"), "bench")
        admin = AdminClient(http, "adm")
        admin.advance(WARM_DAYS)
        client = PlatformClient(http, spec.id, world.token_for(spec.id))
        jobs = Jobs(engine=engine, checkpointer=checkpointer, platform=lambda _: client, out_dir=Path(tmp) / "r")
        for _ in range(days):
            t0 = time.perf_counter()
            view = jobs.run_daily(spec.id)
            starts.append(time.perf_counter() - t0)
            proposals += sum(view.counts.values())
            if view.pending:
                t0 = time.perf_counter()
                jobs.decide(spec.id, {pid: OwnerDecision("approve") for pid in view.pending}, actor="bench")
                answers.append(time.perf_counter() - t0)
            admin.advance(1)
        engine.dispose()
    return {"skus": len(spec.products), "days": days, "proposals": proposals,
            "run_daily_s": statistics.median(starts), "decide_s": statistics.median(answers) if answers else None}


def bare_graph(name: str, days: int) -> float:
    """The same days through the graph alone (in-memory checkpoints, no storage, no report)."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    world, spec = World(scenario), scenario.shops[0]
    times: list[float] = []
    memory: dict[str, Any] = {}
    checkpointer = InMemorySaver()
    with in_process(world, admin_token="adm") as http:
        admin = AdminClient(http, "adm")
        admin.advance(WARM_DAYS)
        client = PlatformClient(http, spec.id, world.token_for(spec.id))
        for day in range(days):
            t0 = time.perf_counter()
            run_day(RunDeps(client=client, policy=spec.policy, memory=memory), f"bare-{day}", checkpointer,
                    owner=scripted_owner)
            times.append(time.perf_counter() - t0)
            admin.advance(1)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name in SCENARIOS:
        row = {"scenario": name, **with_service(name, args.days), "bare_graph_s": bare_graph(name, args.days)}
        rows.append(row)
    print("| scenario | SKUs | run_daily median s | approve-all median s | bare graph median s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        decide = f"{r['decide_s']:.2f}" if r["decide_s"] is not None else "—"
        print(f"| {r['scenario']} | {r['skus']} | {r['run_daily_s']:.2f} | {decide} | {r['bare_graph_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "python": sys.version.split()[0],
                                         "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
