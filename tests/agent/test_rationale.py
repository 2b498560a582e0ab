"""What the planner tells the owner about an ad change: today's profit change, the change over the days it plans,
and, when it spends less because the stock will sell out anyway, that reason first (a pause used to read only
"profit today −¥277", with nothing on why)."""

import re

import numpy as np
import pytest

from agent.observe import observe
from agent.planner import plan
from agent.rationale import Outlook, ad_reason
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.generator import generate
from marketplace.rollout import RolloutResult
from marketplace.scenario import Restock, Scenario
from marketplace.world import World
from policies.actions import Action, SetCampaignStatus

SKU = "S1-0008"  # ¥73.9, ¥37 a unit after costs, about ten orders a day, its search campaign running


def with_stock(stock: int, restock: Restock | None) -> Scenario:
    """Generated shop 1003 with SKU's stock and restock schedule set."""
    scenario = generate(12, seed=1003)
    shop = scenario.shops[0]
    products = [p.model_copy(update={"stock": stock, "restock": restock}) if p.sku == SKU else p
                for p in shop.products]
    return scenario.model_copy(update={"shops": [shop.model_copy(update={"products": products})]})


def second_morning_plan(scenario: Scenario) -> list[Action]:
    """The planner's proposals on the shop's second morning (one day of history)."""
    world = World(scenario)
    shop = scenario.shops[0]
    with in_process(world, admin_token="adm") as http:
        AdminClient(http, "adm").advance(1)
        obs = observe(PlatformClient(http, shop.id, world.token_for(shop.id)))
    return plan(obs, shop.policy, {})


def test_ads_paused_because_the_stock_sells_out_anyway_say_so_with_the_gain_over_the_weeks_planned():
    actions = [a for a in second_morning_plan(with_stock(60, None)) if getattr(a, "sku", None) == SKU]
    pause = next(a for a in actions if isinstance(a, SetCampaignStatus))
    assert pause.status == "paused"
    assert re.match(r"the \d+ in stock sell out within 28 days even at the current settings and no restock is due, "
                    r"so more ad spend would sell the same units sooner", pause.rationale)
    assert "按现状 28 天内就会卖完，且没有补货计划" in pause.rationale_zh
    change = re.search(r"profit today ([+−])¥[\d,]+, over the next 28 days ([+−])¥[\d,]+", pause.rationale)
    assert change is not None
    today, ahead = change.groups()
    assert (today, ahead) == ("−", "+")  # it gives up today's ad orders for what the weeks ahead keep


def test_told_the_run_ends_in_two_days_the_planner_keeps_the_ads_that_sell_the_stock_before_then():
    """The benchmark diagnostic (`plan(..., end_day=…)`): with the end two days away, stock that sells out within
    four weeks is no reason to stop buying orders now."""
    scenario = with_stock(60, None)
    world = World(scenario)
    shop = scenario.shops[0]
    with in_process(world, admin_token="adm") as http:
        AdminClient(http, "adm").advance(1)
        obs = observe(PlatformClient(http, shop.id, world.token_for(shop.id)))
    told = [a for a in plan(obs, shop.policy, {}, end_day=3) if getattr(a, "sku", None) == SKU]
    assert not [a for a in told if isinstance(a, SetCampaignStatus) and a.status == "paused"]


def test_with_a_restock_due_the_stock_is_no_reason_to_spend_less():
    actions = [a for a in second_morning_plan(with_stock(60, Restock(every_days=5, quantity=200)))
               if getattr(a, "sku", None) == SKU]
    assert actions and not [a.rationale for a in actions if "in stock sell out" in a.rationale]
    assert not [a for a in actions if isinstance(a, SetCampaignStatus) and a.status == "paused"]


@pytest.fixture(scope="module")
def world() -> World:
    return World(with_stock(60, None))


def outlook(world: World, *, spend_after: float, end_stock: float, keep: float = 1000.0,
            planned: float = 1576.0) -> Outlook:
    """An outlook on every row alike: one expected day before (¥40 of ads) and after, and the held rollouts."""
    n = world.c.params.n

    def day(spend: float) -> dict[str, np.ndarray]:
        return {"orders": np.full(n, 5.4), "ad_spend": np.full(n, spend), "ad_gmv": np.full(n, 4 * spend),
                "profit": np.full(n, 240.8 if spend == 0 else 517.9)}

    def held(profit: float) -> RolloutResult:
        return RolloutResult(np.full(n, profit), np.zeros(n), np.zeros(n), np.full(n, end_stock))

    return Outlook(day(40.0), day(spend_after), held(keep), held(planned), 28)


@pytest.mark.parametrize(("spend_after", "end_stock", "restock_every", "says_stock"), [
    (0.0, 0.0, 10**9, True),  # spends less, sells out anyway, no restock
    (0.0, 0.4, 10**9, True),  # less than a unit left is sold out
    (0.0, 3.0, 10**9, False),  # units left at the end: ads could sell them
    (60.0, 0.0, 10**9, False),  # spends more: not a reason to give
    (0.0, 0.0, 7, False),  # a restock is due within the weeks planned
    (0.0, 0.0, 20, False),  # every 20 days: the next one, day 20, falls within them
    (0.0, 0.0, 30, True),  # every 30 days: none before day 30, after the 28 days planned
])
def test_the_stock_reason_needs_less_spend_a_sell_out_and_no_restock(world, spend_after, end_stock, restock_every,
                                                                     says_stock):
    row = world.c.skus.index(SKU)
    params = world.c.params
    saved = params.restock_every[row], params.restock_qty[row]
    params.restock_every[row], params.restock_qty[row] = restock_every, 100
    try:
        why = ad_reason(world, row, outlook(world, spend_after=spend_after, end_stock=end_stock))
    finally:
        params.restock_every[row], params.restock_qty[row] = saved
    assert ("in stock sell out" in why["rationale"]) is says_stock
    assert ("没有补货计划" in why["rationale_zh"]) is says_stock


def test_the_reason_gives_today_and_the_days_planned_in_both_languages(world):
    row = world.c.skus.index(SKU)
    why = ad_reason(world, row, outlook(world, spend_after=0.0, end_stock=2.0))
    assert why["rationale"] == ("expected 5.4 orders/day, no ad spend; against keeping the current settings: "
                                "profit today −¥277, over the next 28 days +¥576")
    assert why["rationale_zh"] == "预计每天 5.4 单，不花广告费；与维持现状相比：今天利润 −¥277，未来 28 天 +¥576"
    spending = ad_reason(world, row, outlook(world, spend_after=60.0, end_stock=2.0, planned=900.0))["rationale"]
    assert spending.startswith("expected 5.4 orders/day, ad spend ¥60/day, ad ROI 4.0 vs break-even ")
    assert spending.endswith("profit today +¥0, over the next 28 days −¥100")
