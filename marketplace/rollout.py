"""Expected-value rollouts of candidate settings: the oracle's and the random search's yardstick."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marketplace.coupon_math import CouponBook, per_sku
from marketplace.model import Settings, advance, begin_day, simulate_day
from marketplace.world import World


@dataclass
class RolloutResult:
    profit: np.ndarray  # (R,) total expected profit over the rollout
    first_spend: np.ndarray  # (R,) expected ad spend on the first day
    first_coupon_cost: np.ndarray  # (R,)
    end_stock: np.ndarray  # (R,) expected stock left after the last day


def concat_books(a: CouponBook, b: CouponBook) -> CouponBook:
    """Both coupon books as one (their SKU axes must match)."""
    n = a.applies.shape[1]
    both = {name: np.concatenate([getattr(a, name), getattr(b, name)])
            for name in ("applies", "segments", "is_percent", "counts", "cap_today")}
    for name in ("value", "threshold"):
        both[name] = np.concatenate([per_sku(getattr(a, name), n), per_sku(getattr(b, name), n)])
    return CouponBook(**both)


def rollout(
    world: World, rows: np.ndarray, target: Settings, days: int, *, max_bid_change: float | np.ndarray | None,
    extra: CouponBook | None = None, drop: frozenset[str] = frozenset(),
) -> RolloutResult:
    """Expected profit of holding `target` settings on SKU `rows` (repeats allowed) for `days` days.

    Bids move toward their target no faster than `max_bid_change` (a share per day, per row),
    as the owner's policy allows; everything else is set at once. `extra` coupons are added
    to the live ones (minus `drop`); quantities are taken as they stand today.
    """
    c = world.c
    params, state = c.params.take(rows), c.state.take(rows)
    events = c.events.take(rows)
    live = [r for r in world.live_coupons() if r.id not in drop]
    book = world.book(live, world.day).take(rows)
    if extra is not None:
        book = concat_books(book, extra)
    current = c.settings.take(rows)
    settings = target.copy()
    total = np.zeros(len(rows))
    first = None
    for k in range(days):
        day = world.day + k
        if day >= world.scenario.horizon_days:
            break
        settings.bid = ramp(current.bid, target.bid, max_bid_change)
        state, ctx = begin_day(params, state, events, *world.calendar(day))
        # A day that starts with nothing to sell has its ads paused, as every plan pauses them at stock-out:
        # holding them on would charge the ad option for clicks no plan buys.
        settings.active = target.active & (state.stock > 0)
        out = simulate_day(params, state, settings, book, ctx, rng=None)
        state = advance(params, state, out, ctx)
        total += out.profit.sum(axis=0)
        current = settings.copy()
        if first is None:
            first = out
    if first is None:
        zero = np.zeros(len(rows))
        return RolloutResult(total, zero, zero, state.stock.copy())
    return RolloutResult(
        profit=total, first_spend=first.ad_spend.sum(axis=0), first_coupon_cost=first.coupon_cost.sum(axis=0),
        end_stock=state.stock.copy(),
    )


def ramp(current: np.ndarray, target: np.ndarray, limit: np.ndarray | float | None) -> np.ndarray:
    """Move bids toward target by at most `limit` of the current bid (from zero: at once)."""
    if limit is None:
        return target.copy()
    lo, hi = current * (1 - limit), current * (1 + limit)
    return np.where(current > 0, np.clip(target, lo, hi), target)


def ramp_cents(current: np.ndarray, target: np.ndarray, limit: np.ndarray | float | None) -> np.ndarray:
    """`ramp` in whole cents, rounded toward the current bid so the step never passes the limit."""
    step = ramp(current, target, limit)
    return np.where(step >= current, np.floor(step * 100 + 1e-9), np.ceil(step * 100 - 1e-9)) / 100
