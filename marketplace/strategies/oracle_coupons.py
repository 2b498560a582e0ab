"""The oracle's coupon choices: stop coupons that lose money, add per-SKU ones that pay,
inside the owner's discount limits and coupon budgets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from marketplace.compile import SEGMENTS
from marketplace.coupon_math import CouponBook
from marketplace.model import Settings
from marketplace.rollout import rollout
from marketplace.world import CouponRecord, World
from policies.domain import CouponType, Segment
from policies.limits import Policy

COUPON_DAYS = 7
MIN_GAIN = 1.0  # yuan over the lookahead: smaller gains are noise, not worth a change
THRESHOLD_ABOVE_BASKET = 1.15  # "a threshold slightly above the average basket" (seed 002)

_NOT_LOYAL = tuple(s for s in SEGMENTS if s is not Segment.HIGH_VALUE)
_PS = (Segment.PRICE_SENSITIVE,)
# (type, face as a share of the price — or percent off —, with a threshold?, target segments)
COUPON_IDEAS: list[tuple[CouponType, float, bool, tuple[Segment, ...]]] = [
    *[(CouponType.THRESHOLD, share, True, segs) for share in (0.05, 0.1, 0.15) for segs in (_PS, _NOT_LOYAL,
                                                                                           tuple(SEGMENTS))],
    *[(CouponType.NO_THRESHOLD, share, False, segs) for share in (0.03, 0.06, 0.1) for segs in (_PS, _NOT_LOYAL)],
    *[(CouponType.PERCENT, pct, False, _PS) for pct in (5.0, 10.0)],
]


@dataclass
class Op:
    """One write a strategy wants, in API terms."""

    kind: str
    target: str
    value: Any  # float (bid, budget), str (status), (mode, target ROI), dict (coupon body), None or OverBudget (stop)


@dataclass(frozen=True)
class OverBudget:
    """Why a live coupon is stopped though it pays: at worst the live coupons, this one with them, could cost
    `live` in a day, more than the owner's coupon budgets allow (`daily`, and `weekly` spread over 7 days), and this
    one may cost `worst`."""

    worst: float
    live: float
    daily: float
    weekly: float


@dataclass
class Idea:
    """One concrete coupon for one SKU."""

    type: CouponType
    value: float  # yuan, or percent for percent coupons
    threshold: float
    segments: tuple[Segment, ...]
    worst_discount: float  # most one order can take off

    def body(self, sku: str, daily_limit: int) -> dict:
        return {"type": self.type.value, "value": self.value, "threshold": self.threshold, "sku": sku,
                "segments": [s.value for s in self.segments], "valid_days": COUPON_DAYS,
                "quantity": daily_limit * COUPON_DAYS, "per_user_limit": 1, "daily_limit": daily_limit}


def plan_coupons(world: World, chosen: Settings, days: int, bid_limit: np.ndarray) -> dict[str, list[Op]]:
    """Coupon writes per shop, given the ad settings chosen for today."""
    n = world.c.params.n
    ops: dict[str, list[Op]] = {shop: [] for shop in world.c.shop_ids}
    if days <= 0:
        return ops
    rows = np.arange(n)
    base_run = rollout(world, rows, chosen, days, max_bid_change=bid_limit)
    base = base_run.profit
    kept = _keep_or_stop(world, chosen, days, bid_limit, base, ops)
    covered = {int(r.rows[0]) for r in kept if r.spec.sku is not None}
    ideas = [[_idea(world, i, spec) for spec in COUPON_IDEAS] for i in range(n)]
    k = len(COUPON_IDEAS)
    tiled = np.tile(rows, k)
    extra = _idea_book(world, ideas, k)
    res = rollout(world, tiled, chosen.take(tiled), days, max_bid_change=np.tile(bid_limit, k), extra=extra)
    gain = res.profit.reshape(k, n) - base[None, :]
    extra_cost = np.maximum(res.first_coupon_cost.reshape(k, n) - base_run.first_coupon_cost[None, :], 0.0)
    offers = []
    for i in range(n):
        feasible = [j for j in range(k) if ideas[i][j] is not None]
        if i in covered or not feasible:
            continue
        j = max(feasible, key=lambda j: gain[j, i])
        if gain[j, i] > MIN_GAIN:
            idea = ideas[i][j]
            assert idea is not None  # `feasible` holds only the SKU's real ideas
            redeemed = extra_cost[j, i] / idea.worst_discount
            limit = int(math.ceil(1.5 * redeemed)) + 2
            offers.append((gain[j, i], i, ideas[i][j], limit))
    _fit_budgets(world, kept, offers, ops)
    return ops


def _keep_or_stop(world: World, chosen: Settings, days: int, bid_limit: np.ndarray, base: np.ndarray,
                  ops: dict[str, list[Op]]) -> list[CouponRecord]:
    """Stop live coupons whose removal earns more; return the ones kept.

    A SKU coupon only moves its own SKU, so one rollout without every SKU coupon scores them
    all; each shop-wide coupon needs its own rollout over its shop.
    """
    live = world.live_coupons()
    per_sku = [r for r in live if r.spec.sku is not None]
    without = None
    if per_sku:
        without = rollout(world, np.arange(world.c.params.n), chosen, days, max_bid_change=bid_limit,
                          drop=frozenset(r.id for r in per_sku)).profit
    kept, worth = [], {}
    for rec in live:
        if rec.spec.sku is None:
            alt = rollout(world, rec.rows, chosen.take(rec.rows), days, max_bid_change=bid_limit[rec.rows],
                          drop=frozenset({rec.id})).profit.sum()
        else:
            assert without is not None  # there is a SKU coupon, so the rollout without them ran
            alt = without[rec.rows].sum()
        if alt - base[rec.rows].sum() > MIN_GAIN:
            ops[rec.shop_id].append(Op("stop_coupon", rec.id, None))
        else:
            kept.append(rec)
            worth[rec.id] = float(base[rec.rows].sum() - alt)
    return _within_budgets(world, kept, worth, ops)


def _within_budgets(world: World, kept: list[CouponRecord], worth: dict[str, float],
                    ops: dict[str, list[Op]]) -> list[CouponRecord]:
    """Stop kept coupons, least worth per yuan they may cost first, until the rest cannot cost more in a day than
    the owner's coupon budgets allow, whoever made them: coupons the shop started with are held to the limits too."""
    out = []
    for shop in world.c.shop_ids:
        pol = world.shops[shop].policy
        room = _daily_room(pol)
        mine = [r for r in kept if r.shop_id == shop]
        worst = {r.id: _worst_daily(world, r) for r in mine}
        used = sum(worst.values())
        for rec in sorted(mine, key=lambda r: worth[r.id] / max(worst[r.id], 1e-9)):
            if used <= room + 1e-9:
                break
            why = OverBudget(worst[rec.id], used, pol.discount.daily_budget, pol.discount.weekly_budget)
            ops[shop].append(Op("stop_coupon", rec.id, why))
            used -= worst[rec.id]
            mine.remove(rec)
        out += mine
    return out


