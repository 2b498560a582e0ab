"""The agent's estimates from its own history, and the budgets the planner derives from them."""

import json
import math
from datetime import date
from pathlib import Path

import pytest

from agent.belief import SMOOTHING, _learn_capacity, _product, _season
from agent.planner import MODE_EVIDENCE_DAYS, _clear_month_billing, _whole_yuan_budgets
from marketplace.harness import simulate
from marketplace.model import MONTH_BUDGET_DAYS
from marketplace.scenario import Scenario, load_scenario
from marketplace.strategies.oracle_coupons import Op
from marketplace.world import World

SCENARIO = Path(__file__).parents[2] / "scenarios" / "fat_margin_underspend.yaml"
SHOP, CUPS = "fat-shop", "cmp-F-CUPS"


def test_learn_capacity_rises_at_once_to_a_budget_stopped_days_bound() -> None:
    assert _learn_capacity(60.0, 100.0, budget_bound=True) == 100.0


def test_learn_capacity_keeps_its_estimate_when_a_budget_stopped_day_delivered_less() -> None:
    assert _learn_capacity(120.0, 100.0, budget_bound=True) == 120.0


def test_learn_capacity_moves_part_of_the_way_on_a_free_day() -> None:
    assert _learn_capacity(100.0, 200.0, budget_bound=False) == pytest.approx(100.0 + SMOOTHING * 100.0)
    assert _learn_capacity(None, 80.0, budget_bound=False) == 80.0


def _world(month_spend: float) -> World:
    """The fat-margin shop with F-CUPS at a small budget after `month_spend` billed this month."""
    world = World(load_scenario(SCENARIO), noise=False)
    world.set_budget(SHOP, CUPS, 27.6)
    world.c.state.month_spend[world.row(SHOP, "F-CUPS")] = month_spend
    return world


def test_month_billing_raises_a_budget_the_months_limit_would_stop() -> None:
    world = _world(month_spend=1247.0)
    ops = _clear_month_billing(world, SHOP, [Op("budget", CUPS, 27.6)])
    want = math.ceil((1247.0 + 27.6) / MONTH_BUDGET_DAYS)  # 41.93: ¥42, whole yuan as a merchant sets it
    assert ops == [Op("budget", CUPS, want)]
    assert world.c.settings.budget[world.row(SHOP, "F-CUPS")] == want


def test_planned_budgets_are_whole_yuan_rounded_up_within_the_skus_cap() -> None:
    world = _world(month_spend=0.0)  # the SKU budget cap is ¥500 here
    ops = [Op("budget", CUPS, 21.84), Op("budget", "cmp-F-OOLONG", 499.2), Op("bid", CUPS, 1.37),
           Op("budget", "cmp-F-PUER", 0.4)]
    assert _whole_yuan_budgets(world, SHOP, ops) == [
        Op("budget", CUPS, 22.0), Op("budget", "cmp-F-OOLONG", 500.0), Op("bid", CUPS, 1.37),
        Op("budget", "cmp-F-PUER", 0.4)]  # bids keep their cents; a budget under ¥1 is left alone
    data = load_scenario(SCENARIO).model_dump(mode="json", exclude_unset=True)
    data["shops"][0]["policy"]["spend"]["sku_daily_budget_cap"] = 499.5
    capped = World(Scenario.model_validate(data), noise=False)
    assert _whole_yuan_budgets(capped, SHOP, [Op("budget", "cmp-F-OOLONG", 499.2)]) == [
        Op("budget", "cmp-F-OOLONG", 499.5)]


def test_month_billing_adds_a_budget_op_before_the_campaign_is_switched_on() -> None:
    world = _world(month_spend=1247.0)
    ops = _clear_month_billing(world, SHOP, [Op("status", CUPS, "active")])
    assert [o.kind for o in ops] == ["budget", "status"]


def test_month_billing_leaves_budgets_alone_with_room_to_bill_or_none_under_the_shop_caps() -> None:
    assert _clear_month_billing(_world(month_spend=100.0), SHOP, []) == []
    assert _clear_month_billing(_world(month_spend=30000.0), SHOP, []) == []


# --- conversion and stock-outs ----------------------------------------------------------------------------------------

PRODUCT = {"sku": "K-CASE", "title": "case", "price": 25.0, "cost": 8.0, "shipping": 3.0, "commission": 0.05,
           "sales_7d": 20.0, "restock": {"every_days": 10, "quantity": 50}}
START = date(2026, 3, 2)


def _day(visitors: float, orders: float) -> dict[str, float]:
    return {"visitors": visitors, "orders": orders, "units": orders, "refunds": 0.0, "ad_spend": 0.0, "clicks": 0.0}


def _stock_history(sold: list[float], visitors: float = 100.0) -> dict:
    """Organic metrics by day: `sold[d]` orders (one unit each) out of `visitors` a day."""
    return {"organic": {d: _day(visitors, n) for d, n in enumerate(sold)}}


def _base_cr(hist: dict, day: int, stock: int, mem: dict | None = None) -> float:
    spec = _product({**PRODUCT, "stock": stock}, None, None, hist, START, day, {} if mem is None else mem)
    return spec.market.base_cr


IN_STOCK_CR = (6 * 5 + 0.04 * 20) / (6 * 100 + 20)  # six days of 5 orders from 100 visitors, with the prior


