"""Unit economics (SPEC section 2), shared by the guard, the planner and the baselines.

Every function works on plain floats and on numpy arrays alike.

- unit margin `m = p_eff − cost − commission·p_eff − shipping` (`p_eff`: price after coupon)
- break-even ROI `= p_eff / m`
- max ad cost per order at margin floor `f`: `m − f·p_eff`
- min ROI at the floor `= p_eff / (m − f·p_eff)`
- floor price: the lowest `p_eff` whose margin still leaves `f·p_eff`, `(cost + shipping) / (1 − commission − f)`
- event entry price: `min(list price, entry ratio × 30-day lowest price)` (seed 003)
"""

from __future__ import annotations

import math

import numpy as np

Number = float | np.ndarray


def unit_margin(p_eff: Number, cost: Number, commission: Number, shipping: Number) -> Number:
    """Profit per unit before ad cost, at the price the buyer actually pays."""
    return p_eff - cost - commission * p_eff - shipping


def break_even_roi(p_eff: Number, cost: Number, commission: Number, shipping: Number) -> Number:
    """GMV per yuan of ad spend at which ads earn exactly nothing (inf when the margin is gone)."""
    m = unit_margin(p_eff, cost, commission, shipping)
    return _safe_div(p_eff, m)


def max_cost_per_order(p_eff: Number, cost: Number, commission: Number, shipping: Number,
                       floor: Number) -> Number:
    """Most ad cost one order may carry and still leave `floor` × price as net margin."""
    return unit_margin(p_eff, cost, commission, shipping) - floor * p_eff


def min_roi_at_floor(p_eff: Number, cost: Number, commission: Number, shipping: Number, floor: Number) -> Number:
    """Smallest ROI that keeps the net margin at `floor` (inf when even free traffic misses it)."""
    return _safe_div(p_eff, max_cost_per_order(p_eff, cost, commission, shipping, floor))


def net_margin(p_eff: Number, cost: Number, commission: Number, shipping: Number,
               ad_cost_per_order: Number = 0.0) -> Number:
    """Net margin after ad cost, as a share of the price paid (−inf at a zero price)."""
    room = unit_margin(p_eff, cost, commission, shipping) - ad_cost_per_order
    if isinstance(p_eff, np.ndarray) or isinstance(room, np.ndarray):
        p, r = np.broadcast_arrays(np.asarray(p_eff, float), np.asarray(room, float))
        out = np.full(p.shape, -np.inf)
        np.divide(r, p, out=out, where=p > 0)
        return out
    return room / p_eff if p_eff > 0 else -math.inf


def floor_price(cost: Number, commission: Number, shipping: Number, floor: Number) -> Number:
    """Lowest price paid that still leaves `floor` × price as net margin with no ad cost.

    Solves `p − cost − commission·p − shipping = floor·p`; inf when commission and floor
    take the whole price.
    """
    return _safe_div(cost + shipping, 1.0 - commission - floor)


def post_coupon_price(price: Number, value: Number, *, percent: bool = False) -> Number:
    """Unit price after a coupon: `value` yuan off, or `value` percent off."""
    off = price * value / 100.0 if percent else value
    return np.maximum(price - off, 0.0) if isinstance(price, np.ndarray) else max(price - off, 0.0)


def coupon_discount_share(price: Number, value: Number, threshold: Number = 0.0, *,
                          percent: bool = False) -> Number:
    """Deepest share of the unit price one buyer can take off with a coupon.

    The buyer's view: a percent coupon takes `value`% off; a yuan coupon takes `value` off a
    basket of at least one unit topped up to the threshold, so a single unit carries
    `value / max(price, threshold)` of it. That single-unit basket is where the unit price
    falls furthest, so this share is what the 30-day lowest price records.
    """
    if percent:
        share = value / 100.0
        return np.minimum(share, 1.0) if isinstance(share, np.ndarray) else min(share, 1.0)
    if isinstance(price, np.ndarray) or isinstance(threshold, np.ndarray) or isinstance(value, np.ndarray):
        return np.minimum(_safe_div(value, np.maximum(price, threshold)), 1.0)
    return min(_safe_div(value, max(price, threshold)), 1.0)


def lowest_unit_price(price: Number, value: Number, threshold: Number = 0.0, *, percent: bool = False) -> Number:
    """The lowest post-coupon unit price any buyer can reach: what the 30-day lowest price sees."""
    return price * (1.0 - coupon_discount_share(price, value, threshold, percent=percent))


def event_entry_price(list_price: Number, lowest_price_30d: Number, entry_ratio: Number) -> Number:
    """Event price an entry rule asks for: ratio × 30-day lowest price, never above list (seed 003)."""
    asked = entry_ratio * lowest_price_30d
    if isinstance(list_price, np.ndarray) or isinstance(asked, np.ndarray):
        return np.minimum(list_price, asked)
    return min(list_price, asked)


def _safe_div(num: Number, den: Number) -> Number:
    if isinstance(num, np.ndarray) or isinstance(den, np.ndarray):
        num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
        out = np.full(num.shape, np.inf)
        np.divide(num, den, out=out, where=den > 0)
        return out
    return num / den if den > 0 else math.inf
