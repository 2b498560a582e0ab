"""Bounded random search over static settings with the true model: a check on the oracle.

If random fixed settings, held for the whole horizon inside the same policy, earned clearly
more expected profit than the oracle's day-by-day plan, the oracle would not be a ceiling.
"""

from __future__ import annotations

import numpy as np

from marketplace import bounds
from marketplace.model import Settings
from marketplace.rollout import rollout
from marketplace.world import World


def random_search(world: World, samples: int = 256, seed: int = 0) -> float:
    """Best expected total profit from `samples` random static settings per SKU (half with the
    scenario's coupons stopped). `world` must be fresh (day 0).

    SKUs respond independently, so each SKU takes its best sample, with a Lagrange
    multiplier keeping the shop's summed budgets inside its cap: far stronger than scoring
    whole-shop samples.
    """
    if world.day != 0:
        raise ValueError(f"random_search needs a world at day 0, got day {world.day}")
    rng = np.random.default_rng(seed)
    n = world.c.params.n
    best = -np.inf
    coupon_ids = frozenset(r.id for r in world.coupons)
    for drop in (frozenset(), coupon_ids):
        rows = np.tile(np.arange(n), samples // 2)
        target = _sample(world, rows, rng)
        res = rollout(world, rows, target, world.scenario.horizon_days,
                      max_bid_change=bounds.bid_change_limit(world)[rows], drop=drop)
        value = res.profit.reshape(-1, n)
        budget = target.budget.reshape(-1, n)
        total = 0.0
        for shop_id in world.c.shop_ids:
            cols = world.c.shop_rows[shop_id]
            pick = bounds.pick_within_cap(value[:, cols], budget[:, cols], bounds.shop_budget_room(world, shop_id))
            total += float(value[pick, cols].sum())
        best = max(best, total)
    return best


def _sample(world: World, rows: np.ndarray, rng: np.random.Generator) -> Settings:
    """Random settings inside the owner's limits: bid cap, margin-floor bid, min ROI, budget caps."""
    bid_cap = bounds.bid_cap(world)[rows]
    min_roi = np.maximum(world.c.params.tmin, bounds.min_roi(world))[rows]
    sku_cap = bounds.sku_budget_cap(world)[rows]
    m = len(rows)
    mode = rng.integers(0, 3, m)  # 0 paused, 1 search, 2 whole-site
    bid = np.round(rng.uniform(0.05, 1.0, m) * bid_cap, 2)
    roi = np.round(min_roi * rng.uniform(1.0, 3.0, m), 2)
    budget = rng.uniform(0.0, 1.0, m) * sku_cap
    feasible = np.where(mode == 2, np.isfinite(min_roi), bid >= 0.05)
    active = (mode > 0) & feasible
    budget = np.where(active, budget, 0.0)
    return Settings(
        has_campaign=np.ones(m, bool), active=active, whole_site=mode == 2,
        bid=np.where(mode == 1, bid, 0.0), budget=np.round(budget, 2), target_roi=np.where(mode == 2, roi, 3.0),
    )
