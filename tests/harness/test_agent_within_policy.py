"""The owner's promise on shops nobody tuned the agent on: on generated shops (their own prices, margins, buyers,
events and starting coupons), an independent audit of what the platform applied and what each shop spent finds
nothing outside the owner's limits. The public scenarios are checked the same way by the benchmark."""

import pytest

from marketplace.generator import generate
from marketplace.harness import simulate


@pytest.mark.parametrize("seed", [4001, 4002, 4003, 4004])
def test_the_agent_keeps_every_limit_on_a_generated_shop(seed: int) -> None:
    run = simulate(generate(8, seed=seed, days=14), "agent")
    assert run.outside_policy == []
    assert run.changes, "the agent acted: a shop left alone would pass for the wrong reason"


def test_the_agent_keeps_each_owners_limits_when_one_platform_hosts_two_shops() -> None:
    run = simulate(generate(16, shops=2, seed=4101, days=14), "agent")
    assert run.outside_policy == []
    assert {c["shop_id"] for c in run.changes} == {"shop-1", "shop-2"}  # both shops were run, each by its token
