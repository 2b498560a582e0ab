"""Unit economics (SPEC section 2), shared by the guard, the planner and the baselines.

Every function works on plain floats and on numpy arrays alike.

- unit margin `m = p_eff − cost − commission·p_eff − shipping` (`p_eff`: price after coupon)
- break-even ROI `= p_eff / m`
- max ad cost per order at margin floor `f`: `m − f·p_eff`
- min ROI at the floor `= p_eff / (m − f·p_eff)`
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


def post_coupon_price(price: Number, value: Number, *, percent: bool = False) -> Number:
    """Unit price after a coupon: `value` yuan off, or `value` percent off."""
    off = price * value / 100.0 if percent else value
    return np.maximum(price - off, 0.0) if isinstance(price, np.ndarray) else max(price - off, 0.0)


def _safe_div(num: Number, den: Number) -> Number:
    if isinstance(num, np.ndarray) or isinstance(den, np.ndarray):
        num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
        out = np.full(num.shape, np.inf)
        np.divide(num, den, out=out, where=den > 0)
        return out
    return num / den if den > 0 else math.inf
