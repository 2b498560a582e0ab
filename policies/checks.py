"""Hard limits: the checks no owner approval can lift. Pure functions of action, policy and ledger.

Each check returns None when the action keeps every limit, or the Verdict of the first limit
it breaks. Changes that make things safer are never denied by the limit they move toward:
lowering a bid, a budget or a target-ROI risk passes even when the shop is already over a
cap (the owner may have just lowered it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from policies.actions import (
    Action,
    CreateCoupon,
    SetBid,
    SetBudget,
    SetCampaignMode,
    SetCampaignStatus,
    StopCoupon,
)
from policies.domain import ActionKind, CampaignMode, CampaignStatus, CouponType
from policies.economics import coupon_discount_share, event_entry_price, floor_price, max_cost_per_order, net_margin
from policies.ledger import CampaignCommitment, Ledger, coupon_commitment
from policies.limits import Policy
from policies.state import ProductState
from policies.verdict import Decision, Verdict

TOLERANCE = 1e-6  # yuan and percent; float sums must not flip a decision at the boundary
LOOKBACK_DAYS = 30  # the lowest price looks back 30 days (seed 003)


def hard_check(action: Action, policy: Policy, ledger: Ledger) -> Verdict | None:
    """The first hard limit `action` breaks (deny), a reason it must go to the owner
    (needs_approval), or None when every hard limit holds."""
    return _CHECKS[action.kind](action, policy, ledger)


def _deny(limit: str, rule: str = "", **numbers: Any) -> Verdict:
    return Verdict(Decision.DENY, limit, rule, numbers)


# ---- campaigns ----------------------------------------------------------------------------------
_CampaignAction = SetBid | SetBudget | SetCampaignStatus | SetCampaignMode


def _campaign(a: _CampaignAction, ledger: Ledger) -> CampaignCommitment | Verdict:
    camp = ledger.campaigns.get(a.campaign_id)
    if camp is None or camp.sku != a.sku:
        return _deny("action.target", "unknown_campaign", target=a.campaign_id, sku=a.sku)
    return camp


def check_bid(a: SetBid, policy: Policy, ledger: Ledger) -> Verdict | None:
    camp = _campaign(a, ledger)
    if isinstance(camp, Verdict):
        return camp
    if camp.mode is not CampaignMode.SEARCH:
        return _deny("action.target", "wrong_mode", target=a.campaign_id, mode=camp.mode.value)
    spend = policy.spend
    raising = a.bid > camp.bid
    if raising and a.bid - spend.max_bid > TOLERANCE:
        return _deny("spend.max_bid", cap=spend.max_bid, asked=a.bid, target=a.campaign_id)
    start = ledger.state.campaigns[a.campaign_id].bid
    if start > 0:
        change = abs(a.bid - start) / start * 100
        if change - spend.max_bid_change_pct > TOLERANCE:
            return _deny("spend.max_bid_change_pct", cap=spend.max_bid_change_pct, start=start, asked=a.bid,
                         change=change, target=a.campaign_id)
    if not raising:
        return None
    p_eff = paid_price(ledger, a.sku)
    cpo = bid_cost_per_order(a, ledger, p_eff)
    if cpo is None:
        return Verdict(Decision.NEEDS_APPROVAL, "profit.min_net_margin", "unverified",
                       {"bid": a.bid, "target": a.campaign_id})
    return _margin_floor(policy, ledger.state.products[a.sku], p_eff, cpo, "", bid=a.bid, target=a.campaign_id)


def check_budget(a: SetBudget, policy: Policy, ledger: Ledger) -> Verdict | None:
    camp = _campaign(a, ledger)
    if isinstance(camp, Verdict):
        return camp
    if a.budget <= camp.budget:
        return None
    cap = policy.spend.sku_daily_budget_cap
    if a.budget - cap > TOLERANCE:
        return _deny("spend.sku_daily_budget_cap", cap=cap, asked=a.budget, target=a.campaign_id)
    if not camp.active:  # a paused campaign spends nothing; starting it is checked then
        return None
    return spend_caps(camp, a.budget, policy, ledger)


def check_status(a: SetCampaignStatus, policy: Policy, ledger: Ledger) -> Verdict | None:
    camp = _campaign(a, ledger)
    if isinstance(camp, Verdict):
        return camp
    if a.status is CampaignStatus.PAUSED or camp.active:
        return None
    return spend_caps(camp, camp.budget, policy, ledger)


def check_mode(a: SetCampaignMode, policy: Policy, ledger: Ledger) -> Verdict | None:
    camp = _campaign(a, ledger)
    if isinstance(camp, Verdict):
        return camp
    if a.mode is CampaignMode.SEARCH:  # back to bidding: the standing bid must fit the policy
        if camp.mode is not CampaignMode.SEARCH and camp.bid - policy.spend.max_bid > TOLERANCE:
            return _deny("spend.max_bid", cap=policy.spend.max_bid, asked=camp.bid, target=a.campaign_id)
        return None
    target_roi = a.target_roi or math.inf
    if camp.mode is CampaignMode.WHOLE_SITE and camp.target_roi is not None and target_roi >= camp.target_roi:
        return None  # asking for more ROI is safer
    p_eff = paid_price(ledger, a.sku)
    return _margin_floor(policy, ledger.state.products[a.sku], p_eff, p_eff / target_roi, "target_roi",
                         target=a.campaign_id)


def spend_caps(camp: CampaignCommitment, budget: float, policy: Policy, ledger: Ledger) -> Verdict | None:
    """The shop's daily and monthly ad caps, with `camp` active at `budget` after the action."""
    st = ledger.state
    od = st.daily_overdelivery
    peak = ledger.peak_budgets - camp.peak_budget + max(camp.peak_budget, budget)
    active = ledger.active_budgets - (camp.budget if camp.active else 0.0) + budget
    before, after = ledger.ad_spend_today, od * peak
    cap = policy.spend.daily_cap
    if after - cap > TOLERANCE and after - before > TOLERANCE:
        return _deny("spend.daily_cap", cap=cap, committed=before, asked=after - before, total=after,
                     overdelivery=od)
    cap = policy.spend.monthly_cap
    before = ledger.ad_spend_month
    after = st.month_ad_spend + after + (ledger.month_days_left - 1) * od * active
    if after - cap > TOLERANCE and after - before > TOLERANCE:
        return _deny("spend.monthly_cap", "this_month", cap=cap, committed=before, asked=after - before,
                     total=after, spent=st.month_ad_spend, days=ledger.month_days_left, overdelivery=od)
    before, after = ledger.ad_spend_full_month, st.month_billing_days * active
    if after - cap > TOLERANCE and after - before > TOLERANCE:
        return _deny("spend.monthly_cap", "full_month", cap=cap, budgets=active, total=after,
                     days=st.month_billing_days)
    return None


