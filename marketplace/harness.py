"""Run strategies on scenarios through the platform API and score them against the oracle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    profit: float
    share_of_oracle: float | None
    gmv: float
    ad_spend: float
    coupon_cost: float
    roi: float | None
    gmv_per_yuan: float | None
    outside_policy: int = 0  # applied writes and shop days outside the owner's policy (marketplace.audit)


def bench(
    scenario_paths: Iterable[Path], policies: list[str] | None = None, progress: Progress | None = None
) -> list[BenchRow]:
    """Every policy on every scenario; each profit also as a share of the oracle's."""
    policies = policies or strategy_names()
    if "oracle" not in policies:
        policies = ["oracle", *policies]
    rows: list[BenchRow] = []
    for path in scenario_paths:
        scenario = load_scenario(path)
        results = {p: simulate(scenario, p, progress=progress) for p in policies}
        oracle = results["oracle"].total("profit")
        for name, res in results.items():
            s = res.summary()
            rows.append(BenchRow(
                scenario=scenario.name, policy=name, profit=s["profit"],
                share_of_oracle=round(s["profit"] / oracle, 3) if oracle > 0 else None,
                gmv=s["gmv"], ad_spend=s["ad_spend"], coupon_cost=s["coupon_cost"], roi=s["roi"],
                gmv_per_yuan=s["gmv_per_yuan"], outside_policy=s["outside_policy"],
            ))
    return rows


def bench_markdown(rows: list[BenchRow]) -> str:
    """The bench table: one line per scenario and policy."""
    head = ("| scenario | policy | profit | share of oracle | GMV | ad spend | coupon cost | ROI | GMV per 1 yuan "
            "| outside policy |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    lines = [
        f"| {r.scenario} | {r.policy} | {r.profit:,.0f} | {fmt(r.share_of_oracle, '.1%')} | {r.gmv:,.0f} | "
        f"{r.ad_spend:,.0f} | {r.coupon_cost:,.0f} | {fmt(r.roi, '.2f')} | {fmt(r.gmv_per_yuan, '.2f')} | "
        f"{r.outside_policy} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def scenario_files(directory: Path) -> list[Path]:
    """Public scenarios in a folder, in name order."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())
