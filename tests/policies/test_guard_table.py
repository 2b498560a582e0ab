"""Every limit at, just under and just over its boundary, with the message the owner reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from policies.actions import (
    Action,
    CreateCoupon,
    ExpectedEffect,
    SetBid,
    SetBudget,
    SetCampaignMode,
)
from policies.guard import Decision, check
from policies.limits import Policy
from policies.state import CampaignState, CouponState, EventState, ProductState, ShopState

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ALLOW, ASK, DENY = Decision.ALLOW, Decision.NEEDS_APPROVAL, Decision.DENY

# S1: price 100, margin 40 → at a 10% floor at most 30 of ad cost per order (min ROI 3.33).
# S2: price 50, m(p) = 0.9p − 24 → margin-floor price 24 / 0.8 = 30.
STATE = ShopState(
    today=date(2026, 3, 16),  # a Monday: 16 days left in March, 7 in the ISO week
    day=14,
    products={
        "S1": ProductState(price=100, cost=50, commission=0.05, shipping=5),
        "S2": ProductState(price=50, cost=20, commission=0.10, shipping=4),
    },
    campaigns={
        "cmp-S1": CampaignState(sku="S1", bid=2.0, budget=100),
        "cmp-S2": CampaignState(sku="S2", bid=1.0, budget=330),
    },
    coupons={"c-old": CouponState(type="threshold", value=5, threshold=60, sku="S2", start_day=10, end_day=40,
                                  remaining=100, daily_limit=10)},  # 50 a day, 350 a week
    events=(EventState(name="Spring sale", start_day=20, end_day=22, entry_ratio=0.75, skus=("S2",)),),
    daily_overdelivery=1.0,  # round numbers here; the 1.25 default has its own test
)
POLICY = Policy.model_validate({
    "spend": {"daily_cap": 500, "monthly_cap": 100_000, "sku_daily_budget_cap": 400, "max_bid": 5,
              "max_bid_change_pct": 200},
    "discount": {"max_discount_pct": 20, "max_face_value": 20, "daily_budget": 200, "weekly_budget": 1000,
                 "allowed_types": ["threshold", "percent", "no_threshold", "share"],
                 "lowest_price_floor": {"S2": 45}},
    "autonomy": {"rules": {kind: {"mode": "auto"} for kind in (
        "set_bid", "set_budget", "set_campaign_status", "set_campaign_mode", "create_coupon", "stop_coupon")}},
})


@dataclass
class Row:
    action: Action
    decision: Decision
    key: str
    message: str = ""
    policy: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


def bid(value: float, cpo: float = 10.0) -> SetBid:
    return SetBid(sku="S1", bid=value, expected=ExpectedEffect(cost_per_order=cpo))


def budget(value: float, sku: str = "S1") -> SetBudget:
    return SetBudget(sku=sku, budget=value)


def coupon(type: str, value: float, sku: str = "S1", **kw: Any) -> CreateCoupon:
    kw.setdefault("quantity", 5)
    return CreateCoupon(type=type, value=value, sku=sku, **kw)


AUTO = "autonomy.rules/auto_any"
WIDE_FACE = {"discount": {"max_face_value": 50}}
EVENT = {"discount": {"lowest_price_floor": {"S2": None}, "lowest_price_floor_ratio": 0.5, "max_discount_pct": 50}}
ROWS: dict[str, Row] = {
    # spend.max_bid 5
    "max_bid_under": Row(bid(4.99), ALLOW, AUTO),
    "max_bid_at": Row(bid(5.0), ALLOW, AUTO),
    "max_bid_over": Row(bid(5.01), DENY, "spend.max_bid", "spend.max_bid 5: asked 5.01 per click (cmp-S1)"),
    # spend.max_bid_change_pct 50, from 2.0 this morning
    "bid_change_up_under": Row(bid(2.99), ALLOW, AUTO, policy={"spend": {"max_bid_change_pct": 50}}),
    "bid_change_up_at": Row(bid(3.0), ALLOW, AUTO, policy={"spend": {"max_bid_change_pct": 50}}),
    "bid_change_up_over": Row(
        bid(3.01), DENY, "spend.max_bid_change_pct",
        "spend.max_bid_change_pct 50%: 2 at the start of today to 3.01 is a 50.5% change (cmp-S1)",
        policy={"spend": {"max_bid_change_pct": 50}}),
    "bid_change_down_at": Row(bid(1.0), ALLOW, AUTO, policy={"spend": {"max_bid_change_pct": 50}}),
    "bid_change_down_over": Row(
        bid(0.99), DENY, "spend.max_bid_change_pct",
        "spend.max_bid_change_pct 50%: 2 at the start of today to 0.99 is a 50.5% change (cmp-S1)",
        policy={"spend": {"max_bid_change_pct": 50}}),
    # profit.min_net_margin 10%: at most 30 of ad cost per order on S1
    "margin_under": Row(bid(3.0, cpo=29.99), ALLOW, AUTO),
    "margin_at": Row(bid(3.0, cpo=30.0), ALLOW, AUTO),
    "margin_over": Row(
        bid(3.0, cpo=30.01), DENY, "profit.min_net_margin",
        "profit.min_net_margin 10%: net margin 9.99% at bid 3 (price 100, ad cost 30.01 per order); "
        "at most 30 per order keeps the floor, min ROI 3.33 (cmp-S1)"),
    # spend.min_roi 4 (stricter than the 3.33 the floor derives): at most 25 per order
    "min_roi_under": Row(bid(3.0, cpo=24.99), ALLOW, AUTO, policy={"spend": {"min_roi": 4}}),
    "min_roi_at": Row(bid(3.0, cpo=25.0), ALLOW, AUTO, policy={"spend": {"min_roi": 4}}),
    "min_roi_over": Row(
        bid(3.0, cpo=25.1), DENY, "spend.min_roi",
        "spend.min_roi 4: ROI 3.98 at bid 3 (ad cost 25.1 per order on price 100); at most 25 per order (cmp-S1)",
        policy={"spend": {"min_roi": 4}}),
    # whole-site target ROI against the derived min ROI 100 / 30
    "target_roi_at": Row(SetCampaignMode(sku="S1", mode="whole_site", target_roi=100 / 30), ALLOW, AUTO),
    "target_roi_over": Row(
        SetCampaignMode(sku="S1", mode="whole_site", target_roi=3.33), DENY, "profit.min_net_margin/target_roi",
        "profit.min_net_margin 10%: target ROI 3.33 leaves a net margin of 9.97% at price 100; min ROI 3.33 (cmp-S1)"),
    # spend.sku_daily_budget_cap 400 (shop cap lifted out of the way)
    "sku_budget_under": Row(budget(399.99), ALLOW, AUTO, policy={"spend": {"daily_cap": 2000}}),
    "sku_budget_at": Row(budget(400), ALLOW, AUTO, policy={"spend": {"daily_cap": 2000}}),
    "sku_budget_over": Row(
        budget(400.01), DENY, "spend.sku_daily_budget_cap",
        "spend.sku_daily_budget_cap 400: asked a daily budget of 400.01 (cmp-S1)",
        policy={"spend": {"daily_cap": 2000}}),
    # spend.daily_cap 500 with 430 of budgets active
    "daily_cap_under": Row(budget(169.99), ALLOW, AUTO),
    "daily_cap_at": Row(budget(170), ALLOW, AUTO),
    "daily_cap_over": Row(
        budget(170.01), DENY, "spend.daily_cap",
        "spend.daily_cap 500: 430 already committed + 70.01 asked = 500.01 (worst case: daily budgets × 1)"),
    # spend.monthly_cap 15000, this month: 7320 billed + 16 days × 430 = 14200 committed
    "month_under": Row(budget(149.99), ALLOW, AUTO, policy={"spend": {"monthly_cap": 15000}},
                       state={"month_ad_spend": 7320}),
    "month_at": Row(budget(150), ALLOW, AUTO, policy={"spend": {"monthly_cap": 15000}},
                    state={"month_ad_spend": 7320}),
    "month_over": Row(
        budget(150.01), DENY, "spend.monthly_cap/this_month",
        "spend.monthly_cap 15,000: 14,200 already committed + 800.16 asked = 15,000.16 this month "
        "(worst case: 7,320 billed + 16 days at the budgets × 1)",
        policy={"spend": {"monthly_cap": 15000}}, state={"month_ad_spend": 7320}),
    # spend.monthly_cap 14592 = 30.4 × 480: budgets standing into a full month
    "full_month_at": Row(budget(150), ALLOW, AUTO, policy={"spend": {"monthly_cap": 14592}}),
    "full_month_over": Row(
        budget(150.01), DENY, "spend.monthly_cap/full_month",
        "spend.monthly_cap 14,592: daily budgets of 480.01 can bill 14,592.3 in a full month (× 30.4 days)",
        policy={"spend": {"monthly_cap": 14592}}),
    # discount.allowed_types
    "type_not_allowed": Row(
        coupon("follow", 5), DENY, "discount.allowed_types",
        "discount.allowed_types: follow coupons are not allowed (allowed: threshold, percent, no_threshold, share)"),
    # discount.max_face_value 20 (and 20% of 100)
    "face_under": Row(coupon("no_threshold", 19.99), ALLOW, AUTO),
    "face_at": Row(coupon("no_threshold", 20), ALLOW, AUTO),
    "face_over": Row(coupon("no_threshold", 20.01), DENY, "discount.max_face_value",
                     "discount.max_face_value 20: asked a face value of 20.01 (S1)"),
    # discount.max_discount_pct 20
    "pct_under": Row(coupon("percent", 19.99), ALLOW, AUTO),
    "pct_at": Row(coupon("percent", 20), ALLOW, AUTO),
    "pct_over": Row(coupon("percent", 20.01), DENY, "discount.max_discount_pct",
                    "discount.max_discount_pct 20%: the coupon takes 20.01% off price 100 (S1)"),
    "threshold_pct_at": Row(coupon("threshold", 30, threshold=150), ALLOW, AUTO, policy=WIDE_FACE),  # 20% of 150
    "threshold_pct_over": Row(coupon("threshold", 30.01, threshold=150), DENY, "discount.max_discount_pct",
                              policy=WIDE_FACE),
    # discount.lowest_price_floor 45 on S2 (list 50)
    "floor_under": Row(coupon("no_threshold", 4.99, sku="S2"), ALLOW, AUTO),
    "floor_at": Row(coupon("no_threshold", 5, sku="S2"), ALLOW, AUTO),
    "floor_over": Row(coupon("no_threshold", 5.01, sku="S2"), DENY, "discount.lowest_price_floor",
                      "discount.lowest_price_floor 45: the coupon sets a counted price of 44.99 (S2)"),
    "floor_share_uncounted": Row(coupon("share", 5.01, sku="S2"), ALLOW, AUTO),
    # profit floor after a coupon, with 17.25 of ad cost per order: the price paid must stay ≥ 85
    "coupon_margin_under": Row(coupon("no_threshold", 14.99, expected=ExpectedEffect(cost_per_order=17.25)),
                               ALLOW, AUTO),
    "coupon_margin_at": Row(coupon("no_threshold", 15, expected=ExpectedEffect(cost_per_order=17.25)), ALLOW, AUTO),
    "coupon_margin_over": Row(
        coupon("no_threshold", 15.01, expected=ExpectedEffect(cost_per_order=17.25)), DENY,
        "profit.min_net_margin/coupon",
        "profit.min_net_margin 10%: net margin 9.99% at the post-coupon price 84.99 with ad cost 17.25 per order (S1)"),
    # event entry: 0.75 × lowest must stay ≥ S2's margin-floor price 30, so the lowest ≥ 40
    "event_at": Row(coupon("no_threshold", 10, sku="S2"), ALLOW, AUTO, policy=EVENT),
    "event_over": Row(
        coupon("no_threshold", 10.01, sku="S2"), DENY, "profit.min_net_margin/event_entry",
        "profit.min_net_margin 10%: after this coupon the 30-day lowest price 39.99 sets the entry price of "
        "Spring sale at 29.99, below the margin-floor price 30 (S2)", policy=EVENT),
    "event_after_coupon_ends": Row(coupon("no_threshold", 10.01, sku="S2", start_day=14, end_day=14),
                                   DENY, "profit.min_net_margin/event_entry", policy=EVENT),
    "event_not_invited": Row(coupon("no_threshold", 10.01, sku="S1"), ALLOW, AUTO, policy=EVENT),
    # discount.daily_budget 200: 50 committed by c-old
    "coupon_day_under": Row(coupon("no_threshold", 9.99, daily_limit=15, quantity=60), ALLOW, AUTO),
    "coupon_day_at": Row(coupon("no_threshold", 10, daily_limit=15, quantity=60), ALLOW, AUTO),
    "coupon_day_over": Row(
        coupon("no_threshold", 10.01, daily_limit=15, quantity=60), DENY, "discount.daily_budget",
        "discount.daily_budget 200: 50 already committed + 150.15 asked = 200.15 (worst case a day)"),
    # discount.weekly_budget 1000: 300 billed + 350 of c-old for the rest of the week
    "coupon_week_at": Row(coupon("no_threshold", 10, daily_limit=5, quantity=35), ALLOW, AUTO,
                          state={"week_coupon_cost": 300}),
    "coupon_week_over": Row(
        coupon("no_threshold", 10.01, daily_limit=5, quantity=35), DENY, "discount.weekly_budget/this_week",
        "discount.weekly_budget 1,000: 650 already committed + 350.35 asked = 1,000.35 this week "
        "(worst case, 300 of it billed)", state={"week_coupon_cost": 300}),
    # discount.weekly_budget 1000 in a later week: c-old's 350 + the new coupon's
    "later_week_at": Row(coupon("no_threshold", 10, daily_limit=10, quantity=65, start_day=21, end_day=27),
                         ALLOW, AUTO),
    "later_week_over": Row(
        coupon("no_threshold", 10.01, daily_limit=10, quantity=65, start_day=21, end_day=27), DENY,
        "discount.weekly_budget/later_week",
        "discount.weekly_budget 1,000: 350 already committed + 650.65 asked = 1,000.65 in a later week (worst case)"),
}


@pytest.mark.parametrize("name", ROWS)
def test_guard_limit_boundary(name: str) -> None:
    row = ROWS[name]
    policy = POLICY.revise(row.policy, by="test", at=T0) if row.policy else POLICY
    state = STATE.model_copy(update=row.state) if row.state else STATE
    verdict = check(row.action, policy, state)
    assert (verdict.decision, verdict.key) == (row.decision, row.key), verdict.message
    if row.message:
        assert verdict.message == row.message
    assert verdict.text("zh-CN")  # every verdict also reads in Chinese


def test_guard_autonomy_threshold_boundary() -> None:
    policy = POLICY.revise({"autonomy": {"rules": {"set_bid": {"mode": "auto", "max_change_pct": 10}}}},
                           by="test", at=T0)
    assert check(bid(2.19), policy, STATE).decision is ALLOW
    assert check(bid(2.2), policy, STATE).decision is ALLOW
    verdict = check(bid(2.21), policy, STATE)
    assert verdict.decision is ASK
    assert verdict.message == "autonomy.rules.set_bid 10%: change 10.5% today is above the auto threshold (cmp-S1)"
    assert verdict.text("zh-CN") == ("autonomy.rules.set_bid 10%：「调整出价」今日累计变动 10.5% 超过自动执行上限，"
                                     "需店主批准（cmp-S1）")