def paid_price(ledger: Ledger, sku: str) -> float:
    """The lowest price a buyer may pay for `sku` now: after the deepest coupon live or scheduled."""
    product = ledger.state.products[sku]
    share = 0.0
    for c in ledger.coupons.values():
        if not c.stopped and (c.sku is None or c.sku == sku) and c.end_day >= ledger.state.day:
            share = max(share, float(coupon_discount_share(product.price, c.value, c.threshold,
                                                           percent=c.type is CouponType.PERCENT)))
    return product.price * (1.0 - share)


def bid_cost_per_order(a: SetBid, ledger: Ledger, p_eff: float) -> float | None:
    """The highest ad cost per order any source puts on this bid; None when nothing is known.

    Sources: the cost per order observed at the start-of-day bid, scaled with the bid (cost per
    click moves with the bid); the planner's expected cost per order; its expected ROI.
    """
    estimates = []
    start = ledger.state.campaigns[a.campaign_id].bid
    observed = ledger.state.products[a.sku].ad_cost_per_order
    if observed is not None and start > 0:
        estimates.append(observed * a.bid / start)
    if a.expected.cost_per_order is not None:
        estimates.append(a.expected.cost_per_order)
    if a.expected.roi is not None:
        estimates.append(p_eff / a.expected.roi)
    return max(estimates) if estimates else None


def most_cost_per_order(policy: Policy, product: ProductState, p_eff: float, *, with_min_roi: bool = True) -> float:
    """The most ad cost one order may carry at `p_eff`: the margin floor, and min ROI when set."""
    room = float(max_cost_per_order(p_eff, product.cost, product.commission, product.shipping,
                                    policy.profit.min_net_margin))
    explicit = policy.spend.min_roi
    return min(room, p_eff / explicit) if with_min_roi and explicit else room


def _margin_floor(policy: Policy, product: ProductState, p_eff: float, cpo: float, rule: str,
                  **numbers: Any) -> Verdict | None:
    """Deny when `cpo` leaves less than the margin floor at `p_eff` (or, for ads, less than min ROI)."""
    with_min_roi = rule != "coupon"
    most = most_cost_per_order(policy, product, p_eff, with_min_roi=with_min_roi)
    if cpo - most <= TOLERANCE:
        return None
    room = most_cost_per_order(policy, product, p_eff, with_min_roi=False)
    numbers.update(price=p_eff, cost_per_order=cpo, max_cost_per_order=max(most, 0.0),
                   roi=p_eff / cpo if cpo > 0 else math.inf, min_roi=p_eff / most if most > 0 else math.inf)
    if with_min_roi and most < room:
        return _deny("spend.min_roi", rule, **numbers)
    margin = 100 * float(net_margin(p_eff, product.cost, product.commission, product.shipping, cpo))
    return _deny("profit.min_net_margin", rule, floor=100 * policy.profit.min_net_margin, margin=margin, **numbers)