def test_conversion_leaves_out_days_that_began_without_stock() -> None:
    # 34 units: 5 a day sold on days 0–5, the last 4 on day 6; days 7–9 had visitors and nothing to
    # sell; day 10 restocks. Counting the empty days would give (34 + 0.8) / (1000 + 20) ≈ 0.034.
    hist = _stock_history([5] * 6 + [4] + [0] * 3)
    assert _base_cr(hist, day=10, stock=0) == pytest.approx(IN_STOCK_CR)


def test_conversion_leaves_out_stock_out_days_the_agent_remembered_each_morning() -> None:
    sold = [5] * 6 + [4] + [0] * 3
    hist, mem = _stock_history(sold), {}
    for day in range(1, 11):  # the agent's mornings: what was left before the day's restock
        seen = {"organic": {d: r for d, r in hist["organic"].items() if d < day}}
        cr = _base_cr(seen, day, 34 - int(sum(sold[:day])), mem)
    assert cr == pytest.approx(IN_STOCK_CR)
    assert {k: mem["stock"][k] for k in ("6", "7", "9", "10")} == {"6": 4, "7": 0, "9": 0, "10": 50}
    assert json.loads(json.dumps(mem)) == mem  # the memory is persisted as JSON


def test_conversion_leaves_out_a_day_that_sold_out_before_its_end() -> None:
    # Day 6 began with 3 units and sold them all by the evening: its 3 orders from 100 visitors
    # understate its demand. Counting it would give (33 + 0.8) / (700 + 20) ≈ 0.047.
    hist = _stock_history([5] * 6 + [3])
    assert _base_cr(hist, day=7, stock=0) == pytest.approx(IN_STOCK_CR)


def test_conversion_leaves_out_a_day_that_began_with_less_than_its_expected_orders() -> None:
    # Day 6 began with 4 units, below 1.5 × the 4 orders 100 visitors are expected to bring; it sold 2,
    # a day kept only because demand happened to be low. Counting it would give ≈ 0.0453.
    hist = _stock_history([5] * 6 + [2])
    assert _base_cr(hist, day=7, stock=2) == pytest.approx(IN_STOCK_CR)


def test_conversion_keeps_its_last_estimate_while_every_recent_day_was_out_of_stock() -> None:
    mem = {"base_cr": 0.05}
    hist = {"organic": {d: _day(100.0, 0.0) for d in range(10, 40)}}
    assert _base_cr(hist, day=40, stock=0, mem=mem) == pytest.approx(0.05)


def test_conversion_still_counts_days_with_stock_and_no_orders() -> None:
    hist = _stock_history([0] * 10)  # plenty of stock, nobody bought: a real signal, down to the floor
    assert _base_cr(hist, day=10, stock=500) == pytest.approx(0.002)


def test_the_agent_keeps_each_campaigns_mode_until_it_has_days_of_its_own_data() -> None:
    # On loyal_buyers seed 15 one day of search data made whole-site look better; switched on day 1, a campaign
    # never learned search again and the shop under-spent for four weeks (86% of the oracle). Now modes stay.
    scenario = load_scenario(SCENARIO.with_name("loyal_buyers.yaml")).model_copy(update={"seed": 15})
    run = simulate(scenario, "agent", days=MODE_EVIDENCE_DAYS + 1)
    switched = [c["day"] for c in run.changes if c["kind"] == "campaign.mode"]
    assert all(day >= MODE_EVIDENCE_DAYS for day in switched), switched
    assert any(c["kind"] in ("campaign.bid", "campaign.budget") and c["day"] < MODE_EVIDENCE_DAYS
               for c in run.changes), "bids and budgets still move in the first days"


# --- promotion days ---------------------------------------------------------------------------------------------------

def _event_history(boosted: float) -> dict:
    """Ten days of 100 organic visitors and 4 orders a day at the weekday season, except days 6–8 of an event that
    multiplied traffic by `boosted` and, at the event price, converted twice as well."""
    season = [_season(START, d) for d in range(10)]
    return {"organic": {d: _day(100 * season[d] * (boosted if 6 <= d <= 8 else 1),
                                (8 if 6 <= d <= 8 else 4) * season[d] * (boosted if 6 <= d <= 8 else 1))
                        for d in range(10)}}


def _estimate(hist: dict, mem: dict, event_days: frozenset[int]) -> tuple[float, float]:
    spec = _product({**PRODUCT, "stock": 500, "sales_7d": 0.0}, None, None, hist, START, 10, mem, event_days)
    return spec.market.v0, spec.market.base_cr


def test_event_days_the_agent_saw_are_divided_by_their_traffic_and_left_out_of_conversion() -> None:
    plain_v0, _ = _estimate(_event_history(1.0), {}, frozenset())
    counted_cr = _estimate(_event_history(3.0), {"boost": {str(d): 1.0 for d in range(10)}}, frozenset())[1]
    seen = {"boost": {str(d): 3.0 if 6 <= d <= 8 else 1.0 for d in range(10)}}
    v0, cr = _estimate(_event_history(3.0), seen, frozenset(range(6, 9)))
    assert v0 == pytest.approx(plain_v0)  # ×3 traffic on three days would have read as 60% more visitors
    assert cr == pytest.approx((7 * 4 + 0.04 * 20) / (7 * 100 + 20), rel=0.02)  # the seven ordinary days
    assert counted_cr > 1.2 * cr  # counted as ordinary days, the event's doubled conversion would have shown


def test_event_days_the_agent_did_not_see_teach_nothing() -> None:
    plain_v0, _ = _estimate(_event_history(1.0), {}, frozenset())
    v0, _ = _estimate(_event_history(3.0), {}, frozenset(range(6, 9)))  # no morning remembered: multiplier unknown
    assert v0 == pytest.approx(plain_v0, rel=0.02)