def budget_stops(world: World) -> dict[str, list[Op]]:
    """The stops that hold the live coupons to the owner's coupon budgets, before anything is known of what each
    coupon earns: each counts the same, so the ones that may cost most in a day go first and the fewest stop."""
    ops: dict[str, list[Op]] = {shop: [] for shop in world.c.shop_ids}
    live = world.live_coupons()
    _within_budgets(world, live, {r.id: 1.0 for r in live}, ops)
    return ops


def _idea(world: World, row: int, spec) -> Idea | None:
    """The idea made concrete for a SKU, or None where the owner's discount limits forbid it."""
    kind, amount, with_threshold, segments = spec
    p = world.c.params
    shop_id = world.c.shop_ids[p.shop[row]]
    pol = world.shops[shop_id].policy
    price = float(p.price[row])
    if kind not in pol.discount.allowed_types:
        return None
    basket = price * float((p.seg_share[row] * p.seg_units[row]).sum())
    threshold = float(math.ceil(THRESHOLD_ABOVE_BASKET * basket)) if with_threshold else 0.0
    if kind is CouponType.PERCENT:
        value, per_unit_off = amount, amount / 100
        worst = amount / 100 * max(price * float(p.seg_units[row].max()), threshold)
    else:
        value = float(max(1, round(amount * price)))
        per_unit_off = value / max(price, threshold)
        worst = value
        if with_threshold and threshold <= value:
            return None
    if value > (pol.discount.max_face_value if kind is not CouponType.PERCENT else 100):
        return None
    if 100 * per_unit_off > pol.discount.max_discount_pct or 100 * value / price > pol.discount.max_discount_pct \
            and kind is not CouponType.PERCENT:
        return None
    p_eff = price * (1 - per_unit_off)
    if kind.counts_toward_lowest_price and p_eff < pol.floor_for(world.c.skus[row], price):
        return None
    margin = p_eff * (1 - p.commission[row]) - p.cost[row] - p.shipping[row]
    if margin < pol.profit.min_net_margin * p_eff:
        return None
    return Idea(kind, value, threshold, segments, worst)