# ---- coupons ------------------------------------------------------------------------------------
def check_create_coupon(a: CreateCoupon, policy: Policy, ledger: Ledger) -> Verdict | None:
    d, st = policy.discount, ledger.state
    if a.type not in d.allowed_types:
        return _deny("discount.allowed_types", type=a.type.value,
                     allowed=", ".join(t.value for t in d.allowed_types) or "-")
    if a.sku is not None and a.sku not in st.products:
        return _deny("action.target", "unknown_sku", target=a.sku)
    if a.type is not CouponType.PERCENT and a.value - d.max_face_value > TOLERANCE:
        return _deny("discount.max_face_value", cap=d.max_face_value, asked=a.value, target=a.target)
    for sku in st.coupon_skus(a.sku):
        verdict = _coupon_on_sku(a, sku, policy, ledger)
        if verdict is not None:
            return verdict
    return coupon_budgets(a, policy, ledger)


def _coupon_on_sku(a: CreateCoupon, sku: str, policy: Policy, ledger: Ledger) -> Verdict | None:
    """Discount depth, the lowest-price floor, event entry and the margin floor on one SKU."""
    product = ledger.state.products[sku]
    share = float(coupon_discount_share(product.price, a.value, a.threshold, percent=a.type is CouponType.PERCENT))
    if 100 * share - policy.discount.max_discount_pct > TOLERANCE:
        return _deny("discount.max_discount_pct", cap=policy.discount.max_discount_pct, asked=100 * share,
                     price=product.price, target=sku)
    p_eff = product.price * (1.0 - share)
    if a.type.counts_toward_lowest_price:
        floor = policy.floor_for(sku, product.reference_price)
        if floor - p_eff > TOLERANCE:
            return _deny("discount.lowest_price_floor", floor=floor, price=p_eff, target=sku)
        verdict = _event_entry(a, sku, product, p_eff, policy, ledger)
        if verdict is not None:
            return verdict
    cpo = max(product.ad_cost_per_order or 0.0, a.expected.cost_per_order or 0.0)
    return _margin_floor(policy, product, p_eff, cpo, "coupon", target=sku)


def _event_entry(a: CreateCoupon, sku: str, product: ProductState, p_eff: float, policy: Policy,
                 ledger: Ledger) -> Verdict | None:
    """Deny a counted coupon whose new lowest price would set an event entry price under the margin floor."""
    st = ledger.state
    floor = policy.profit.min_net_margin
    min_price = float(floor_price(product.cost, product.commission, product.shipping, floor))
    lowest = min(product.lowest, p_eff)
    for event in st.events:
        # Entry is decided on the event's first day, from the lowest price of the 30 days before it.
        if event.start_day < st.day or not event.invites(sku):
            continue
        if not a.start_day <= event.start_day <= a.end_day + LOOKBACK_DAYS:
            continue
        before = event_entry_price(product.price, product.lowest, event.entry_ratio)
        after = event_entry_price(product.price, lowest, event.entry_ratio)
        if min_price - after > TOLERANCE and before - after > TOLERANCE:
            return _deny("profit.min_net_margin", "event_entry", floor=100 * floor, lowest=lowest,
                         event=event.name or f"day {event.start_day}", entry_price=after, min_price=min_price,
                         target=sku)
    return None


def coupon_budgets(a: CreateCoupon, policy: Policy, ledger: Ledger) -> Verdict | None:
    """The coupon budgets per day and per week, at the new coupon's worst case."""
    d, st = policy.discount, ledger.state
    c = coupon_commitment(st, a.type, a.value, a.threshold, a.sku, a.start_day, a.end_day, a.quantity,
                          a.daily_limit, a.type.counts_toward_lowest_price)
    total = ledger.coupon_daily + c.daily
    if c.daily > 0 and total - d.daily_budget > TOLERANCE:
        return _deny("discount.daily_budget", cap=d.daily_budget, committed=ledger.coupon_daily, asked=c.daily,
                     total=total)
    total = ledger.coupon_cost_week + c.week
    if c.week > 0 and total - d.weekly_budget > TOLERANCE:
        return _deny("discount.weekly_budget", "this_week", cap=d.weekly_budget, committed=ledger.coupon_cost_week,
                     asked=c.week, total=total, spent=st.week_coupon_cost)
    total = ledger.coupon_later_week + c.later_week
    if c.later_week > 0 and total - d.weekly_budget > TOLERANCE:
        return _deny("discount.weekly_budget", "later_week", cap=d.weekly_budget,
                     committed=ledger.coupon_later_week, asked=c.later_week, total=total)
    return None


def check_stop_coupon(a: StopCoupon, policy: Policy, ledger: Ledger) -> Verdict | None:
    c = ledger.coupons.get(a.coupon_id)
    if c is None or c.stopped:
        return _deny("action.target", "unknown_coupon", target=a.coupon_id)
    return None


_CHECKS: dict[ActionKind, Callable[[Any, Policy, Ledger], Verdict | None]] = {
    ActionKind.SET_BID: check_bid,
    ActionKind.SET_BUDGET: check_budget,
    ActionKind.SET_CAMPAIGN_STATUS: check_status,
    ActionKind.SET_CAMPAIGN_MODE: check_mode,
    ActionKind.CREATE_COUPON: check_create_coupon,
    ActionKind.STOP_COUPON: check_stop_coupon,
}
