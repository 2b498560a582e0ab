"""The rollout that values every plan pauses a SKU's ads on days that start with nothing to sell, as every plan
does at stock-out: holding them on would charge the ad option for clicks no plan buys, and a SKU about to sell
out would look better with its ads off."""

from pathlib import Path

import numpy as np

from marketplace.rollout import rollout
from marketplace.scenario import load_scenario
from marketplace.world import World

SCENARIO = Path(__file__).parents[2] / "scenarios" / "stockout.yaml"


def values(stock: float, days: int = 5) -> tuple[float, float]:
    """The rollout profit of the first SKU with its search ads off and on, starting with `stock` units."""
    world = World(load_scenario(SCENARIO), noise=False)
    row = 0
    world.c.params.restock_every[row] = 10_000  # no restock inside the rollout
    world.c.state.stock[row] = stock
    plans = world.c.settings.take(np.array([row, row]))  # the same SKU twice: ads off, then on
    plans.active[:] = [False, True]
    plans.whole_site[:] = False
    plans.has_campaign[:] = True
    plans.bid[:] = world.c.params.b50[row]
    plans.budget[:] = 200.0
    res = rollout(world, np.array([row, row]), plans, days, max_bid_change=None)
    return float(res.profit[0]), float(res.profit[1])


def test_with_no_stock_the_ads_cost_nothing_so_on_and_off_are_worth_the_same():
    paused, advertised = values(stock=0.0)
    assert advertised == paused


def test_with_stock_the_ads_run_and_their_value_differs():
    paused, advertised = values(stock=500.0)
    assert advertised != paused


def test_the_ads_stop_once_the_stock_is_gone():
    # Two units sell out on the first day: ads run that day only, so five days cost what one day costs.
    paused1, advertised1 = values(stock=2.0, days=1)
    paused5, advertised5 = values(stock=2.0, days=5)
    assert advertised5 - paused5 == advertised1 - paused1
