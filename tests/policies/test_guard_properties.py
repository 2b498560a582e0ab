"""Properties over random policies, shops and action sequences: no sequence of allowed or approved
actions ever passes a cap or a floor; a deny survives approval; the same question gets the same answer.

The worst cases are recomputed here from the committed actions, independently of the ledger's
running totals, so a slip in either the guard or the ledger shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.actions import (
    Action,
    CreateCoupon,
    ExpectedEffect,
    SetBid,
    SetBudget,
    SetCampaignMode,
    SetCampaignStatus,
    StopCoupon,
)
from policies.domain import ActionKind, CampaignMode, CampaignStatus, CouponType
from policies.economics import coupon_discount_share, max_cost_per_order, min_roi_at_floor
from policies.guard import Approval, check
from policies.ledger import Ledger
from policies.limits import AutonomyRule, Policy
from policies.state import CampaignState, CouponState, EventState, ProductState, ShopState

T0 = datetime(2026, 3, 1, tzinfo=UTC)
APPROVAL = Approval(T0, T0 + timedelta(hours=1))
TOL = 1e-5


def _f(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    daily = draw(_f(50, 2000))
    daily_coupons = draw(_f(0, 500))
    rules = {kind: AutonomyRule(mode=draw(st.sampled_from(["auto", "approval"])),
                                max_change_pct=draw(st.none() | _f(0, 100))) for kind in ActionKind}
    return Policy.model_validate({
        "spend": {"daily_cap": daily, "monthly_cap": round(daily * draw(_f(1, 40)), 2),
                  "sku_daily_budget_cap": max(1.0, round(daily * draw(_f(0.05, 1)), 2)),
                  "max_bid": draw(_f(0.5, 10)), "max_bid_change_pct": draw(_f(5, 200)),
                  "min_roi": draw(st.none() | _f(1, 8))},
        "discount": {"max_discount_pct": draw(_f(0, 60)), "max_face_value": draw(_f(0, 50)),
                     "daily_budget": daily_coupons, "weekly_budget": round(daily_coupons * draw(_f(1, 7)), 2),
                     "allowed_types": draw(st.lists(st.sampled_from(list(CouponType)), unique=True)),
                     "lowest_price_floor_ratio": draw(_f(0.4, 1))},
        "profit": {"min_net_margin": draw(_f(0, 0.4))},
        "autonomy": {"rules": rules, "kill_switch": draw(st.integers(0, 15)) == 0},
    })


@st.composite
def products(draw: st.DrawFn) -> ProductState:
    price = draw(_f(5, 300))
    return ProductState(
        price=price, cost=round(price * draw(_f(0.1, 0.8)), 2), commission=draw(_f(0, 0.15)),
        shipping=round(price * draw(_f(0, 0.1)), 2), lowest_price_30d=round(price * draw(_f(0.6, 1)), 2),
        ad_cost_per_order=draw(st.none() | _f(0, price / 2)),
    )


@st.composite
def states(draw: st.DrawFn) -> ShopState:
    skus = [f"S{i}" for i in range(draw(st.integers(1, 4)))]
    prods = {sku: draw(products()) for sku in skus}
    day = draw(st.integers(0, 300))
    campaigns = {}
    for sku in draw(st.lists(st.sampled_from(skus), unique=True)):
        mode = draw(st.sampled_from(list(CampaignMode)))
        campaigns[f"cmp-{sku}"] = CampaignState(
            sku=sku, mode=mode, status=draw(st.sampled_from(list(CampaignStatus))), bid=draw(_f(0, 8)),
            budget=draw(_f(0, 400)), target_roi=draw(_f(1, 10)) if mode is CampaignMode.WHOLE_SITE else None)
    coupons = {}
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(list(CouponType)))
        start = day + draw(st.integers(-10, 5))
        coupons[f"c{i}"] = CouponState(
            type=kind, value=draw(_f(1, 60 if kind is CouponType.PERCENT else 30)), threshold=draw(_f(0, 200)),
            sku=draw(st.none() | st.sampled_from(skus)), start_day=max(start, 0),
            end_day=max(start, 0) + draw(st.integers(0, 20)), remaining=draw(st.integers(0, 300)),
            daily_limit=draw(st.none() | st.integers(1, 50)))
    events = tuple(EventState(name=f"e{i}", start_day=day + draw(st.integers(0, 20)), end_day=day + 25,
                              entry_ratio=draw(_f(0.5, 1)), skus=draw(st.none() | st.just(tuple(skus[:1]))))
                   for i in range(draw(st.integers(0, 2))))
    return ShopState(
        today=draw(st.dates(date(2026, 1, 1), date(2027, 12, 31))), day=day, products=prods,
        campaigns=campaigns, coupons=coupons, events=events, month_ad_spend=draw(_f(0, 5000)),
        week_coupon_cost=draw(_f(0, 500)), daily_overdelivery=draw(st.sampled_from([1.0, 1.25])),
    )


def actions(state: ShopState) -> st.SearchStrategy[Action]:
    skus = [*state.products, "GHOST"]
    camp_skus = [c.sku for c in state.campaigns.values()] or skus
    expected = st.builds(ExpectedEffect, cost_per_order=st.none() | _f(0, 60), roi=st.none() | _f(0.5, 12))
    return st.one_of(
        st.builds(SetBid, sku=st.sampled_from(camp_skus), bid=_f(0, 12), expected=expected),
        st.builds(SetBudget, sku=st.sampled_from(camp_skus), budget=_f(0, 600)),
        st.builds(SetCampaignStatus, sku=st.sampled_from(camp_skus), status=st.sampled_from(list(CampaignStatus))),
        st.builds(SetCampaignMode, sku=st.sampled_from(camp_skus), mode=st.just(CampaignMode.WHOLE_SITE),
                  target_roi=_f(0.5, 12)),
        st.builds(SetCampaignMode, sku=st.sampled_from(camp_skus), mode=st.just(CampaignMode.SEARCH)),
        coupons(skus, state.day),
        st.builds(StopCoupon, coupon_id=st.sampled_from([*state.coupons, "pending-1", "nope"])),
    )


@st.composite
def coupons(draw: st.DrawFn, skus: list[str], day: int) -> CreateCoupon:
    kind = draw(st.sampled_from(list(CouponType)))
    value = draw(_f(0.5, 99 if kind is CouponType.PERCENT else 60))
    threshold = round(value + draw(_f(0.01, 200)), 2) if kind is CouponType.THRESHOLD else draw(_f(0, 100))
    start = day + draw(st.integers(0, 10))
    return CreateCoupon(
        type=kind, value=value, threshold=threshold, sku=draw(st.none() | st.sampled_from(skus)),
        start_day=start, end_day=start + draw(st.integers(0, 20)), quantity=draw(st.integers(1, 500)),
        daily_limit=draw(st.none() | st.integers(1, 60)),
        expected=ExpectedEffect(cost_per_order=draw(st.none() | _f(0, 30))))


@dataclass
class Worst:
    """The worst cases recomputed from scratch: ad spend today / this month / a full month, coupons."""

    ad_today: float
    ad_month: float
    ad_full_month: float
    coupon_day: float
    coupon_week: float
    coupon_later_week: float


def recompute(state: ShopState, committed: tuple[Action, ...]) -> Worst:
    budget = {cid: c.budget for cid, c in state.campaigns.items()}
    active = {cid: c.status is CampaignStatus.ACTIVE for cid, c in state.campaigns.items()}
    peak = {cid: budget[cid] if active[cid] else 0.0 for cid in budget}
    live = {cid: (c.type, c.value, c.threshold, c.sku, c.start_day, c.end_day, c.remaining, c.daily_limit)
            for cid, c in state.coupons.items()}
    stopped: set[str] = set()
    for n, a in enumerate(committed, start=1):
        if isinstance(a, SetBudget):
            budget[a.campaign_id] = a.budget
        elif isinstance(a, SetCampaignStatus):
            active[a.campaign_id] = a.status is CampaignStatus.ACTIVE
        elif isinstance(a, CreateCoupon):
            live[f"pending-{n}"] = (a.type, a.value, a.threshold, a.sku, a.start_day, a.end_day, a.quantity,
                                    a.daily_limit)
        elif isinstance(a, StopCoupon):
            stopped.add(a.coupon_id)
        for cid in budget:
            if active[cid]:
                peak[cid] = max(peak[cid], budget[cid])
    od = state.daily_overdelivery
    standing = sum(b for cid, b in budget.items() if active[cid])
    today = od * sum(peak.values())
    day_cost = week_cost = later_cost = 0.0
    for cid, (kind, value, threshold, sku, start, end, qty, limit) in live.items():
        prices = [p.price for s, p in state.products.items() if sku in (None, s)]
        per_use = value if kind is not CouponType.PERCENT else value / 100 * max(max(prices), threshold)
        per_day = min(limit or qty, qty)
        ends = min(end, state.day) if cid in stopped else end
        if cid in stopped and start > state.day:
            continue
        day_cost += per_use * per_day if end >= state.day else 0.0
        week_days = max(0, min(ends, state.week_end_day) - max(start, state.day) + 1)
        later_days = min(7, max(0, ends - max(start, state.week_end_day + 1) + 1))
        week_cost += per_use * min(qty, per_day * week_days)
        later_cost += per_use * min(qty, per_day * later_days)
    return Worst(
        ad_today=today,
        ad_month=state.month_ad_spend + today + (state.days_left_in_month - 1) * od * standing,
        ad_full_month=state.month_billing_days * standing,
        coupon_day=day_cost, coupon_week=state.week_coupon_cost + week_cost, coupon_later_week=later_cost,
    )


def assert_each_action_within_limits(a: Action, policy: Policy, state: ShopState, ledger: Ledger) -> None:
    """What holds for any single action the guard let through (against the ledger before it)."""
    spend, d, floor = policy.spend, policy.discount, policy.profit.min_net_margin
    if isinstance(a, SetBid):
        start = state.campaigns[a.campaign_id].bid
        if a.bid > ledger.campaigns[a.campaign_id].bid:
            assert a.bid <= spend.max_bid + TOL
            p = state.products[a.sku]
            most = float(max_cost_per_order(p.price, p.cost, p.commission, p.shipping, floor))
            if a.expected.cost_per_order is not None:
                assert a.expected.cost_per_order <= most + TOL
            if p.ad_cost_per_order is not None and start > 0:
                assert p.ad_cost_per_order * a.bid / start <= most + TOL
        if start > 0:
            assert abs(a.bid - start) / start * 100 <= spend.max_bid_change_pct + TOL
    elif isinstance(a, SetBudget) and a.budget > ledger.campaigns[a.campaign_id].budget:
        assert a.budget <= spend.sku_daily_budget_cap + TOL
    elif isinstance(a, SetCampaignMode) and a.mode is CampaignMode.WHOLE_SITE:
        camp = ledger.campaigns[a.campaign_id]
        roi = a.target_roi or 0.0
        if camp.mode is CampaignMode.SEARCH or roi < (camp.target_roi or 0):
            p = state.products[a.sku]
            assert roi >= float(min_roi_at_floor(p.price, p.cost, p.commission, p.shipping, floor)) - TOL
    elif isinstance(a, CreateCoupon):
        assert a.type in d.allowed_types
        if a.type is not CouponType.PERCENT:
            assert a.value <= d.max_face_value + TOL
        for sku in state.coupon_skus(a.sku):
            p = state.products[sku]
            share = float(coupon_discount_share(p.price, a.value, a.threshold, percent=a.type is CouponType.PERCENT))
            assert 100 * share <= d.max_discount_pct + TOL
            paid = p.price * (1 - share)
            if a.type.counts_toward_lowest_price:
                assert paid >= policy.floor_for(sku, p.reference_price) - TOL
            ad = max(p.ad_cost_per_order or 0, a.expected.cost_per_order or 0)
            assert float(max_cost_per_order(paid, p.cost, p.commission, p.shipping, floor)) - ad >= -TOL


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), state=states(), data=st.data())
def test_guard_no_sequence_of_allowed_actions_breaks_a_limit(policy: Policy, state: ShopState,
                                                              data: st.DataObject) -> None:
    ledger = Ledger.open(state)
    start = recompute(state, ())
    for action in data.draw(st.lists(actions(state), max_size=25)):
        verdict = check(action, policy, state, ledger)
        assert check(action, policy, state, ledger) == verdict  # deterministic
        approved = check(action, policy, state, ledger, approval=APPROVAL)
        if verdict.denied:
            assert approved.denied and approved.limit == verdict.limit  # approval never lifts a deny
        if not approved.allowed:
            continue
        assert not policy.autonomy.kill_switch
        assert_each_action_within_limits(action, policy, state, ledger)
        ledger = ledger.commit(action)

    now = recompute(state, ledger.committed)
    caps = {
        "ad_today": policy.spend.daily_cap, "ad_month": policy.spend.monthly_cap,
        "ad_full_month": policy.spend.monthly_cap, "coupon_day": policy.discount.daily_budget,
        "coupon_week": policy.discount.weekly_budget, "coupon_later_week": policy.discount.weekly_budget,
    }
    for name, cap in caps.items():
        value, before = getattr(now, name), getattr(start, name)
        assert value <= max(cap, before) + TOL * max(1.0, cap), f"{name}: {value} over cap {cap} (was {before})"
    # the ledger's running totals agree with the recomputation
    assert abs(ledger.ad_spend_today - now.ad_today) < TOL * max(1.0, now.ad_today)
    assert abs(ledger.ad_spend_month - now.ad_month) < TOL * max(1.0, now.ad_month)
    assert abs(ledger.coupon_daily - now.coupon_day) < TOL * max(1.0, now.coupon_day)
    assert abs(ledger.coupon_cost_week - now.coupon_week) < TOL * max(1.0, now.coupon_week)


@settings(max_examples=50, deadline=None)
@given(policy=policies(), state=states(), data=st.data())
def test_guard_kill_switch_denies_every_action(policy: Policy, state: ShopState, data: st.DataObject) -> None:
    policy = policy.revise({"autonomy": {"kill_switch": True}}, by="owner", at=T0)
    action = data.draw(actions(state))
    verdict = check(action, policy, state, approval=APPROVAL)
    assert verdict.denied and verdict.limit == "autonomy.kill_switch"


@settings(max_examples=150, deadline=None)
@given(policy=policies(), state=states(), data=st.data())
def test_guard_alternative_passes_every_hard_limit(policy: Policy, state: ShopState, data: st.DataObject) -> None:
    action = data.draw(actions(state))
    verdict = check(action, policy, state)
    if verdict.alternative is not None:
        assert verdict.denied and verdict.alternative.kind is action.kind
        assert not check(verdict.alternative, policy, state).denied
        assert check(action, policy, state).alternative == verdict.alternative  # deterministic too
