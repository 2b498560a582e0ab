"""Typed actions: one union keyed by `kind`, validated like the platform validates its writes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.scenario import CouponSpec
from policies.actions import CreateCoupon, SetBid, SetCampaignMode, StopCoupon, parse_action
from policies.domain import ActionKind, Segment


def test_parse_action_picks_the_type_by_kind() -> None:
    action = parse_action({"kind": "set_bid", "sku": "S1", "bid": 1.5, "current_bid": 1.2,
                           "rationale": "stage 2 starts", "expected": {"cost_per_order": 9.5, "roi": 4.2}})
    assert isinstance(action, SetBid)
    assert action.campaign_id == "cmp-S1" and action.target == "cmp-S1"
    assert action.expected.cost_per_order == 9.5
    assert isinstance(parse_action({"kind": "stop_coupon", "coupon_id": "c-1"}), StopCoupon)


@pytest.mark.parametrize("data", [
    {"kind": "set_price", "sku": "S1"},
    {"kind": "set_bid", "sku": "S1", "bid": -1},
    {"kind": "set_bid", "sku": "S1", "bid": float("nan")},
    {"kind": "set_bid", "sku": "S1", "bid": 1, "shop_id": "other"},
    {"kind": "set_campaign_mode", "sku": "S1", "mode": "whole_site"},
    {"kind": "set_campaign_mode", "sku": "S1", "mode": "search", "target_roi": 3},
    {"kind": "create_coupon", "type": "percent", "value": 100},
    {"kind": "create_coupon", "type": "threshold", "value": 10, "threshold": 10},
    {"kind": "create_coupon", "type": "no_threshold", "value": 5, "start_day": 9, "end_day": 3},
    {"kind": "create_coupon", "type": "no_threshold", "value": 5, "segments": []},
])
def test_parse_action_rejects_what_the_platform_would(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_action(data)


def test_actions_are_frozen() -> None:
    action = SetBid(sku="S1", bid=1.0)
    with pytest.raises(ValidationError):
        action.bid = 9.0  # type: ignore[misc]


def test_create_coupon_body_is_the_platform_coupon() -> None:
    action = CreateCoupon(type="threshold", value=10, threshold=99, sku="S1", segments=(Segment.PRICE_SENSITIVE,),
                          start_day=3, end_day=12, quantity=200, per_user_limit=1, daily_limit=30,
                          rationale="lift the basket")
    spec = CouponSpec.model_validate(action.platform_body())
    assert spec.value == 10 and spec.segments == [Segment.PRICE_SENSITIVE] and spec.daily_limit == 30
    assert action.daily_uses == 30 and action.kind is ActionKind.CREATE_COUPON


def test_mode_action_carries_the_target_roi() -> None:
    action = SetCampaignMode(sku="S1", mode="whole_site", target_roi=4.5, current_mode="search")
    assert action.target_roi == 4.5 and action.campaign_id == "cmp-S1"
