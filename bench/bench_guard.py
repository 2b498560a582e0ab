"""Guard throughput: 100,000 mixed actions checked against one shop's policy, on one core.

    python bench/bench_guard.py [--actions N] [--repeats R] [--json OUT]

The actions are built before the clock starts; the figure is the median of the repeats. The
target (policies issue) is 100,000 actions in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from policies.actions import (
    Action,
    CreateCoupon,
    ExpectedEffect,
    SetBid,
    SetBudget,
    SetCampaignMode,
    SetCampaignStatus,
    StopCoupon,
)
from policies.guard import check
from policies.ledger import Ledger
from policies.limits import Policy, example_policy
from policies.state import CampaignState, CouponState, EventState, ProductState, ShopState

TARGET_SECONDS = 2.0


def shop(skus: int, rng: random.Random) -> ShopState:
    """A shop of `skus` products, each with a search or whole-site campaign, a few coupons and an event."""
    products, campaigns = {}, {}
    for i in range(skus):
        sku = f"SKU-{i:03d}"
        price = round(rng.uniform(15, 300), 2)
        products[sku] = ProductState(price=price, cost=round(price * rng.uniform(0.3, 0.7), 2), commission=0.05,
                                     shipping=round(rng.uniform(2, 8), 2), lowest_price_30d=round(price * 0.95, 2),
                                     ad_cost_per_order=round(price * rng.uniform(0.05, 0.3), 2))
        whole_site = rng.random() < 0.2
        campaigns[f"cmp-{sku}"] = CampaignState(
            sku=sku, mode="whole_site" if whole_site else "search", bid=round(rng.uniform(0.5, 3), 2),
            budget=round(rng.uniform(2, 8), 2), target_roi=4.0 if whole_site else None)
    coupons = {f"cpn-{k}": CouponState(type="threshold", value=5, threshold=99, sku=f"SKU-{k:03d}", start_day=20,
                                       end_day=34, remaining=200, daily_limit=3) for k in range(5)}
    events = (EventState(name="flash sale", start_day=30, end_day=32, entry_ratio=0.95),)
    return ShopState(today=date(2026, 3, 23), day=21, products=products, campaigns=campaigns, coupons=coupons,
                     events=events, month_ad_spend=4000.0, week_coupon_cost=40.0)


def mixed_actions(state: ShopState, n: int, rng: random.Random) -> list[Action]:
    """Bids 35%, budgets 25%, status 10%, mode 10%, new coupons 15%, stopped coupons 5%."""
    camps = list(state.campaigns.values())
    out: list[Action] = []
    for _ in range(n):
        c = rng.choice(camps)
        roll = rng.random()
        if roll < 0.35:
            out.append(SetBid(sku=c.sku, bid=round(c.bid * rng.uniform(0.4, 2.2), 2),
                              expected=ExpectedEffect(cost_per_order=round(rng.uniform(1, 40), 2))))
        elif roll < 0.60:
            out.append(SetBudget(sku=c.sku, budget=round(c.budget * rng.uniform(0.5, 4), 2)))
        elif roll < 0.70:
            out.append(SetCampaignStatus(sku=c.sku, status=rng.choice(["active", "paused"])))
        elif roll < 0.80:
            out.append(SetCampaignMode(sku=c.sku, mode="whole_site", target_roi=round(rng.uniform(1.5, 8), 2)))
        elif roll < 0.95:
            kind = rng.choice(["threshold", "percent", "no_threshold", "share"])
            value = round(rng.uniform(1, 30), 2)
            out.append(CreateCoupon(type=kind, value=value, threshold=round(value + rng.uniform(1, 150), 2),
                                    sku=c.sku, start_day=21, end_day=21 + rng.randint(3, 14),
                                    quantity=rng.randint(10, 300), daily_limit=rng.randint(1, 20)))
        else:
            out.append(StopCoupon(coupon_id=f"cpn-{rng.randint(0, 6)}"))
    return out


def run_once(actions: list[Action], policy: Policy, state: ShopState, ledger: Ledger) -> tuple[float, Counter[str]]:
    decisions: Counter[str] = Counter()
    start = time.perf_counter()
    for action in actions:
        decisions[check(action, policy, state, ledger).decision.value] += 1
    return time.perf_counter() - start, decisions


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write the result as JSON to this file")
    args = parser.parse_args(argv)

    rng = random.Random(7)
    state = shop(args.skus, rng)
    policy = example_policy("default")
    ledger = Ledger.open(state)
    for action in mixed_actions(state, 10, rng):  # a day that has already seen some work
        if check(action, policy, state, ledger).allowed:
            ledger = ledger.commit(action)
    actions = mixed_actions(state, args.actions, rng)

    times: list[float] = []
    decisions: Counter[str] = Counter()
    for _ in range(args.repeats):
        seconds, decisions = run_once(actions, policy, state, ledger)
        times.append(seconds)
    median = statistics.median(times)
    result = {
        "benchmark": "guard", "actions": args.actions, "skus": args.skus, "repeats": args.repeats,
        "median_seconds": round(median, 4), "actions_per_second": round(args.actions / median),
        "per_100k_seconds": round(median * 100_000 / args.actions, 4),
        "target_seconds_per_100k": TARGET_SECONDS,
        "meets_target": median * 100_000 / args.actions < TARGET_SECONDS,
        "decisions": dict(sorted(decisions.items())),
        "python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor(),
    }
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(f"guard: {args.actions:,} actions in {median:.3f} s (median of {args.repeats}) = "
          f"{result['actions_per_second']:,} actions/s; {verdict} the {TARGET_SECONDS:g} s per 100,000 target")
    print(f"decisions: {result['decisions']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["meets_target"] else 1)
