"""The market model's behaviour: each test fails if a formula of SPEC.md section 3 breaks."""

from dataclasses import fields, replace
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.compile import SEGMENTS, Compiled, compile_scenario
from marketplace.coupon_math import CouponBook
from marketplace.generator import generate
from marketplace.model import (
    MAX_DAILY_OVERDELIVERY,
    MONTH_BUDGET_DAYS,
    STAGE2_CUTOFF_POWER,
    DayContext,
    DayOutcome,
    begin_day,
    hill,
    season,
    simulate_day,
)
from marketplace.scenario import Scenario, parse_scenario
from marketplace.world import HISTORY_FIELDS, World

MARKET = {"v0": 100, "base_cr": 0.05, "cmax": 300, "b50": 1.0, "h": 1.5, "n1": 30, "r2": 2.0, "smax": 100,
          "tmin": 3.0}


def product(sku: str = "A", price: float = 50.0, stock: int = 100_000, **market) -> dict:
    return {"sku": sku, "price": price, "cost": price * 0.4, "shipping": 3.0, "stock": stock,
            "market": {**MARKET, **market}}


def make_scenario(products: list[dict] | None = None, **shop) -> Scenario:
    """One shop; `shop` adds campaigns, coupons, events, segments or a policy."""
    return parse_scenario({"name": "model_test", "horizon_days": 28,
                           "shops": [{"id": "s", "products": products or [product()], **shop}]})


def run(scenario: Scenario, days: int, noise: bool = False) -> tuple[World, list[DayOutcome]]:
    world = World(scenario, noise=noise)
    return world, [world.step() for _ in range(days)]


# ---- search ads ---------------------------------------------------------------------------------

@given(bids=st.lists(st.floats(0.0, 50.0), min_size=2, max_size=12), b50=st.floats(0.05, 10.0),
       h=st.floats(0.5, 3.0))
def test_hill_share_rises_with_bid_and_stays_within_zero_and_one(bids, b50, h) -> None:
    share = hill(np.sort(bids), np.full(len(bids), b50), np.full(len(bids), h))
    assert np.all(np.diff(share) >= -1e-12)
    assert np.all((share >= 0) & (share <= 1))
    assert hill(np.array([b50]), np.array([b50]), np.array([h]))[0] == pytest.approx(0.5)


@cache
def tiled_sku() -> Compiled:
    """One search SKU, compiled once and reused by the property tests below."""
    return compile_scenario(make_scenario(campaigns=[{"sku": "A", "bid": 1.0, "budget": 1e6}]))


def day_on_copies(bids: list[float], stage2: bool, rng=None, stock: float | None = None,
                  **settings_arrays) -> DayOutcome:
    """One day of len(bids) copies of the tiled SKU, each at its own bid."""
    c = tiled_sku()
    rows = np.zeros(len(bids), dtype=int)
    params, state, sets = c.params.take(rows), c.state.take(rows), c.settings.take(rows)
    sets = replace(sets, bid=np.array(bids, dtype=float), **settings_arrays)
    state.ad_orders = np.full(len(bids), 1e9 if stage2 else 0.0)
    if stock is not None:
        state.stock = np.full(len(bids), float(stock))
    ctx = DayContext(day=0, weekday=0, month_start=False, event_mult=np.ones(len(bids)))
    return simulate_day(params, state, sets, CouponBook.empty(len(bids), len(SEGMENTS)), ctx, rng)


BIDS = st.one_of(st.just(0.0), st.floats(0.01, 60.0))  # off, or a real bid (the platform's smallest is 0.05)


@settings(max_examples=60, deadline=None)
@given(bids=st.lists(BIDS, min_size=2, max_size=10), stage2=st.booleans())
def test_expected_clicks_and_spend_never_fall_as_the_bid_rises(bids, stage2) -> None:
    out = day_on_copies(sorted(bids), stage2)
    assert np.all(np.diff(out.clicks[1]) >= -1e-9)
    assert np.all(np.diff(out.ad_spend[1]) >= -1e-9)


