"""Held-out benchmark: every policy on generated shops nobody tuned the agent on, scored against the oracle.

    python bench/bench_heldout.py [--shops 16] [--skus 12] [--first-seed 2001] [--days 28] [--json OUT] [--md OUT]
                                  [--chart OUT.png] [--told-the-end] [--no-ad-history]

The scenarios in scenarios/ are hand-made, and the agent has been improved while looking at them. Here each
shop is `marketplace.generator.generate(skus, seed=first_seed + k)`: random but realistic prices, margins,
segments, events and starting coupons. Every policy runs on every shop through the harness (the same runs as
`xiaoer bench`); the summary gives, per policy, its share of the oracle's profit across the shops (median,
minimum, 25th percentile), how many shops reach 85% of the oracle, on how many shops the agent beats it, and
the audit's outside-policy findings (marketplace.audit: a run that broke the owner's limits).

`--told-the-end` adds a diagnostic row, `agent_told_end`: the agent with its plan cut at the run's last day, as the
oracle's is. The agent plans a shop that goes on; the difference between the two rows is what the oracle gains
from knowing when the run stops (stock left unsold at the end is worth nothing to it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]  # run as a script from anywhere

from agent.planner import plan  # noqa: E402
from agent.runner import AgentStrategy  # noqa: E402
from marketplace.bench_chart import strip_chart  # noqa: E402
from marketplace.generator import generate  # noqa: E402
from marketplace.harness import BenchRow, _bench_seed  # noqa: E402
from marketplace.scenario import Scenario  # noqa: E402
from marketplace.strategies.base import register, strategy_names  # noqa: E402
from policies.domain import CampaignStatus  # noqa: E402

GOOD_SHARE = 0.85  # a policy "keeps up" on a shop at 85% of the oracle's profit


TOLD_THE_END = "agent_told_end"  # the diagnostic: the agent with its plan cut at the run's last day


@register(TOLD_THE_END, listed=False)
def _agent_told_the_end(world: Any) -> AgentStrategy:
    """The agent, its plan's horizon cut at the run's last day as the oracle's is. A shop that goes on has no last
    day; this only measures how much of the gap to the oracle is the oracle knowing when the run stops."""
    agent = AgentStrategy(world, name=TOLD_THE_END)
    agent.planner = partial(plan, end_day=world.scenario.horizon_days)
    return agent


def run_shops(shops: int, skus: int, first_seed: int, days: int, progress: bool = True,
              told_the_end: bool = False, no_ad_history: bool = False) -> list[BenchRow]:
    """Every policy, the oracle first, on `shops` generated shops (seeds first_seed, first_seed + 1, …); with
    `told_the_end`, the agent once more with its plan cut at the run's last day; with `no_ad_history`, every
    campaign paused at the start."""
    policies = ["oracle", *(p for p in strategy_names() if p != "oracle")]
    policies += [TOLD_THE_END] if told_the_end else []
    rows: list[BenchRow] = []
    with _progress(shops * len(policies) * days, progress) as (advance, say):
        for seed in range(first_seed, first_seed + shops):
            scenario = generate(skus, seed=seed, days=days, name=f"generated-{seed}")  # summarise() groups by name
            scenario = ads_paused(scenario) if no_ad_history else scenario
            shop = _bench_seed(scenario, policies, advance)
            rows += shop
            agent = next(r for r in shop if r.policy == "agent")
            say(f"seed {seed}: " + " · ".join(f"{r.policy} {_pct(r.share_of_oracle)}" for r in shop
                                               if r.policy != "oracle")
                + f"; agent outside policy {agent.outside_policy}")
    return rows


def ads_paused(scenario: Scenario) -> Scenario:
    """The same shops with every campaign paused: no ad has run, so there is no ad history to learn from."""
    data = scenario.model_dump(mode="json", exclude_unset=True)
    for shop in data["shops"]:
        for campaign in shop.get("campaigns", []):
            campaign["status"] = CampaignStatus.PAUSED.value
    return Scenario.model_validate(data)


@contextmanager
def _progress(total_days: int, shown: bool) -> Iterator[tuple[Any, Any]]:
    """A bar over simulated days, as `xiaoer bench` draws, and a way to print a line above it."""
    if not shown:
        yield (lambda days: None), (lambda line: None)
        return
    with Progress(TextColumn("[bold]held-out shops 留出店铺"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("", total=total_days)
        yield (lambda days: bar.advance(task, days)), bar.console.print


def summary(rows: list[BenchRow]) -> list[dict[str, Any]]:
    """Per policy across the shops: share of the oracle (median, min, 25th percentile), shops at 85% or more,
    shops where the agent made more profit than it, and the audit's outside-policy findings."""
    agent = {r.scenario: r.profit for r in rows if r.policy == "agent"}
    out = []
    for policy in dict.fromkeys(r.policy for r in rows):
        runs = [r for r in rows if r.policy == policy]
        shares = [r.share_of_oracle for r in runs if r.share_of_oracle is not None]
        out.append({
            "policy": policy, "shops": len(runs), "shops_with_share": len(shares),
            "share_median": _round(np.median(shares)) if shares else None,
            "share_min": min(shares, default=None),
            "share_p25": _round(np.percentile(shares, 25)) if shares else None,
            "shops_at_85": sum(s >= GOOD_SHARE for s in shares),
            "agent_beats": (None if policy == "agent" or not agent
                            else sum(agent[r.scenario] > r.profit for r in runs)),
            "outside_policy": sum(r.outside_policy for r in runs),
            "outside_policy_per_shop": [r.outside_policy for r in runs],
        })
    return out


