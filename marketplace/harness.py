"""Run strategies on scenarios through the platform API and score them against the oracle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

from marketplace.audit import audit_run
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.scenario import Scenario, load_scenario
from marketplace.strategies.base import make_strategy, strategy_names
from marketplace.world import World

ADMIN_TOKEN = "harness-admin"
Progress = Callable[[int], None]  # called with the number of days just simulated


@dataclass
class DayTotals:
    day: int
    date: str
    profit: float
    gmv: float
    orders: float
    units: float
    ad_spend: float
    coupon_cost: float

    @property
    def spend(self) -> float:
        return self.ad_spend + self.coupon_cost


@dataclass
class RunResult:
    """One strategy on one scenario: per-day totals over all shops, and every applied write."""

    scenario: str
    policy: str
    seed: int
    days: list[DayTotals]
    changes: list[dict] = field(default_factory=list)
    outside_policy: list[dict] = field(default_factory=list)  # the independent audit (marketplace.audit)

    def total(self, name: str) -> float:
        return sum(getattr(d, name) for d in self.days)

    def summary(self) -> dict:
        gmv, ad, coupon = self.total("gmv"), self.total("ad_spend"), self.total("coupon_cost")
        return {
            "profit": round(self.total("profit"), 2), "gmv": round(gmv, 2), "orders": self.total("orders"),
            "ad_spend": round(ad, 2), "coupon_cost": round(coupon, 2),
            "roi": round(gmv / ad, 2) if ad > 0 else None,
            "gmv_per_yuan": round(gmv / (ad + coupon), 2) if ad + coupon > 0 else None,
            "changes": len(self.changes), "outside_policy": len(self.outside_policy),
        }

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "policy": self.policy, "seed": self.seed, "totals": self.summary(),
                "days": [asdict(d) for d in self.days], "changes": self.changes, "outside_policy": self.outside_policy}


def simulate(
    scenario: Scenario, policy: str, days: int | None = None, progress: Progress | None = None, noise: bool = True
) -> RunResult:
    """Run `policy` on every shop of the scenario, one API session per shop, for `days` days.

    `noise=False` runs every day at its expected value (to compare plans exactly).
    """
    world = World(scenario, noise=noise)
    horizon = scenario.horizon_days if days is None else min(days, scenario.horizon_days)
    with in_process(world, admin_token=ADMIN_TOKEN) as http:
        admin = AdminClient(http, ADMIN_TOKEN)
        clients = [PlatformClient(http, shop.id, world.token_for(shop.id)) for shop in scenario.shops]
        strategy = make_strategy(policy, world)
        for day in range(horizon):
            for client in clients:
                strategy.act(client, day)
            admin.advance(1)
            if progress:
                progress(1)
        changes = admin.changes()
    totals = [_day_totals(world, d) for d in range(horizon)]
    return RunResult(scenario=scenario.name, policy=policy, seed=scenario.seed, days=totals, changes=changes,
                     outside_policy=audit_run(world, changes))


def _day_totals(world: World, day: int) -> DayTotals:
    rows = [shop_days[day] for shop_days in world.shop_days.values()]
    return DayTotals(
        day=day, date=world.date_of(day).isoformat(),
        **{f: sum(getattr(r, f) for r in rows) for f in ("profit", "gmv", "orders", "units", "ad_spend",
                                                           "coupon_cost")},
    )


@dataclass
class BenchRow:
    scenario: str
    policy: str
    seed: int  # the scenario's seed, or seed + k on the k-th extra run (`bench(seeds=...)`)
    profit: float
    share_of_oracle: float | None
    gmv: float
    ad_spend: float
    coupon_cost: float
    roi: float | None
    gmv_per_yuan: float | None
    outside_policy: int = 0  # applied writes and shop days outside the owner's policy (marketplace.audit)


@dataclass
class BenchSummary:
    """One policy on one scenario across seeds: its share of the oracle's profit as median and range."""

    scenario: str
    policy: str
    seeds: list[int]
    share_median: float | None
    share_min: float | None
    share_max: float | None
    profit_median: float
    outside_policy: list[int]  # per seed, in the order of `seeds`


def bench(
    scenario_paths: Iterable[Path], policies: list[str] | None = None, progress: Progress | None = None,
    seeds: int = 1,
) -> list[BenchRow]:
    """Every policy on every scenario, `seeds` times (the scenario's seed, then seed + 1, …); each profit
    also as a share of the oracle's on the same seed."""
    if seeds < 1:
        raise ValueError(f"seeds: at least 1 run per scenario, got {seeds}")
    policies = policies or strategy_names()
    if "oracle" not in policies:
        policies = ["oracle", *policies]
    rows: list[BenchRow] = []
    for path in scenario_paths:
        scenario = load_scenario(path)
        for k in range(seeds):
            rows += _bench_seed(scenario.model_copy(update={"seed": scenario.seed + k}), policies, progress)
    return rows