def test_clicks_saturate_at_cmax() -> None:
    out = day_on_copies([1.0, 100.0, 1000.0], stage2=False)
    most = MARKET["cmax"] * season(np.array(0.15), weekday=0)
    assert np.all(out.clicks[1] <= most)
    assert out.clicks[1][-1] == pytest.approx(most, rel=1e-3)
    assert out.clicks[1][0] == pytest.approx(most / 2, rel=1e-3)  # bid = b50 buys half


def test_cost_per_click_is_below_the_bid() -> None:
    bid = 1.3
    _, days = run(make_scenario(campaigns=[{"sku": "A", "bid": bid, "budget": 1e5}]), 7, noise=True)
    for out in days:
        assert out.clicks[1][0] > 0
        assert out.ad_spend[1][0] / out.clicks[1][0] < bid


def test_daily_budget_stops_spend_within_overdelivery_and_month_cap() -> None:
    budget = 20.0
    scenario = make_scenario(
        [product("A", cmax=2000, b50=0.5), product("B", smax=5000)],
        campaigns=[{"sku": "A", "bid": 3.0, "budget": budget},
                   {"sku": "B", "mode": "whole_site", "target_roi": 3.0, "budget": budget}])
    _, days = run(scenario, 28, noise=True)
    spend = np.array([out.ad_spend.sum(axis=0) for out in days])  # (days, SKUs)
    assert np.all(spend <= MAX_DAILY_OVERDELIVERY * budget + 1e-9)
    assert np.all(spend[:5] >= 0.8 * budget), "demand far above the budget: the budget is what stops spend"
    assert np.all(spend.sum(axis=0) <= MONTH_BUDGET_DAYS * budget + 1e-9)  # all 28 days fall in March


def test_below_the_stage2_reserve_clicks_are_cut_once_stage2_starts() -> None:
    bid, r2 = 1.0, 2.0
    scenario = make_scenario(
        [product("A", n1=20, r2=r2), product("TWIN", n1=1e9, r2=r2)],  # the twin never reaches stage 2
        campaigns=[{"sku": "A", "bid": bid, "budget": 1e5}, {"sku": "TWIN", "bid": bid, "budget": 1e5}])
    _, days = run(scenario, 10)
    stage2 = np.array([out.stage2[0] for out in days])
    ratio = np.array([out.clicks[1][0] / out.clicks[1][1] for out in days])
    assert not stage2[0] and stage2.any(), "stage 2 starts after n1 ad orders"
    np.testing.assert_allclose(ratio[~stage2], 1.0)
    np.testing.assert_allclose(ratio[stage2], (bid / r2) ** STAGE2_CUTOFF_POWER)


def test_at_or_above_the_reserve_stage2_keeps_its_clicks() -> None:
    out1, out2 = (day_on_copies([2.0, 2.5], stage2=s) for s in (False, True))
    np.testing.assert_allclose(out1.clicks[1], out2.clicks[1])


# ---- stock ------------------------------------------------------------------------------------

RESTOCK_EVERY, RESTOCK_QTY = 5, 40


def fast_seller(stock: int = 30) -> Scenario:
    """Demand of about 30 units a day against a small stock and a smaller restock."""
    return make_scenario([{**product(stock=stock, v0=300, base_cr=0.1),
                           "restock": {"every_days": RESTOCK_EVERY, "quantity": RESTOCK_QTY}}])


def test_stock_out_stops_sales_and_restock_refills() -> None:
    world = World(fast_seller(), noise=False)
    stock = 30.0
    for day in range(12):
        stock += RESTOCK_QTY if day > 0 and day % RESTOCK_EVERY == 0 else 0
        units = world.step().units.sum()
        assert units == pytest.approx(stock), "demand is above the stock: all of it sells, nothing more"
        stock = world.c.state.stock[0]
        assert stock == 0


def test_noisy_sales_never_pass_the_stock() -> None:
    world = World(fast_seller())
    for day in range(12):
        before = world.c.state.stock[0] + (RESTOCK_QTY if day > 0 and day % RESTOCK_EVERY == 0 else 0)
        out = world.step()
        assert out.units.sum() <= before
        assert world.c.state.stock[0] == before - out.units.sum()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_noisy_demand_above_the_last_units_sells_them(seed: int) -> None:
    world = World(fast_seller().model_copy(update={"seed": seed}))
    for _ in range(RESTOCK_EVERY):
        before = world.c.state.stock[0]
        out = world.step()
        assert out.orders.sum() <= out.units.sum()
        assert (out.units > 0).sum() <= (out.orders > 0).sum(), "no units without an order to carry them"
        if out.stocked_out[0] and before > 0:
            assert out.units.sum() == before, "a day that runs out sells exactly what was left"
    assert world.c.state.stock[0] == 0


