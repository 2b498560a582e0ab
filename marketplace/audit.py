"""An audit of a finished simulation against each shop's owner policy, from the platform's own records.

It does not ask the guard: it reads what the platform applied (the change log) and what happened
(each shop's daily ad spend and coupon cost) and checks them against the owner's limits directly,
so a bug in the guard, or an action that went round it, shows up here. Strategies that are not
given the owner's policy (the baselines) are audited too: their count says how far a policy-blind
operator strays.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from policies.economics import lowest_unit_price
from policies.limits import Policy

EPS = 1e-6


def audit_run(world: Any, changes: list[dict]) -> list[dict[str, Any]]:
    """Every applied write and every shop day outside the owner's policy, as {day, shop_id, limit, detail}."""
    policies = {s.id: s.policy for s in world.scenario.shops}
    prices = {(s.id, p.sku): p.price for s in world.scenario.shops for p in s.products}
    out: list[dict[str, Any]] = []
    first_bid: dict[tuple[int, str], float] = {}
    for c in changes:
        policy = policies[c["shop_id"]]
        bad = _change(c, policy, prices.get((c["shop_id"], c["sku"])))
        if c["kind"] == "campaign.bid":
            start = first_bid.setdefault((c["day"], c["target"]), float(c["before"]))
            if start > 0 and abs(float(c["after"]) - start) / start * 100 > policy.spend.max_bid_change_pct + EPS:
                bad.append(("spend.max_bid_change_pct", f"bid {start:g} → {c['after']:g} in one day"))
        if policy.autonomy.kill_switch:
            bad.append(("autonomy.kill_switch", f"{c['kind']} while the kill switch is on"))
        out += [{"day": c["day"], "shop_id": c["shop_id"], "limit": limit, "detail": detail} for limit, detail in bad]
    for shop_id, days in world.shop_days.items():
        out += _spend(shop_id, days, policies[shop_id], world)
    return out


def _change(c: dict, policy: Policy, price: float | None) -> list[tuple[str, str]]:
    bad = []
    if c["kind"] == "campaign.bid" and float(c["after"]) > policy.spend.max_bid + EPS:
        bad.append(("spend.max_bid", f"bid {c['after']:g} > {policy.spend.max_bid:g}"))
    if c["kind"] == "campaign.budget" and float(c["after"]) > policy.spend.sku_daily_budget_cap + EPS:
        bad.append(("spend.sku_daily_budget_cap", f"budget {c['after']:g} > {policy.spend.sku_daily_budget_cap:g}"))
    if c["kind"] == "coupon.create":
        spec, d = c["after"], policy.discount
        percent = spec["type"] == "percent"
        if spec["type"] not in d.allowed_types:
            bad.append(("discount.allowed_types", f"{spec['type']} coupon"))
        if percent and spec["value"] > d.max_discount_pct + EPS:
            bad.append(("discount.max_discount_pct", f"{spec['value']:g}% > {d.max_discount_pct:g}%"))
        if not percent and spec["value"] > d.max_face_value + EPS:
            bad.append(("discount.max_face_value", f"¥{spec['value']:g} > ¥{d.max_face_value:g}"))
        if price is not None:
            low = lowest_unit_price(price, spec["value"], spec.get("threshold") or 0.0, percent=percent)
            floor = policy.floor_for(c["sku"], price)
            if low < floor - 0.01:
                bad.append(("discount.lowest_price_floor", f"{c['sku']} down to ¥{low:.2f} < floor ¥{floor:.2f}"))
    return bad


def _spend(shop_id: str, days: list, policy: Policy, world: Any) -> list[dict[str, Any]]:
    """What the shop actually spent, against the caps: ad spend a day and a month, coupon cost a day and a week."""
    out = []
    month: dict[tuple[int, int], float] = defaultdict(float)
    week: dict[tuple[int, int], float] = defaultdict(float)  # ISO weeks, as the owner's weekly budget counts
    for d in days:
        date = world.date_of(d.day)
        month[(date.year, date.month)] += d.ad_spend
        week[date.isocalendar()[:2]] += d.coupon_cost
        checks = [("spend.daily_cap", d.ad_spend, policy.spend.daily_cap),
                  ("spend.monthly_cap", month[(date.year, date.month)], policy.spend.monthly_cap),
                  ("discount.daily_budget", d.coupon_cost, policy.discount.daily_budget),
                  ("discount.weekly_budget", week[date.isocalendar()[:2]], policy.discount.weekly_budget)]
        out += [{"day": d.day, "shop_id": shop_id, "limit": limit, "detail": f"¥{spent:.2f} > ¥{cap:g}"}
                for limit, spent, cap in checks if spent > cap + 0.01]
    return out
