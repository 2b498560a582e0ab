"""The plan holds the shop's live coupons to the owner's coupon budgets, including coupons the shop started with:
one that could cost more in a day than the budget allows is stopped, however well it pays."""

from pathlib import Path

import numpy as np
import yaml

from marketplace.scenario import parse_scenario
from marketplace.strategies.oracle import Oracle
from marketplace.world import World

SCENARIO = Path(__file__).parents[2] / "scenarios" / "price_sensitive.yaml"  # daily coupon budget ¥400


def world_with(coupons: list[dict]) -> World:
    data = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    data["shops"][0]["coupons"] = coupons
    world = World(parse_scenario(data, source=str(SCENARIO)))
    world.step()
    return world


def stopped(world: World) -> set[str]:
    return {op.target for ops in Oracle(world, lookahead=21).plan().values() for op in ops if op.kind == "stop_coupon"}


TARGETED = {"type": "threshold", "value": 5.0, "threshold": 60.0, "segments": ["price_sensitive"], "quantity": 20000}


def test_a_coupon_that_may_cost_more_than_the_daily_budget_is_stopped():
    # ¥5 × up to 200 uses a day = ¥1,000 a day at worst, over the owner's ¥400.
    world = world_with([{"id": "big", **TARGETED, "daily_limit": 200}])
    assert "big" in stopped(world)


def test_the_same_coupon_within_the_budget_is_kept():
    # ¥5 × 60 = ¥300 at worst fits the ¥400.
    assert stopped(world_with([{"id": "fits", **TARGETED, "daily_limit": 60}])) == set()


def test_with_a_switch_margin_the_other_campaign_mode_must_win_clearly():
    world = world_with([])
    cur = world.c.settings
    (search,) = np.flatnonzero(cur.active & ~cur.whole_site)[:1]
    n = world.c.params.n
    active, whole_site = np.ones((2, n), bool), np.array([[False] * n, [True] * n])
    for margin, ws_value, switches in ((0.0, 101.0, True), (0.15, 110.0, False), (0.15, 120.0, True)):
        value = np.full((2, n), 100.0)
        value[1, search] = ws_value
        held = Oracle(world, switch_margin=margin)._hold_mode(value, active, whole_site)
        assert bool(np.argmax(held[:, search]) == 1) is switches, (margin, ws_value)