# ---- coupons ----------------------------------------------------------------------------------

TWO_BASKETS = [{"name": "new", "share": 0.5, "basket_units": 1.0},  # 50 yuan baskets
               {"name": "high_value", "share": 0.5, "basket_units": 4.0}]  # 200 yuan baskets


@pytest.mark.parametrize("segment,used", [("new", False), ("high_value", True)])
def test_threshold_coupon_is_used_only_by_baskets_that_reach_it(segment: str, used: bool) -> None:
    coupon = {"type": "threshold", "value": 10, "threshold": 150, "segments": [segment], "quantity": 10_000}
    _, days = run(make_scenario(segments=TWO_BASKETS, coupons=[coupon]), 3)
    redeemed = sum(out.redemptions[0] for out in days)
    cost = sum(out.coupon_cost.sum() for out in days)
    assert bool(redeemed > 0) == used
    assert bool(cost > 0) == used


def test_threshold_a_little_above_the_basket_is_partly_reached() -> None:
    near = {"type": "threshold", "value": 5, "threshold": 60, "segments": ["new"], "quantity": 10_000}
    at = {**near, "threshold": 50.0}  # exactly the 50-yuan basket
    (_, [near_day]), (_, [at_day]) = (run(make_scenario(segments=TWO_BASKETS, coupons=[c]), 1) for c in (near, at))
    assert 0 < near_day.redemptions[0] < at_day.redemptions[0]


@pytest.mark.parametrize("kind,value,counts", [
    ("share", 5, False), ("follow", 5, False), ("percent", 10, True), ("no_threshold", 5, True)])
def test_only_counted_coupon_types_lower_the_30_day_lowest_price(kind: str, value: float, counts: bool) -> None:
    world, _ = run(make_scenario(coupons=[{"type": kind, "value": value}]), 1)
    lowest = world.c.state.lowest_price[0]
    assert bool(lowest < 50.0) == counts
    assert lowest <= 50.0


def test_price_sensitive_buyers_respond_more_to_a_coupon_than_high_value_ones() -> None:
    def uplift(segment: str, elasticity: float) -> float:
        segments = [{"name": segment, "share": 1.0, "elasticity": elasticity}]
        orders = [run(make_scenario(segments=segments, coupons=coupons), 1)[1][0].orders.sum()
                  for coupons in ([], [{"type": "percent", "value": 10}])]
        return orders[1] / orders[0]

    sensitive, loyal = uplift("price_sensitive", 3.5), uplift("high_value", 0.6)
    assert sensitive > loyal > 1.0
    assert sensitive == pytest.approx(0.9**-3.5, rel=1e-6)  # conversion ∝ (p_eff/p_ref)^(−ε)


# ---- promotion events -------------------------------------------------------------------------

EVENT = {"id": "flash", "name": "Flash sale", "start_day": 3, "end_day": 5, "entry_ratio": 0.9, "traffic_mult": 3}


@pytest.mark.parametrize("coupons,enters", [
    ([], True),
    ([{"type": "share", "value": 40, "start_day": 0, "end_day": 1}], True),  # not counted: lowest stays 100
    ([{"type": "percent", "value": 40, "start_day": 0, "end_day": 1}], False),  # lowest 60: event price 54 < cost
])
def test_event_entry_needs_price_within_ratio_of_the_30_day_lowest(coupons: list, enters: bool) -> None:
    scenario = make_scenario([{**product(price=100.0), "cost": 50.0, "shipping": 5.0}], events=[EVENT],
                             coupons=coupons)
    world, days = run(scenario, EVENT["start_day"])
    lowest = world.c.state.lowest_price[0]
    event_day = world.step()
    assert bool(world.c.state.event_id[0] == 0) == enters
    if enters:
        assert event_day.selling_price[0] <= EVENT["entry_ratio"] * lowest + 1e-9
        assert event_day.visitors[0][0] > 2 * days[-1].visitors[0][0], "entry multiplies traffic"
    else:
        assert event_day.selling_price[0] == 100.0


