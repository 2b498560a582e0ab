"""The built-in, deterministic planner: expected-profit planning on the agent's belief.

Each day it rebuilds the belief from the shop's own history (`agent.belief`), lets the
model-predictive planner choose bids, budgets, campaign modes and coupons inside the owner's
policy over the next weeks (stage 2, stock, the lowest price and events included), keeps the
budgets clear of the month's billing limit, and turns each change into a typed action with its
rationale and expected effect in numbers. Every action still goes through the guard; the
planner's own respect for limits is a courtesy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agent.belief import LOOKAHEAD_DAYS, belief_world, expected_day
from agent.rationale import Outlook, ad_reason, budget_reason, coupon_reason, losing_coupon_reason, over_budget_reason
from marketplace import bounds
from marketplace.api import CouponBody, coupon_spec
from marketplace.model import MONTH_BUDGET_DAYS
from marketplace.rollout import RolloutResult, rollout
from marketplace.strategies.oracle import Oracle
from marketplace.strategies.oracle_coupons import Op, OverBudget, budget_stops
from marketplace.world import World
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
from policies.domain import CampaignMode, CampaignStatus
from policies.limits import Policy

WARMUP_DAYS = 1  # days of history before the agent trusts its estimates
MODE_SWITCH_MARGIN = 0.15  # the other campaign mode must look this much better on the estimates to switch
MODE_EVIDENCE_DAYS = 3  # days of history before the agent switches a campaign's mode at all


def plan(obs: dict[str, Any], policy: Policy, memory: dict[str, Any], *, end_day: int | None = None) -> list[Action]:
    """Today's proposals for one shop (none executed here).

    `end_day`, a last day known in advance, cuts the plan's horizon there: a benchmark diagnostic only (the
    oracle plans to its run's end; a shop that goes on has no such day), see `bench/bench_heldout.py`.
    """
    world = belief_world(obs, policy, memory)
    shop_id = obs["shop"]["id"]
    if obs["day"] < WARMUP_DAYS:
        return _safety_only(obs) + [_stop_coupon(op, obs) for op in budget_stops(world)[shop_id]]
    margin = MODE_SWITCH_MARGIN if obs["day"] >= MODE_EVIDENCE_DAYS else math.inf
    lookahead = LOOKAHEAD_DAYS if end_day is None else max(1, min(LOOKAHEAD_DAYS, end_day - obs["day"]))
    ops = _whole_yuan_budgets(world, shop_id, Oracle(world, lookahead=lookahead, switch_margin=margin).plan()[shop_id])
    before, keep = expected_day(world), _held(world)
    _apply(world, shop_id, ops)
    ops = _clear_month_billing(world, shop_id, ops)
    outlook = Outlook(before, expected_day(world), keep, _held(world), LOOKAHEAD_DAYS)
    return [_action(op, ops, obs, world, outlook) for op in ops]


def _whole_yuan_budgets(world: World, shop_id: str, ops: list[Op]) -> list[Op]:
    """Daily budgets in whole yuan, as a merchant sets them (¥22, not ¥21.84): rounded up, since a budget only
    caps the spend the plan expects, and never past the SKU's budget cap (the guard holds the shop's caps)."""
    caps = bounds.sku_budget_cap(world)
    out = []
    for op in ops:
        if op.kind == "budget" and op.value >= 1:
            cap = float(caps[world.campaign_row(shop_id, op.target)])
            op = Op("budget", op.target, min(float(math.ceil(op.value - 1e-9)), cap))
        out.append(op)
    return out


def _held(world: World) -> RolloutResult:
    """Every SKU's next `LOOKAHEAD_DAYS` on the belief with its settings as they stand in `world`, valued as the
    plan values them: the budget set afresh each day to follow the spend (so open here, up to the SKU's cap)."""
    rows = np.arange(world.c.params.n)
    settings = world.c.settings.take(rows)
    settings.budget = bounds.sku_budget_cap(world)
    return rollout(world, rows, settings, LOOKAHEAD_DAYS, max_bid_change=bounds.bid_change_limit(world))


def _safety_only(obs: dict[str, Any]) -> list[Action]:
    """Before there is history: pause ads on SKUs that have nothing to sell (the coupons the shop started with are
    held to the owner's coupon budgets too, which needs no history: see `budget_stops`)."""
    stock = {p["sku"]: p["stock"] for p in obs["products"]}
    return [SetCampaignStatus(sku=c["sku"], campaign_id=c["id"], status="paused", current_status=c["status"],
                              rationale="out of stock: ads would buy clicks that cannot convert",
                              rationale_zh="已断货：广告买来的点击无法成交")
            for c in obs["campaigns"] if c["status"] == "active" and stock.get(c["sku"], 1) <= 0]


def _apply(world: World, shop_id: str, ops: list[Op]) -> None:
    """Play the plan on the belief so the expected effects describe the day after it."""
    for op in ops:
        if op.kind == "status":
            world.set_status(shop_id, op.target, CampaignStatus(op.value))
        elif op.kind == "mode":
            world.set_mode(shop_id, op.target, CampaignMode(op.value[0]), op.value[1])
        elif op.kind == "bid":
            world.set_bid(shop_id, op.target, op.value)
        elif op.kind == "budget":
            world.set_budget(shop_id, op.target, op.value)
        elif op.kind == "stop_coupon":
            world.stop_coupon(shop_id, op.target)
        elif op.kind == "create_coupon":
            world.create_coupon(shop_id, coupon_spec(CouponBody.model_validate(op.value), world.day))


def _clear_month_billing(world: World, shop_id: str, ops: list[Op]) -> list[Op]:
    """Raise the planned budgets that the month's billing limit would leave with no room to spend.

    A campaign never bills more than 30.4× its daily budget in a calendar month (SPEC §3), so a
    budget cut after heavy days can stop delivery outright. The plan values each setting at an
    open budget; this keeps the room it assumed: billed this month + today's budget within
    30.4× the budget, as far as the shop's caps allow. `world` already holds the plan.
    """
    c, rows = world.c, world.c.shop_rows[shop_id]
    budget, active = c.settings.budget[rows], c.settings.active[rows] & c.settings.has_campaign[rows]
    floor = np.ceil((c.state.month_spend[rows] + budget) / MONTH_BUDGET_DAYS - 1e-9)  # whole yuan, as set
    want = np.where(active, np.minimum(np.maximum(floor, budget), bounds.sku_budget_cap(world)[rows]), budget)
    room = bounds.shop_budget_room(world, shop_id) - float(budget[active].sum())
    ops = list(ops)
    for k in np.flatnonzero(want > budget + 0.5):
        extra = float(want[k] - budget[k])
        if extra > room:
            continue
        room -= extra
        cid = f"cmp-{c.skus[rows[k]]}"
        world.set_budget(shop_id, cid, float(want[k]))
        _put_budget(ops, Op("budget", cid, float(want[k])))
    return ops


def _put_budget(ops: list[Op], new: Op) -> None:
    """Set a campaign's budget op in place, or add it before the campaign is switched on."""
    same = [i for i, o in enumerate(ops) if o.target == new.target and o.kind in ("budget", "status")]
    if same and ops[same[0]].kind == "budget":
        ops[same[0]] = new
    else:
        ops.insert(same[0] if same else len(ops), new)


def _action(op: Op, ops: list[Op], obs: dict, world: World, outlook: Outlook) -> Action:
    campaigns = {c["id"]: c for c in obs["campaigns"]}
    if op.kind == "create_coupon":
        body = op.value
        return CreateCoupon(**{k: v for k, v in body.items() if k not in ("valid_days",)},
                            start_day=obs["day"], end_day=obs["day"] + body["valid_days"] - 1,
                            **coupon_reason(body))
    if op.kind == "stop_coupon":
        return _stop_coupon(op, obs)
    camp = campaigns[op.target]
    sku = camp["sku"]
    row = world.row(obs["shop"]["id"], sku)
    effect = _effect(outlook.after, row)
    why = ad_reason(world, row, outlook)  # rationale and rationale_zh
    if op.kind == "budget" and not any(o.target == op.target and o.kind != "budget" for o in ops):
        why = budget_reason(float(outlook.after["ad_spend"][row]), op.value)
    if op.kind == "bid":
        return SetBid(sku=sku, campaign_id=op.target, bid=op.value, current_bid=camp["bid"], **why, expected=effect)
    if op.kind == "budget":
        return SetBudget(sku=sku, campaign_id=op.target, budget=op.value, current_budget=camp["budget"], **why,
                         expected=effect)
    if op.kind == "status":
        return SetCampaignStatus(sku=sku, campaign_id=op.target, status=op.value, current_status=camp["status"],
                                 **why, expected=effect)
    mode, roi = op.value
    return SetCampaignMode(sku=sku, campaign_id=op.target, mode=mode, target_roi=roi, current_mode=camp["mode"],
                           current_target_roi=camp["target_roi"] if camp["mode"] == "whole_site" else None,
                           **why, expected=effect)


def _stop_coupon(op: Op, obs: dict) -> StopCoupon:
    coupon = next(c for c in obs["coupons"] if c["id"] == op.target)
    if isinstance(op.value, OverBudget):
        return StopCoupon(coupon_id=op.target, sku=coupon["sku"], holds_limit="discount.daily_budget",
                          **over_budget_reason(op.target, op.value))
    return StopCoupon(coupon_id=op.target, sku=coupon["sku"], **losing_coupon_reason(coupon))


def _effect(after: dict, row: int) -> ExpectedEffect:
    spend, ad_orders, ad_gmv = (float(after[k][row]) for k in ("ad_spend", "ad_orders", "ad_gmv"))
    return ExpectedEffect(
        orders=round(float(after["orders"][row]), 2), gmv=round(float(after["gmv"][row]), 2),
        ad_spend=round(spend, 2), coupon_cost=round(float(after["coupon_cost"][row]), 2),
        profit=round(float(after["profit"][row]), 2),
        cost_per_order=round(spend / ad_orders, 2) if ad_orders > 0.05 and spend > 0 else None,
        roi=round(ad_gmv / spend, 2) if spend > 0.5 and ad_gmv > 0 else None,
    )
