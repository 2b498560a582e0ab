"""Unit economics (SPEC section 2) on floats and on arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from policies.economics import (
    break_even_roi,
    coupon_discount_share,
    event_entry_price,
    floor_price,
    lowest_unit_price,
    max_cost_per_order,
    min_roi_at_floor,
    net_margin,
    post_coupon_price,
    unit_margin,
)

# price 100, cost 50, commission 5%, shipping 5: margin 40
ARGS = (100.0, 50.0, 0.05, 5.0)


def test_margin_break_even_and_floor() -> None:
    assert unit_margin(*ARGS) == pytest.approx(40)
    assert break_even_roi(*ARGS) == pytest.approx(2.5)
    assert max_cost_per_order(*ARGS, 0.10) == pytest.approx(30)
    assert min_roi_at_floor(*ARGS, 0.10) == pytest.approx(100 / 30)
    assert net_margin(*ARGS, 30.0) == pytest.approx(0.10)


def test_seed_001_bid_that_loses_money() -> None:
    # "my profit per unit is 15; a 12 bid, then 24, loses money" at one order per click
    assert max_cost_per_order(50.0, 30.0, 0.0, 5.0, 0.0) == 15
    assert net_margin(50.0, 30.0, 0.0, 5.0, 24.0) < 0


def test_no_margin_means_infinite_roi() -> None:
    assert break_even_roi(10.0, 9.0, 0.05, 1.0) == math.inf
    assert min_roi_at_floor(10.0, 8.0, 0.05, 0.5, 0.10) == math.inf
    assert floor_price(50.0, 0.5, 5.0, 0.5) == math.inf


def test_floor_price_keeps_exactly_the_floor() -> None:
    p = floor_price(50.0, 0.05, 5.0, 0.10)
    assert p == pytest.approx(55 / 0.85)
    assert max_cost_per_order(p, 50.0, 0.05, 5.0, 0.10) == pytest.approx(0)


def test_coupon_share_is_the_buyers_deepest_unit_discount() -> None:
    assert coupon_discount_share(100.0, 15.0, percent=True) == pytest.approx(0.15)
    assert coupon_discount_share(100.0, 10.0) == pytest.approx(0.10)
    assert coupon_discount_share(100.0, 30.0, 150.0) == pytest.approx(0.20)  # topped up to the threshold
    assert coupon_discount_share(20.0, 30.0) == 1.0
    assert lowest_unit_price(100.0, 30.0, 150.0) == pytest.approx(80)
    assert post_coupon_price(100.0, 15.0, percent=True) == 85 and post_coupon_price(10.0, 15.0) == 0


def test_event_entry_price_never_above_list() -> None:
    assert event_entry_price(100.0, 90.0, 0.95) == pytest.approx(85.5)
    assert event_entry_price(80.0, 100.0, 0.95) == 80


def test_functions_work_on_arrays() -> None:
    price = np.array([100.0, 10.0])
    cost, commission, shipping = np.array([50.0, 9.0]), 0.05, np.array([5.0, 1.0])
    np.testing.assert_allclose(break_even_roi(price, cost, commission, shipping), [2.5, np.inf])
    np.testing.assert_allclose(min_roi_at_floor(price, cost, commission, shipping, 0.1), [100 / 30, np.inf])
    np.testing.assert_allclose(floor_price(cost, commission, shipping, 0.1), [55 / 0.85, 10 / 0.85])
    np.testing.assert_allclose(net_margin(price, cost, commission, shipping, 0.0), [0.40, -0.05])
    np.testing.assert_allclose(coupon_discount_share(price, 10.0, np.array([0.0, 50.0])), [0.1, 0.2])
    np.testing.assert_allclose(event_entry_price(price, np.array([90.0, 10.0]), 0.95), [85.5, 9.5])
