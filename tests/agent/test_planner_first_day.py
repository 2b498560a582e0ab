"""The agent's first day on a shop, before it has any history: the coupons the shop started with are held to the
owner's coupon budgets at once. A generated shop (seed 1001) starts with a ¥3-off-30 coupon for up to 300 uses a day
and a ¥4 follow coupon for up to 100, ¥1,300 a day at worst against a ¥300 budget; the agent used to leave them
running through day 0 (¥364 spent, found by the audit on held-out shops)."""

from agent.observe import observe
from agent.planner import plan
from marketplace.client import PlatformClient, in_process
from marketplace.generator import generate
from marketplace.harness import simulate
from marketplace.scenario import Scenario
from marketplace.world import World
from policies.actions import StopCoupon

STARTING = {"S1-shop-threshold", "S1-shop-follow"}


def first_day_plan(scenario) -> list:
    world = World(scenario)
    shop = scenario.shops[0]
    with in_process(world, admin_token="adm") as http:
        obs = observe(PlatformClient(http, shop.id, world.token_for(shop.id)))
    assert obs["day"] == 0
    return plan(obs, shop.policy, {})


def test_coupons_that_may_cost_more_than_the_budget_are_stopped_on_the_first_day_with_the_reason():
    stops = [a for a in first_day_plan(generate(12, seed=1001)) if isinstance(a, StopCoupon)]
    assert {a.coupon_id for a in stops} == STARTING
    assert all("coupon budgets allow (¥300 a day, ¥1,500 a week)" in a.rationale for a in stops)
    assert all("优惠券预算（每天 ¥300，每周 ¥1,500）" in a.rationale_zh for a in stops)


def with_coupon_budget(daily: float) -> Scenario:
    """The generated shop with its owner's coupon budget at `daily` a day (and 7× that a week)."""
    scenario = generate(12, seed=1001)
    shop = scenario.shops[0]
    discount = shop.policy.discount.model_copy(update={"daily_budget": daily, "weekly_budget": 7 * daily})
    policy = shop.policy.model_copy(update={"discount": discount})
    return scenario.model_copy(update={"shops": [shop.model_copy(update={"policy": policy})]})


def test_coupons_within_the_budget_are_left_running_on_the_first_day():
    assert not [a for a in first_day_plan(with_coupon_budget(2000.0)) if isinstance(a, StopCoupon)]


def test_the_first_day_stays_within_the_owners_coupon_budget():
    run = simulate(generate(12, seed=1001), "agent", days=2)
    assert {c["target"] for c in run.changes if c["day"] == 0 and c["kind"] == "coupon.stop"} == STARTING
    assert run.outside_policy == []


def test_a_model_that_proposes_nothing_cannot_drop_the_stops_the_coupon_budget_needs(stub, base_url):
    from agent.llm import LlmSettings, make_chat_model
    from agent.llm_planning import llm_planner
    from agent.llm_stub import say

    scenario = generate(12, seed=1001)
    world, shop = World(scenario), scenario.shops[0]
    stub.load([say("All looks fine, nothing to change today.")])
    model = make_chat_model(LlmSettings(base_url=base_url, api_key="stub-key", model="stub-model"), max_retries=0)
    with in_process(world, admin_token="adm") as http:
        client = PlatformClient(http, shop.id, world.token_for(shop.id))
        planned = llm_planner(model, client)(observe(client), shop.policy, {})
    assert planned.proposed_by == "llm"
    assert {a.coupon_id for a in planned.actions if isinstance(a, StopCoupon)} == STARTING
    assert sorted(planned.note["kept_for_limits"]) == sorted(STARTING)


def test_with_no_history_to_rank_them_the_coupon_that_may_cost_most_is_stopped_first():
    # ¥900 and ¥400 a day at worst against ¥1,000: stopping the ¥900 one is enough; the ¥400 one keeps running.
    stops = [a.coupon_id for a in first_day_plan(with_coupon_budget(1000.0)) if isinstance(a, StopCoupon)]
    assert stops == ["S1-shop-threshold"]
