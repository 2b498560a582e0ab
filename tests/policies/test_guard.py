"""The guard's behaviour beyond single boundaries: approval, cumulation, alternatives, targets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from policies.actions import (
    CreateCoupon,
    ExpectedEffect,
    SetBid,
    SetBudget,
    SetCampaignMode,
    SetCampaignStatus,
    StopCoupon,
)
from policies.guard import Approval, Decision, approval_deadline, change_pct, check, message
from policies.ledger import Ledger
from policies.limits import Policy
from policies.state import CampaignState, CouponState, ProductState, ShopState

T0 = datetime(2026, 3, 16, 9, tzinfo=UTC)
STATE = ShopState(
    today=date(2026, 3, 16),
    day=14,
    products={
        "S1": ProductState(price=100, cost=50, commission=0.05, shipping=5, ad_cost_per_order=10),
        "S2": ProductState(price=50, cost=20, commission=0.10, shipping=4),
        "S3": ProductState(price=80, cost=40, commission=0.05, shipping=4),
    },
    campaigns={
        "cmp-S1": CampaignState(sku="S1", bid=2.0, budget=100),
        "cmp-S2": CampaignState(sku="S2", bid=1.0, budget=100),
        "cmp-S3": CampaignState(sku="S3", bid=1.0, budget=150, status="paused"),
    },
    coupons={"c-1": CouponState(type="no_threshold", value=5, sku="S2", start_day=10, end_day=20, remaining=40,
                                daily_limit=10)},
)
POLICY = Policy()  # the shipped defaults: daily cap 500, bid auto up to 10%, coupons need approval


def test_guard_kill_switch_denies_everything() -> None:
    policy = POLICY.revise({"autonomy": {"kill_switch": True}}, by="owner", at=T0)
    for action in (SetBid(sku="S1", bid=2.0), StopCoupon(coupon_id="c-1"),
                   SetCampaignStatus(sku="S1", status="paused")):
        verdict = check(action, policy, STATE)
        assert verdict.denied and verdict.limit == "autonomy.kill_switch"
        approved = check(action, policy, STATE, approval=Approval(T0, T0 + timedelta(hours=1)))
        assert approved.denied


def test_guard_approval_turns_needs_approval_into_allow() -> None:
    action = SetBid(sku="S1", bid=2.6)  # 30% over the morning's bid; auto runs up to 10%
    assert check(action, POLICY, STATE).decision is Decision.NEEDS_APPROVAL
    verdict = check(action, POLICY, STATE, approval=Approval(T0, T0 + timedelta(hours=23), by="Amei"))
    assert verdict.allowed and verdict.key == "autonomy.rules/approved"
    assert verdict.message == "autonomy.rules.set_bid: approved by Amei (cmp-S1)"


def test_guard_denies_approval_after_expiry() -> None:
    action = SetBid(sku="S1", bid=2.6)
    assert approval_deadline(POLICY, T0) == T0 + timedelta(hours=24)
    on_time = check(action, POLICY, STATE, approval=Approval(T0, T0 + timedelta(hours=24)))
    late = check(action, POLICY, STATE, approval=Approval(T0, T0 + timedelta(hours=24, seconds=1)))
    assert on_time.allowed
    assert late.denied and late.limit == "autonomy.approval_expiry_hours"
    assert late.message.startswith("autonomy.approval_expiry_hours 24: approved 24 h after")


def test_guard_approval_never_lifts_a_hard_limit() -> None:
    action = SetBid(sku="S1", bid=9.0)
    verdict = check(action, POLICY, STATE, approval=Approval(T0, T0))
    assert verdict.denied and verdict.limit == "spend.max_bid"


def test_guard_asks_owner_when_bid_cost_per_order_is_unknown() -> None:
    verdict = check(SetBid(sku="S2", bid=1.05), POLICY, STATE)  # no observed or expected cost per order
    assert verdict.decision is Decision.NEEDS_APPROVAL and verdict.key == "profit.min_net_margin/unverified"
    lower = check(SetBid(sku="S2", bid=0.95), POLICY, STATE)
    assert lower.allowed  # a lower bid never needs the margin check


def test_guard_scales_observed_cost_per_order_with_the_bid() -> None:
    # S1 costs 10 per order at the morning's bid 2.0, so 15 at 3.0; a 26% floor leaves room for 14.
    policy = POLICY.revise({"profit": {"min_net_margin": 0.26}, "spend": {"max_bid_change_pct": 100}},
                           by="owner", at=T0)  # most cost per order: 40 − 26 = 14
    verdict = check(SetBid(sku="S1", bid=3.0), policy, STATE)
    assert verdict.denied and verdict.limit == "profit.min_net_margin"
    assert verdict.numbers["cost_per_order"] == pytest.approx(15.0)
    assert isinstance(verdict.alternative, SetBid) and verdict.alternative.bid == 2.8  # 14 / 10 × 2.0


def test_guard_counts_small_steps_toward_the_daily_cap() -> None:
    policy = POLICY.revise({"spend": {"monthly_cap": 20000, "sku_daily_budget_cap": 250},
                            "autonomy": {"rules": {"set_budget": {"max_change_pct": None}}}}, by="owner", at=T0)
    ledger = Ledger.open(STATE)
    allowed = []
    for b in range(110, 400, 10):
        action = SetBudget(sku="S1", budget=b)
        if check(action, policy, STATE, ledger).allowed:
            ledger = ledger.commit(action)
            allowed.append(b)
    assert max(allowed) == 250  # the per-SKU cap binds before the shop's (500 / 1.25 − 100 = 300)
    assert ledger.ad_spend_today == 437.5
    assert check(SetBudget(sku="S2", budget=150), policy, STATE, ledger).allowed  # exactly 500
    verdict = check(SetBudget(sku="S2", budget=151), policy, STATE, ledger)
    assert verdict.denied and verdict.limit == "spend.daily_cap"
    assert verdict.message == ("spend.daily_cap 500: 437.5 already committed + 63.75 asked = 501.25 (worst case: "
                               "daily budgets × 1.25)")


def test_guard_counts_bid_steps_against_the_morning() -> None:
    ledger = Ledger.open(STATE)
    for b in (2.1, 2.2):
        action = SetBid(sku="S1", bid=b)
        assert check(action, POLICY, STATE, ledger).allowed
        ledger = ledger.commit(action)
    verdict = check(SetBid(sku="S1", bid=2.3), POLICY, STATE, ledger)  # 15% above the morning's 2.0
    assert verdict.decision is Decision.NEEDS_APPROVAL and verdict.rule == "max_change_pct"
    assert change_pct(SetBid(sku="S1", bid=2.3), ledger) == pytest.approx(15.0)


def test_guard_checks_a_restart_against_the_caps() -> None:
    policy = POLICY.revise({"spend": {"daily_cap": 400}}, by="owner", at=T0)
    verdict = check(SetCampaignStatus(sku="S3", status="active"), policy, STATE)
    assert verdict.denied and verdict.limit == "spend.daily_cap"  # (100 + 100 + 150) × 1.25 = 437.5
    assert check(SetCampaignStatus(sku="S1", status="paused"), policy, STATE).decision is Decision.NEEDS_APPROVAL


def test_guard_lets_spend_fall_when_already_over_a_cap() -> None:
    policy = POLICY.revise({"spend": {"daily_cap": 100, "sku_daily_budget_cap": 50}}, by="owner", at=T0)
    assert check(SetBudget(sku="S1", budget=80), policy, STATE).decision is not Decision.DENY
    assert check(SetBid(sku="S1", bid=1.9), policy, STATE).allowed
    assert check(SetBudget(sku="S1", budget=101), policy, STATE).denied


def test_guard_budget_alternative_is_the_largest_allowed() -> None:
    policy = POLICY.revise({"spend": {"sku_daily_budget_cap": 400}}, by="owner", at=T0)
    verdict = check(SetBudget(sku="S1", budget=299), policy, STATE)
    assert verdict.denied and verdict.key == "spend.monthly_cap/full_month"  # 30.4 × 399 > 12000
    alt = verdict.alternative
    assert isinstance(alt, SetBudget) and alt.budget == 294.73  # 12000 / 30.4 − 100
    assert check(alt, policy, STATE).decision is not Decision.DENY
    assert check(alt.model_copy(update={"budget": alt.budget + 0.01}), policy, STATE).denied


def test_guard_never_changes_the_action() -> None:
    action = SetBid(sku="S1", bid=9.0, rationale="chase stage 2")
    verdict = check(action, POLICY, STATE)
    assert verdict.denied and isinstance(verdict.alternative, SetBid)
    assert action.bid == 9.0 and verdict.alternative.bid == 3.0  # max change 50% from 2.0
    assert verdict.alternative.rationale == "chase stage 2"


def test_guard_target_roi_alternative_meets_min_roi() -> None:
    verdict = check(SetCampaignMode(sku="S1", mode="whole_site", target_roi=2.0), POLICY, STATE)
    assert verdict.denied
    assert isinstance(verdict.alternative, SetCampaignMode) and verdict.alternative.target_roi == 3.34


def test_guard_coupon_alternative_fits_every_limit() -> None:
    action = CreateCoupon(type="percent", value=40, sku="S1", quantity=500)
    verdict = check(action, POLICY, STATE)
    assert verdict.denied and verdict.limit == "discount.max_discount_pct"
    alt = verdict.alternative
    assert isinstance(alt, CreateCoupon) and alt.value <= 20
    assert check(alt, POLICY, STATE).decision is Decision.NEEDS_APPROVAL  # coupons ask the owner by default


@pytest.mark.parametrize(("value", "alternative"), [(15, 13.0), (14.5, 13.4)])
def test_guard_coupon_alternative_keeps_whole_yuan_when_asked_in_whole_yuan(value: float, alternative: float) -> None:
    # 20% of the ¥67 threshold is ¥13.40: a coupon asked as "满67减15" comes back as 减13, one asked in cents in cents
    action = CreateCoupon(type="threshold", value=value, threshold=67, sku="S2", quantity=5, daily_limit=1)
    verdict = check(action, POLICY, STATE)
    assert verdict.denied and verdict.limit == "discount.max_discount_pct"
    alt = verdict.alternative
    assert isinstance(alt, CreateCoupon) and alt.value == alternative
    assert not check(alt, POLICY, STATE).denied


def test_guard_stopping_a_coupon_frees_later_days_not_today() -> None:
    ledger = Ledger.open(STATE)
    before = (ledger.coupon_daily, ledger.coupon_week)
    ledger = ledger.commit(StopCoupon(coupon_id="c-1"))
    assert ledger.coupon_daily == before[0] == 50
    assert ledger.coupon_week == 50 < before[1]
    assert check(StopCoupon(coupon_id="c-1"), POLICY, STATE, ledger).key == "action.target/unknown_coupon"


def test_guard_denies_unknown_targets() -> None:
    assert check(SetBid(sku="S9", bid=1.0), POLICY, STATE).key == "action.target/unknown_campaign"
    assert check(SetBid(sku="S1", campaign_id="cmp-S2", bid=1.0), POLICY, STATE).key == (
        "action.target/unknown_campaign")
    assert check(CreateCoupon(type="threshold", value=5, threshold=50, sku="S9"), POLICY, STATE).key == (
        "action.target/unknown_sku")
    assert check(StopCoupon(coupon_id="nope"), POLICY, STATE).key == "action.target/unknown_coupon"


def test_guard_denies_a_bid_on_a_whole_site_campaign() -> None:
    state = STATE.model_copy(update={"campaigns": {**STATE.campaigns, "cmp-S1": CampaignState(
        sku="S1", mode="whole_site", target_roi=4, budget=100)}})
    assert check(SetBid(sku="S1", bid=1.0), POLICY, state).key == "action.target/wrong_mode"
    raising_roi = SetCampaignMode(sku="S1", mode="whole_site", target_roi=5)
    assert check(raising_roi, POLICY, state).decision is Decision.NEEDS_APPROVAL


def test_guard_uses_the_deepest_live_coupon_for_ad_margins() -> None:
    # c-1 takes 5 off S2's 50: ads are judged at 45 → margin 0.9·45 − 24 = 16.5, floor 4.5 → at most 12
    at = SetBid(sku="S2", bid=1.05, expected=ExpectedEffect(cost_per_order=12.0))
    over = SetBid(sku="S2", bid=1.05, expected=ExpectedEffect(cost_per_order=12.01))
    assert check(at, POLICY, STATE).allowed
    assert check(over, POLICY, STATE).limit == "profit.min_net_margin"


def test_guard_is_deterministic() -> None:
    action = CreateCoupon(type="threshold", value=10, threshold=120, sku="S1", quantity=50)
    first = check(action, POLICY, STATE)
    assert all(check(action, POLICY, STATE) == first for _ in range(5))


def test_guard_rejects_a_ledger_from_another_state() -> None:
    other = STATE.model_copy(update={"day": 15})
    with pytest.raises(ValueError, match="different shop state"):
        check(SetBid(sku="S1", bid=2.0), POLICY, STATE, Ledger.open(other))


def test_guard_messages_exist_in_both_locales() -> None:
    verdict = check(SetBid(sku="S1", bid=9.0), POLICY, STATE)
    assert message(verdict) == "spend.max_bid 5: asked 9 per click (cmp-S1)"
    assert message(verdict, "zh-CN") == "spend.max_bid 单次点击出价上限 5：本次出价 9（cmp-S1）"
    assert message(verdict, "fr") == message(verdict)
