"""The owner's limits in terms of the true market: what the oracle and the random search may do."""

from __future__ import annotations

import numpy as np

from marketplace.model import MAX_DAILY_OVERDELIVERY, STAGE1_CONVERSION, in_stage2
from marketplace.world import World
from policies.limits import Policy


def row_policies(world: World) -> list[Policy]:
    """The policy of each SKU's shop, in array order."""
    return [world.shops[world.c.shop_ids[s]].policy for s in world.c.params.shop]


def _per_row(world: World, get) -> np.ndarray:
    return np.array([get(p) for p in row_policies(world)], dtype=float)


def bid_change_limit(world: World) -> np.ndarray:
    """Largest bid change a day, as a share, per SKU."""
    return _per_row(world, lambda p: p.spend.max_bid_change_pct / 100)


def sku_budget_cap(world: World) -> np.ndarray:
    return _per_row(world, lambda p: p.spend.sku_daily_budget_cap)


def min_roi(world: World) -> np.ndarray:
    """Lowest ROI the policy accepts: explicit, or break-even at the margin floor (inf if none)."""
    p = world.c.params
    floor = _per_row(world, lambda x: x.profit.min_net_margin)
    room = p.price * (1 - p.commission) - p.cost - p.shipping - floor * p.price
    derived = np.where(room > 0, p.price / np.maximum(room, 1e-9), np.inf)
    return np.maximum(derived, _per_row(world, lambda x: x.spend.min_roi or 0.0))


def bid_cap(world: World) -> np.ndarray:
    """Largest bid within max_bid whose true expected ad cost per order keeps min ROI / margin floor."""
    p = world.c.params
    max_cpo = p.price / min_roi(world)
    cr = (p.seg_share * p.base_cr[:, None] * p.seg_conv * (p.price / p.p_ref)[:, None] ** -p.seg_eps).sum(1)
    ad_cr = cr * np.where(in_stage2(p, world.c.state), 1.0, STAGE1_CONVERSION)
    return np.minimum(_per_row(world, lambda x: x.spend.max_bid), max_cpo * ad_cr / p.kappa)


def shop_budget_room(world: World, shop_id: str) -> float:
    """Sum of daily budgets the caps allow today, counting the worst-case daily over-delivery."""
    pol = world.shops[shop_id].policy
    today = world.date_of(world.day)
    left_in_month = next(d for d in range(1, 32) if world.date_of(world.day + d).month != today.month)
    rows = world.c.shop_rows[shop_id]
    spent = float(world.c.state.month_spend[rows].sum()) if today.day != 1 else 0.0
    month_room = (pol.spend.monthly_cap - spent) / left_in_month
    return max(0.0, min(pol.spend.daily_cap, month_room)) / MAX_DAILY_OVERDELIVERY


def pick_within_cap(value: np.ndarray, need: np.ndarray, cap: float) -> np.ndarray:
    """Per column the row maximising value − λ·need, with the smallest λ whose picks fit the cap."""
    cols = np.arange(value.shape[1])

    def pick(lam: float) -> np.ndarray:
        return np.argmax(value - lam * need, axis=0)

    def total(idx: np.ndarray) -> float:
        return float(need[idx, cols].sum())

    if total(pick(0.0)) <= cap:
        return pick(0.0)
    lo, hi = 0.0, 1.0
    while total(pick(hi)) > cap and hi < 1e9:
        hi *= 4
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if total(pick(mid)) > cap else (lo, mid)
    return pick(hi)
