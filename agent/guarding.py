"""The guard step of a run: the shop's state as the guard sees it, and proposals checked in order.

Checks are cumulative: every allowed or owner-approved action is committed to the day's ledger
before the next one is checked, so many small actions cannot add up past a cap.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from policies.actions import Action, parse_action
from policies.guard import Approval, check
from policies.ledger import Ledger
from policies.limits import Policy
from policies.state import CampaignState, CouponState, EventState, ProductState, ShopState
from policies.verdict import Decision


def shop_state(obs: dict[str, Any]) -> ShopState:
    """The guard's snapshot of the shop, from the run's observation."""
    day = obs["day"]
    today = date.fromisoformat(obs["date"])
    month_start = day - (today.day - 1)
    week_start = day - today.weekday()
    spend: dict[str, float] = {}
    ad_orders: dict[str, float] = {}
    month_spend = week_coupons = 0.0
    for r in obs["metrics"]:
        if r["day"] >= month_start:
            month_spend += r["ad_spend"]
        if r["day"] >= week_start:
            week_coupons += r["coupon_cost"]
        if r["source"] == "search" and r["day"] >= day - 3:
            spend[r["sku"]] = spend.get(r["sku"], 0.0) + r["ad_spend"]
            ad_orders[r["sku"]] = ad_orders.get(r["sku"], 0.0) + r["orders"]
    products = {
        p["sku"]: ProductState(
            price=p["selling_price"], list_price=p["price"], cost=p["cost"], commission=p["commission"],
            shipping=p["shipping"], lowest_price_30d=p["lowest_price_30d"], stock=max(int(p["stock"]), 0),
            ad_cost_per_order=(spend[p["sku"]] / ad_orders[p["sku"]]) if ad_orders.get(p["sku"]) else None,
        )
        for p in obs["products"]
    }
    campaigns = {
        c["id"]: CampaignState(sku=c["sku"], mode=c["mode"], status=c["status"], bid=c["bid"], budget=c["budget"],
                               target_roi=c["target_roi"] if c["mode"] == "whole_site" else None)
        for c in obs["campaigns"]
    }
    coupons = {
        c["id"]: CouponState(type=c["type"], value=c["value"], threshold=c["threshold"], sku=c["sku"],
                             start_day=c["start_day"], end_day=c["end_day"], remaining=int(c["remaining"]),
                             daily_limit=c["daily_limit"], counts_toward_lowest_price=c["counts_toward_lowest_price"])
        for c in obs["coupons"] if c["status"] in ("live", "scheduled")
    }
    events = tuple(
        EventState(name=e["name"], start_day=e["start_day"], end_day=e["end_day"], entry_ratio=e["entry_ratio"],
                   skus=tuple(s["sku"] for s in e["skus"]))
        for e in obs["calendar"] if e["end_day"] >= day
    )
    basket = max((s["avg_basket_units"] for s in obs["segments"]), default=1.0)
    return ShopState(today=today, day=day, products=products, campaigns=campaigns, coupons=coupons, events=events,
                     month_ad_spend=month_spend, week_coupon_cost=week_coupons, max_basket_units=max(basket, 1.0))


def guard_all(proposals: list[dict], policy: Policy, state: ShopState) -> tuple[list[dict], Ledger]:
    """Verdicts for each proposal in order; allowed ones are committed before the next check."""
    ledger = Ledger.open(state)
    verdicts = []
    for p in proposals:
        action = parse_action(p["action"])
        verdict = check(action, policy, state, ledger)
        if verdict.decision is Decision.ALLOW:
            ledger = ledger.commit(action)
        verdicts.append(verdict.as_dict())
    return verdicts, ledger


def recheck_approved(action: Action, policy: Policy, state: ShopState, ledger: Ledger, proposed_at: datetime,
                     approved_at: datetime, by: str) -> tuple[dict, Ledger]:
    """An owner-approved (or owner-edited) action, checked again on top of what is committed."""
    verdict = check(action, policy, state, ledger, approval=Approval(proposed_at, approved_at, by))
    if verdict.decision is Decision.ALLOW:
        ledger = ledger.commit(action)
    return verdict.as_dict(), ledger


def fit_to_policy(actions: list[Action], policy: Policy, state: ShopState) -> list[Action]:
    """The planner's courtesy to the guard: where a hard limit would deny an action and the guard
    can name the nearest one it accepts (the largest bid the margin floor allows, say), propose
    that instead, saying so. The result still goes through the guard like any proposal."""
    ledger = Ledger.open(state)
    out = []
    for action in actions:
        verdict = check(action, policy, state, ledger)
        alt = verdict.alternative if verdict.denied else None
        if alt is not None and not check(alt, policy, state, ledger).denied:
            # the guard's message names the limit and its numbers ("profit.min_net_margin 10%: net margin 4.88% …")
            why = {"rationale": f"{action.rationale} — kept inside your limits: {verdict.message}"[:4000]}
            if action.rationale_zh:
                zh = verdict.text("zh-CN")
                why["rationale_zh"] = f"{action.rationale_zh}——已按你的限额调整：{zh}"[:4000]
            action = alt.model_copy(update=why)
            verdict = check(action, policy, state, ledger)
        if verdict.allowed:
            ledger = ledger.commit(action)
        out.append(action)
    return out