def _idea_book(world: World, ideas: list[list[Idea | None]], k: int) -> CouponBook:
    """Coupon j applies to tile j only, with each SKU's own face value and threshold."""
    n = world.c.params.n
    applies = np.zeros((k, k * n), bool)
    value, threshold = np.zeros((k, k * n)), np.zeros((k, k * n))
    for j in range(k):
        for i in range(n):
            idea = ideas[i][j]
            if idea is not None:
                applies[j, j * n + i] = True
                value[j, j * n + i], threshold[j, j * n + i] = idea.value, idea.threshold
    return CouponBook(
        applies=applies,
        segments=np.array([[s in idea[3] for s in SEGMENTS] for idea in COUPON_IDEAS]),
        is_percent=np.array([idea[0] is CouponType.PERCENT for idea in COUPON_IDEAS]),
        value=value, threshold=threshold,
        counts=np.array([idea[0].counts_toward_lowest_price for idea in COUPON_IDEAS]),
        cap_today=np.full(k, np.inf),
    )


def _fit_budgets(world: World, kept: list[CouponRecord], offers: list, ops: dict[str, list[Op]]) -> None:
    """Add the best offers per shop while the worst-case coupon cost fits the day and week budgets."""
    used: dict[str, float] = {shop: 0.0 for shop in world.c.shop_ids}
    for rec in kept:
        used[rec.shop_id] += _worst_daily(world, rec)
    for _gain, row, idea, limit in sorted(offers, key=lambda o: -o[0] / max(o[2].worst_discount * o[3], 1e-9)):
        shop = world.c.shop_ids[world.c.params.shop[row]]
        pol = world.shops[shop].policy
        cost = idea.worst_discount * limit
        room = _daily_room(pol)
        if used[shop] + cost <= room:
            used[shop] += cost
            ops[shop].append(Op("create_coupon", world.c.skus[row], idea.body(world.c.skus[row], limit)))


def _daily_room(policy: Policy) -> float:
    """The most the shop's coupons may cost in a day: the daily budget, or a day's share of the weekly one."""
    return min(policy.discount.daily_budget, policy.discount.weekly_budget / 7)


def _worst_daily(world: World, rec: CouponRecord) -> float:
    """Most a live coupon can cost in a day: its biggest discount times its daily cap."""
    p = world.c.params
    spec = rec.spec
    if spec.type is CouponType.PERCENT:
        basket = max(float((p.price[rec.rows] * p.seg_units[rec.rows].max(axis=1)).max()), spec.threshold)
        per_order = spec.value / 100 * basket
    else:
        per_order = spec.value
    return per_order * rec.cap_today()
