"""The agent's estimates from its own history, and the budgets the planner derives from them."""

from pathlib import Path

import pytest

from agent.belief import SMOOTHING, _learn_capacity
from agent.planner import _clear_month_billing
from marketplace.model import MONTH_BUDGET_DAYS
from marketplace.scenario import load_scenario
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
    want = (1247.0 + 27.6) / MONTH_BUDGET_DAYS
    assert ops == [Op("budget", CUPS, pytest.approx(want, abs=0.01))]
    assert world.c.settings.budget[world.row(SHOP, "F-CUPS")] == pytest.approx(want, abs=0.01)


def test_month_billing_adds_a_budget_op_before_the_campaign_is_switched_on() -> None:
    world = _world(month_spend=1247.0)
    ops = _clear_month_billing(world, SHOP, [Op("status", CUPS, "active")])
    assert [o.kind for o in ops] == ["budget", "status"]


def test_month_billing_leaves_budgets_alone_with_room_to_bill_or_none_under_the_shop_caps() -> None:
    assert _clear_month_billing(_world(month_spend=100.0), SHOP, []) == []
    assert _clear_month_billing(_world(month_spend=30000.0), SHOP, []) == []