def _bench_seed(scenario: Scenario, policies: list[str], progress: Progress | None) -> list[BenchRow]:
    results = {p: simulate(scenario, p, progress=progress) for p in policies}
    oracle = results["oracle"].total("profit")
    rows = []
    for name, res in results.items():
        s = res.summary()
        rows.append(BenchRow(
            scenario=scenario.name, policy=name, seed=scenario.seed, profit=s["profit"],
            share_of_oracle=round(s["profit"] / oracle, 3) if oracle > 0 else None,
            gmv=s["gmv"], ad_spend=s["ad_spend"], coupon_cost=s["coupon_cost"], roi=s["roi"],
            gmv_per_yuan=s["gmv_per_yuan"], outside_policy=s["outside_policy"],
        ))
    return rows


def summarise(rows: Iterable[BenchRow]) -> list[BenchSummary]:
    """Per scenario and policy, in the order they first appear: the median and range over the seeds."""
    groups: dict[tuple[str, str], list[BenchRow]] = {}
    for r in rows:
        groups.setdefault((r.scenario, r.policy), []).append(r)
    out = []
    for (scenario, policy), runs in groups.items():
        shares = [r.share_of_oracle for r in runs if r.share_of_oracle is not None]
        out.append(BenchSummary(
            scenario=scenario, policy=policy, seeds=[r.seed for r in runs],
            share_median=round(median(shares), 4) if shares else None,
            share_min=min(shares, default=None), share_max=max(shares, default=None),
            profit_median=round(median(r.profit for r in runs), 2), outside_policy=[r.outside_policy for r in runs],
        ))
    return out


def seeds_per_scenario(rows: Iterable[BenchRow]) -> int:
    """How many seeds each scenario ran with (1 for a bench run before `seeds`)."""
    return max((len(s.seeds) for s in summarise(rows)), default=1)


def bench_markdown(rows: list[BenchRow]) -> str:
    """The bench table, one line per scenario and policy; with several seeds, first the median share of
    the oracle and its range, then a line per seed."""
    if seeds_per_scenario(rows) == 1:
        return _rows_markdown(rows, seed_column=False)
    return f"{summary_markdown(summarise(rows))}\n\n{_rows_markdown(rows, seed_column=True)}"


def _rows_markdown(rows: list[BenchRow], seed_column: bool) -> str:
    seed_head, seed_rule = ("seed | ", "---: | ") if seed_column else ("", "")
    head = (f"| scenario | policy | {seed_head}profit | share of oracle | GMV | ad spend | coupon cost | ROI "
            f"| GMV per 1 yuan | outside policy |\n| --- | --- | {seed_rule}---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: | ---: |")
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    lines = [
        f"| {r.scenario} | {r.policy} | {f'{r.seed} | ' if seed_column else ''}{r.profit:,.0f} | "
        f"{fmt(r.share_of_oracle, '.1%')} | {r.gmv:,.0f} | {r.ad_spend:,.0f} | {r.coupon_cost:,.0f} | "
        f"{fmt(r.roi, '.2f')} | {fmt(r.gmv_per_yuan, '.2f')} | {r.outside_policy} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def share_range(s: BenchSummary) -> str:
    """The median share of the oracle and its range over the seeds, as "92.0% (91.1–93.4%)"."""
    if s.share_median is None or s.share_min is None or s.share_max is None:
        return "—"
    return f"{s.share_median:.1%} ({100 * s.share_min:.1f}–{s.share_max:.1%})"


def summary_markdown(summaries: list[BenchSummary]) -> str:
    """One line per scenario and policy: seeds, median share of the oracle (min–max), median profit, audit."""
    head = ("| scenario 场景 | policy 策略 | seeds 种子 "
            "| share of oracle, median (min–max) 占上帝视角利润比例，中位数（最小–最大） "
            "| profit, median 利润中位数 | outside policy, per seed 超出店主限额（逐个种子） |\n"
            "| --- | --- | --- | ---: | ---: | ---: |")
    lines = [
        f"| {s.scenario} | {s.policy} | {', '.join(map(str, s.seeds))} | {share_range(s)} | {s.profit_median:,.0f} "
        f"| {' · '.join(map(str, s.outside_policy))} |"
        for s in summaries
    ]
    return "\n".join([head, *lines])


def bench_json(rows: list[BenchRow]) -> list[dict] | dict:
    """The rows as JSON. One seed: a row per scenario and policy, as before `seeds`; several: the summaries
    and every seed's rows."""
    if seeds_per_scenario(rows) == 1:
        return [{k: v for k, v in asdict(r).items() if k != "seed"} for r in rows]
    return {"seeds": seeds_per_scenario(rows), "summary": [asdict(s) for s in summarise(rows)],
            "rows": [asdict(r) for r in rows]}


def scenario_files(directory: Path) -> list[Path]:
    """Public scenarios in a folder, in name order."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())