def _round(value: Any) -> float:
    return round(float(value), 4)


def _of(count: int | None, shops: int) -> str:
    return "—" if count is None else f"{count} of {shops}"


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def summary_markdown(stats: list[dict[str, Any]]) -> str:
    """One line per policy, with bilingual headers like harness.summary_markdown."""
    head = ("| policy 策略 | share of oracle, median 占上帝视角利润比例中位数 | min 最小 | 25th percentile 下四分位 "
            f"| shops ≥ {GOOD_SHARE:.0%} of oracle 达到上帝视角 {GOOD_SHARE:.0%} 的店铺 "
            "| agent beats it 店小二胜出的店铺 | outside policy, total 超出店主限额（合计） "
            "| outside policy, per shop 超出店主限额（逐店） |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    lines = [
        f"| {s['policy']} | {_pct(s['share_median'])} | {_pct(s['share_min'])} | {_pct(s['share_p25'])} "
        f"| {s['shops_at_85']} of {s['shops_with_share']} | {_of(s['agent_beats'], s['shops'])} "
        f"| {s['outside_policy']} | {' · '.join(map(str, s['outside_policy_per_shop']))} |"
        for s in stats
    ]
    return "\n".join([head, *lines])


def shops_markdown(rows: list[BenchRow]) -> str:
    """One line per shop: the oracle's profit, each other policy's share of it, and outside-policy findings."""
    policies = [p for p in dict.fromkeys(r.policy for r in rows) if p != "oracle"]
    by_shop: dict[str, dict[str, BenchRow]] = {}
    for r in rows:
        by_shop.setdefault(r.scenario, {})[r.policy] = r
    head = ("| shop 店铺 | seed 种子 | oracle profit 上帝视角利润 | "
            + " | ".join(f"{p} share 占比" for p in policies)
            + " | outside policy 超出店主限额 |\n| --- | ---: | ---: | " + "---: | " * len(policies) + "--- |")
    lines = []
    for name, shop in by_shop.items():
        outside = ", ".join(f"{p} {r.outside_policy}" for p, r in shop.items() if r.outside_policy) or "0"
        lines.append(f"| {name} | {shop['oracle'].seed} | {shop['oracle'].profit:,.0f} | "
                     + " | ".join(_pct(shop[p].share_of_oracle) for p in policies) + f" | {outside} |")
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=16, help="generated shops, one scenario each")
    parser.add_argument("--skus", type=int, default=12, help="SKUs per shop")
    parser.add_argument("--first-seed", type=int, default=2001, help="the first shop's generator seed")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--json", type=Path, help="write the per-shop rows and the summary as JSON")
    parser.add_argument("--md", type=Path, help="write the summary and per-shop tables as Markdown")
    parser.add_argument("--chart", type=Path, help="draw each policy's share of the oracle per shop as a PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-shop lines")
    parser.add_argument("--told-the-end", action="store_true",
                        help=f"also run the agent with its plan cut at the run's last day ({TOLD_THE_END}): how much "
                             "of its gap is the oracle knowing when the run stops")
    parser.add_argument("--no-ad-history", action="store_true",
                        help="start every shop with all its campaigns paused: the agent has no ad data to learn from")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run_shops(args.shops, args.skus, args.first_seed, args.days, progress=not args.quiet,
                     told_the_end=args.told_the_end, no_ad_history=args.no_ad_history)
    wall = time.perf_counter() - started
    stats = summary(rows)
    print(summary_markdown(stats))
    print(f"{args.shops} shops × {args.skus} SKUs × {args.days} days in {wall:.0f} s")
    result = {
        "shops": args.shops, "skus": args.skus, "days": args.days, "no_ad_history": args.no_ad_history,
        "seeds": list(range(args.first_seed, args.first_seed + args.shops)), "good_share": GOOD_SHARE,
        "wall_s": round(wall, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "summary": stats, "rows": [asdict(r) for r in rows],
    }
    for out in (args.json, args.md, args.chart):
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.md:
        args.md.write_text(f"{summary_markdown(stats)}\n\n{shops_markdown(rows)}\n", encoding="utf-8")
    if args.chart:  # the policies as they run, not the diagnostic
        strip_chart([r for r in result["rows"] if r["policy"] != TOLD_THE_END], args.chart, good=GOOD_SHARE)
    return result


if __name__ == "__main__":
    main()
