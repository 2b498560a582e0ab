"""The planner's courtesy to the guard (`fit_to_policy`): an action a hard limit would deny becomes the nearest one the
guard accepts, saying so in both languages; what has no such alternative stays as asked for the guard to deny; the
rest is untouched. The guard still decides every one of them afterwards."""

from __future__ import annotations

from agent.guarding import fit_to_policy
from policies.actions import CreateCoupon, SetBid, SetBudget
from policies.guard import check
from tests.policies.test_guard import POLICY, STATE, T0


def test_a_bid_over_the_daily_change_limit_comes_back_as_the_largest_allowed_saying_why() -> None:
    asked = SetBid(sku="S1", bid=9.0, rationale="chase stage 2", rationale_zh="追二阶段")  # morning bid 2.0
    (fitted,) = fit_to_policy([asked], POLICY, STATE)
    assert isinstance(fitted, SetBid) and fitted.bid == 3.0  # max change 50% a day
    assert fitted.rationale.startswith("chase stage 2 — kept inside your limits: spend.max_bid 5: asked 9")
    assert fitted.rationale_zh is not None and fitted.rationale_zh.startswith("追二阶段——已按你的限额调整：")
    assert not check(fitted, POLICY, STATE).denied


def test_what_the_limits_allow_is_untouched_and_what_has_no_alternative_stays_as_asked() -> None:
    fine = SetBudget(sku="S1", budget=110.0, rationale="a little more")
    # no coupon type is allowed at all: nothing nearer to offer, so the guard denies it as asked
    policy = POLICY.revise({"discount": {"allowed_types": []}}, by="owner", at=T0)
    no_room = CreateCoupon(type="threshold", value=5, threshold=60, sku="S2", quantity=10, rationale="lift basket")
    assert fit_to_policy([fine, no_room], policy, STATE) == [fine, no_room]
    assert check(no_room, policy, STATE).denied


def test_each_fitted_action_counts_toward_the_next_ones_caps() -> None:
    # Two budget raises the autonomy rules let run alone (+20%), each inside the shop's daily cap alone but not both:
    # the guard counts every active campaign at 1.25 × its budget, 250 now, 275 after either, 300 after both.
    policy = POLICY.revise({"spend": {"daily_cap": 290.0}}, by="owner", at=T0)
    asked = [SetBudget(sku=sku, budget=120.0, rationale="more") for sku in ("S1", "S2")]
    assert all(check(a, policy, STATE).allowed for a in asked)
    first, second = fit_to_policy(asked, policy, STATE)
    assert first == asked[0]
    assert isinstance(second, SetBudget) and second.budget == 290 / 1.25 - 120  # what S1's new budget leaves
    assert second.rationale.startswith("more — kept inside your limits: spend.daily_cap 290")