def test_sku_leaves_the_event_the_day_after_it_ends_at_list_price_and_traffic() -> None:
    scenario = make_scenario([{**product(price=100.0), "cost": 50.0, "shipping": 5.0}], events=[EVENT])
    world, days = run(scenario, EVENT["end_day"] + 2)
    prices = [float(d.selling_price[0]) for d in days]
    assert prices == [100.0] * 3 + [90.0] * 3 + [100.0]  # entry ratio 0.9 of the 30-day lowest, days 3–5
    assert world.c.state.event_id[0] == -1
    assert days[-1].visitors[0][0] < days[EVENT["end_day"]].visitors[0][0] / 2, "the event's traffic ends with it"


# ---- determinism and vectorisation ------------------------------------------------------------

def history(scenario: Scenario, days: int = 6) -> list[dict[str, np.ndarray]]:
    world, _ = run(scenario, days, noise=True)
    return world.history


def test_same_scenario_and_seed_give_identical_history() -> None:
    first, again = history(generate(60, seed=4)), history(generate(60, seed=4))
    assert all(np.array_equal(a[f], b[f]) for a, b in zip(first, again, strict=True) for f in HISTORY_FIELDS)


def test_a_different_seed_gives_different_history() -> None:
    scenario = generate(60, seed=4)
    first, other = history(scenario), history(scenario.model_copy(update={"seed": scenario.seed + 1}))
    assert not all(np.array_equal(a["orders"], b["orders"]) for a, b in zip(first, other, strict=True))


def test_simulate_day_on_many_skus_equals_each_sku_alone() -> None:
    scenario = generate(30, seed=2)
    day = scenario.shops[0].events[0].start_day + 1  # mid-event, with days of sales, coupons and ad orders behind
    world, _ = run(scenario, day)
    c = world.c
    state, ctx = begin_day(c.params, c.state, c.events, *world.calendar(day))
    book = world.book(world.live_coupons(day), day)
    book = replace(book, cap_today=np.full(book.size, 1e12))  # a binding shared cap would couple the SKUs
    together = simulate_day(c.params, state, c.settings, book, ctx, rng=None)
    redemptions = np.zeros(book.size)
    for i in range(c.params.n):
        rows = np.array([i])
        alone = simulate_day(c.params.take(rows), state.take(rows), c.settings.take(rows), book.take(rows),
                             replace(ctx, event_mult=ctx.event_mult[rows]), rng=None)
        for f in fields(DayOutcome):
            if f.name not in ("redemptions", "coupon_spend"):
                np.testing.assert_allclose(np.asarray(getattr(alone, f.name)[..., 0], float),
                                           np.asarray(getattr(together, f.name)[..., i], float),
                                           rtol=1e-12, err_msg=f"{f.name} of SKU {i}")
        redemptions += alone.redemptions
    np.testing.assert_allclose(redemptions, together.redemptions, rtol=1e-12)
    assert together.redemptions.sum() > 0, "the comparison covers coupons"


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(BIDS, st.floats(0.0, 500.0), st.booleans(), st.booleans(),
                            st.floats(0.5, 20.0)), min_size=1, max_size=8),
    stock=st.integers(0, 40), seed=st.integers(0, 2**16),
)
def test_no_quantity_is_ever_negative_or_unbounded(data, stock, seed) -> None:
    bids, budgets, active, whole_site, roi = (np.array(x) for x in zip(*data, strict=True))
    out = day_on_copies(list(bids), stage2=bool(seed % 2), rng=np.random.default_rng(seed), stock=stock,
                        budget=budgets, active=active, whole_site=whole_site, target_roi=roi)
    for f in ("impressions", "visitors", "clicks", "orders", "units", "gmv", "ad_spend", "coupon_cost", "refunds",
              "refund_amount"):
        value = getattr(out, f)
        assert np.all(np.isfinite(value)) and np.all(value >= 0), f
    assert np.all(np.isfinite(out.profit))
    assert np.all(out.ad_spend.sum(axis=0) <= MAX_DAILY_OVERDELIVERY * budgets + 1e-9)
