"""The ledger: worst-case commitments opened on a snapshot and carried through committed actions."""

from __future__ import annotations

from datetime import date

import pytest

from policies.actions import CreateCoupon, SetBid, SetBudget, SetCampaignMode, SetCampaignStatus, StopCoupon
from policies.domain import ActionKind, CampaignMode, CampaignStatus
from policies.ledger import Ledger
from policies.state import CampaignState, CouponState, ProductState, ShopState

STATE = ShopState(
    today=date(2026, 3, 18),  # a Wednesday: 14 days left in March, 5 in the ISO week (days 14..18)
    day=14,
    products={"A": ProductState(price=40, cost=20), "B": ProductState(price=120, cost=60)},
    campaigns={
        "cmp-A": CampaignState(sku="A", bid=1.0, budget=100),
        "cmp-B": CampaignState(sku="B", bid=2.0, budget=50, status="paused"),
    },
    coupons={
        "live": CouponState(type="no_threshold", value=4, sku="A", start_day=10, end_day=30, remaining=100,
                            daily_limit=10),
        "later": CouponState(type="percent", value=10, sku=None, start_day=16, end_day=16, remaining=5),
    },
    month_ad_spend=1000,
)


def test_ledger_open_counts_active_budgets_with_overdelivery() -> None:
    ledger = Ledger.open(STATE)
    assert ledger.peak_budgets == 100 and ledger.active_budgets == 100
    assert ledger.ad_spend_today == 125  # 100 × 1.25
    assert ledger.ad_spend_month == 1000 + 125 + 13 * 125
    assert ledger.ad_spend_full_month == pytest.approx(3040)


def test_ledger_open_prices_coupons_at_their_worst() -> None:
    ledger = Ledger.open(STATE)
    live, later = ledger.coupons["live"], ledger.coupons["later"]
    assert (live.per_use, live.daily, live.week, live.later_week) == (4, 40, 200, 280)  # 10 a day; 5 and 7 days
    assert later.per_use == 12  # 10% of the dearest SKU it covers (B at 120)
    assert (later.daily, later.week, later.later_week) == (60, 60, 0)  # 5 coupons, one day this week
    assert ledger.coupon_daily == 100 and ledger.coupon_week == 260


def test_ledger_keeps_todays_peak_when_a_budget_falls() -> None:
    ledger = Ledger.open(STATE).commit(SetBudget(sku="A", budget=200)).commit(SetBudget(sku="A", budget=50))
    assert ledger.campaigns["cmp-A"].budget == 50
    assert ledger.peak_budgets == 200  # the morning at 200 may already have spent
    assert ledger.active_budgets == 50


def test_ledger_counts_a_restarted_campaign() -> None:
    ledger = Ledger.open(STATE).commit(SetCampaignStatus(sku="B", status="active"))
    assert ledger.peak_budgets == 150 and ledger.active_budgets == 150
    paused = ledger.commit(SetCampaignStatus(sku="B", status="paused"))
    assert paused.peak_budgets == 150 and paused.active_budgets == 100
    assert paused.campaigns["cmp-B"].status is CampaignStatus.PAUSED


def test_ledger_records_bid_and_mode() -> None:
    ledger = Ledger.open(STATE).commit(SetBid(sku="A", bid=1.2))
    ledger = ledger.commit(SetCampaignMode(sku="A", mode="whole_site", target_roi=4))
    camp = ledger.campaigns["cmp-A"]
    assert (camp.bid, camp.mode, camp.target_roi) == (1.2, CampaignMode.WHOLE_SITE, 4)
    assert ledger.count(ActionKind.SET_BID) == 1 and len(ledger.committed) == 2


def test_ledger_commit_returns_a_new_ledger() -> None:
    before = Ledger.open(STATE)
    after = before.commit(SetBudget(sku="A", budget=150))
    assert before.campaigns["cmp-A"].budget == 100 and before.committed == ()
    assert after.campaigns["cmp-A"].budget == 150


def test_ledger_adds_and_stops_new_coupons() -> None:
    coupon = CreateCoupon(type="threshold", value=10, threshold=100, sku="B", start_day=14, end_day=27,
                          quantity=30, daily_limit=5)
    ledger = Ledger.open(STATE).commit(coupon)
    assert ledger.coupon_daily == 150  # + 10 × 5
    assert ledger.coupon_week == 260 + 250  # 5 days × 5 a day
    ledger = ledger.commit(StopCoupon(coupon_id="pending-1"))
    assert ledger.coupon_daily == 150 and ledger.coupon_week == 260 + 50  # today stays spent


def test_ledger_stopping_a_scheduled_coupon_frees_it_entirely() -> None:
    ledger = Ledger.open(STATE).commit(StopCoupon(coupon_id="later"))
    assert ledger.coupon_daily == 40 and ledger.coupon_week == 200


def test_ledger_refuses_impossible_commits() -> None:
    with pytest.raises(ValueError, match="unknown campaign"):
        Ledger.open(STATE).commit(SetBid(sku="Z", bid=1.0))
    with pytest.raises(ValueError, match="not live"):
        Ledger.open(STATE).commit(StopCoupon(coupon_id="nope"))
