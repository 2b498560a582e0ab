"""The independent audit of a run against the owner's policy: it reads only what the platform applied
and what the shops spent, so it catches what the guard might miss — and it does catch things."""

from pathlib import Path

from marketplace.audit import audit_run
from marketplace.harness import simulate
from marketplace.scenario import load_scenario
from marketplace.world import World

ROOT = Path(__file__).parents[2]


def test_the_agent_stays_inside_the_policy_where_a_policy_blind_operator_does_not() -> None:
    scenario = load_scenario(ROOT / "scenarios/thin_margin_stage2.yaml")
    agent = simulate(scenario, "agent", days=10)
    platform = simulate(scenario, "platform", days=10)
    assert agent.changes, "the agent did act"
    assert agent.outside_policy == []
    assert {v["limit"] for v in platform.outside_policy} >= {"spend.max_bid_change_pct"}
    assert agent.summary()["outside_policy"] == 0 < platform.summary()["outside_policy"]


def test_each_kind_of_write_outside_the_policy_is_named() -> None:
    world = World(load_scenario(ROOT / "scenarios/price_sensitive.yaml"))
    shop = world.scenario.shops[0]
    policy, sku, price = shop.policy, shop.products[0].sku, shop.products[0].price
    cap, top = policy.spend.sku_daily_budget_cap, policy.spend.max_bid
    change = {"day": 0, "shop_id": shop.id, "sku": sku, "target": f"cmp-{sku}", "idempotency_key": "k"}
    changes = [
        {**change, "kind": "campaign.bid", "before": top, "after": top + 0.01},
        {**change, "kind": "campaign.budget", "before": cap, "after": cap + 1},
        {**change, "kind": "coupon.create", "target": "cpn-1", "before": None,
         "after": {"type": "percent", "value": policy.discount.max_discount_pct + 1, "threshold": 0}},
        {**change, "kind": "coupon.create", "target": "cpn-2", "before": None,
         "after": {"type": "no_threshold", "value": price * 0.9, "threshold": 0}},
        {**change, "kind": "campaign.bid", "day": 1, "before": 1.0,
         "after": 1.0 + policy.spend.max_bid_change_pct / 50},  # twice the largest change a day allows
        {**change, "kind": "campaign.bid", "day": 2, "before": 1.0, "after": 1.0},
    ]
    found = [(v["day"], v["limit"]) for v in audit_run(world, changes)]
    assert (0, "spend.max_bid") in found and (0, "spend.sku_daily_budget_cap") in found
    assert (0, "discount.max_discount_pct") in found and (0, "discount.lowest_price_floor") in found
    assert (0, "discount.max_face_value") in found or price * 0.9 <= policy.discount.max_face_value
    assert (1, "spend.max_bid_change_pct") in found
    assert not [f for f in found if f[0] == 2], "a write inside every limit is not flagged"
