"""Clamped alternatives: for a denied action, the nearest action the hard limits accept.

The guard offers the alternative next to its deny; it never applies it. Each fix moves one
number toward safety as far as the deciding limit needs (a bid down to the largest allowed,
a coupon's face value down to the deepest discount allowed) and the result is checked again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from policies.actions import Action, CreateCoupon, SetBid, SetBudget, SetCampaignMode
from policies.checks import TOLERANCE, bid_cost_per_order, hard_check, paid_price
from policies.domain import ActionKind, CouponType
from policies.economics import floor_price
from policies.ledger import Ledger
from policies.limits import Policy
from policies.verdict import Decision, Verdict

MAX_FIXES = 4  # one fix per limit in the way; more means the limits leave no room


def alternative(action: Action, verdict: Verdict, policy: Policy, ledger: Ledger) -> Action | None:
    """An action the hard limits accept in place of `action`, or None when there is none worth offering."""
    candidate = action
    for _ in range(MAX_FIXES):
        fix = _FIXES.get((candidate.kind, verdict.limit))
        fixed = fix(candidate, verdict, policy, ledger) if fix else None
        if fixed is None:
            return None
        candidate = fixed
        again = hard_check(candidate, policy, ledger)
        if again is None or again.decision is not Decision.DENY:
            return candidate
        verdict = again
    return None


# ---- campaigns ----------------------------------------------------------------------------------
def _fix_bid(a: SetBid, verdict: Verdict, policy: Policy, ledger: Ledger) -> SetBid | None:
    start = ledger.state.campaigns[a.campaign_id].bid
    if verdict.limit == "spend.max_bid":
        bid = _floor_cents(policy.spend.max_bid)
    elif verdict.limit == "spend.max_bid_change_pct":
        step = policy.spend.max_bid_change_pct / 100
        bid = _floor_cents(start * (1 + step)) if a.bid > start else _ceil_cents(max(start * (1 - step), 0.0))
    else:  # margin floor or min ROI: the cost per order moves with the bid
        cpo = bid_cost_per_order(a, ledger, paid_price(ledger, a.sku)) or 0.0
        most = float(verdict.numbers["max_cost_per_order"])
        bid = _floor_cents(a.bid * most / cpo) if cpo > 0 else 0.0
        if bid <= ledger.campaigns[a.campaign_id].bid:
            return None
    return _rebid(a, bid) if bid > 0 else None


def _rebid(a: SetBid, bid: float) -> SetBid:
    """`a` at another bid; its expected cost per order and ROI scale with the bid."""
    ratio = bid / a.bid if a.bid > 0 else 1.0
    update: dict[str, float] = {}
    if a.expected.cost_per_order is not None:
        update["cost_per_order"] = a.expected.cost_per_order * ratio
    if a.expected.roi is not None:
        update["roi"] = a.expected.roi / ratio
    return a.model_copy(update={"bid": bid, "expected": a.expected.model_copy(update=update)})


def _fix_target_roi(a: SetCampaignMode, verdict: Verdict, policy: Policy, ledger: Ledger) -> SetCampaignMode | None:
    roi = float(verdict.numbers["min_roi"])
    return a.model_copy(update={"target_roi": _ceil_cents(roi)}) if math.isfinite(roi) else None


def _fix_budget(a: SetBudget, verdict: Verdict, policy: Policy, ledger: Ledger) -> SetBudget | None:
    camp = ledger.campaigns[a.campaign_id]
    if verdict.limit == "spend.sku_daily_budget_cap":
        budget = policy.spend.sku_daily_budget_cap
    else:
        budget = largest_budget(a.campaign_id, verdict, policy, ledger)
    budget = _floor_cents(budget)
    return a.model_copy(update={"budget": budget}) if budget > camp.budget else None


def largest_budget(campaign_id: str, verdict: Verdict, policy: Policy, ledger: Ledger) -> float:
    """The largest daily budget for an active campaign that keeps the ad cap `verdict` names."""
    st, camp = ledger.state, ledger.campaigns[campaign_id]
    od, cap, peak = st.daily_overdelivery, float(verdict.numbers["cap"]), camp.peak_budget
    other_peaks = ledger.peak_budgets - peak
    other_active = ledger.active_budgets - (camp.budget if camp.active else 0.0)
    if verdict.limit == "spend.daily_cap":
        return max(cap / od - other_peaks, peak)  # up to today's peak adds nothing to today
    if verdict.rule == "full_month":
        return cap / st.month_billing_days - other_active
    later = ledger.month_days_left - 1
    room = cap - st.month_ad_spend - later * od * other_active
    above_peak = (room - od * other_peaks) / (od * (1 + later))
    if above_peak >= peak:
        return above_peak
    if later == 0:  # on the month's last day, up to today's peak adds nothing
        return peak
    return (room - od * (other_peaks + peak)) / (od * later)


# ---- coupons ------------------------------------------------------------------------------------
def _fix_coupon(a: CreateCoupon, verdict: Verdict, policy: Policy, ledger: Ledger) -> CreateCoupon | None:
    limit, n = verdict.limit, verdict.numbers
    if limit == "discount.max_face_value":
        return _revalue(a, _floor_cents(policy.discount.max_face_value))
    if limit in ("discount.daily_budget", "discount.weekly_budget"):
        return _fewer_uses(a, verdict, ledger)
    sku = str(n["target"])
    product = ledger.state.products[sku]
    if limit == "discount.max_discount_pct":
        return _revalue(a, _value_for_share(a, product.price, policy.discount.max_discount_pct / 100))
    if limit == "discount.lowest_price_floor":
        min_price = float(n["floor"])
    elif verdict.rule == "event_entry":
        ratio = float(n["entry_price"]) / float(n["lowest"]) if float(n["lowest"]) > 0 else 1.0
        min_price = float(n["min_price"]) / ratio
    else:  # margin floor after the coupon, with the SKU's ad cost per order
        min_price = float(floor_price(product.cost + float(n["cost_per_order"]), product.commission,
                                      product.shipping, policy.profit.min_net_margin))
    if not math.isfinite(min_price) or min_price >= product.price:
        return None
    return _revalue(a, _value_for_share(a, product.price, 1 - min_price / product.price))


def _value_for_share(a: CreateCoupon, price: float, share: float) -> float:
    """The face value (or percent) that takes `share` of the unit price off, rounded toward less."""
    if a.type is CouponType.PERCENT:
        return _floor_cents(100 * share)
    return _floor_cents(share * max(price, a.threshold))


def _revalue(a: CreateCoupon, value: float) -> CreateCoupon | None:
    """`a` at a smaller face value (or percent). One asked in whole yuan (or whole percent) stays whole, as
    coupons are written ("满121减3", not "减3.87"): rounded down, which only takes less off."""
    if float(a.value).is_integer() and value >= 1:
        value = float(math.floor(value + 1e-7))
    return a.model_copy(update={"value": value}) if 0 < value < a.value else None


def _fewer_uses(a: CreateCoupon, verdict: Verdict, ledger: Ledger) -> CreateCoupon | None:
    """The same coupon with fewer redemptions a day (daily budget) or in all (weekly budget)."""
    per_use = ledger.state.worst_discount_per_use(a.type, a.value, a.threshold, a.sku)
    room = float(verdict.numbers["cap"]) - float(verdict.numbers["committed"])
    uses = math.floor(room / per_use + TOLERANCE) if per_use > 0 else 0
    if uses < 1:
        return None
    field = "daily_limit" if verdict.limit == "discount.daily_budget" else "quantity"
    return a.model_copy(update={field: uses}) if uses < (getattr(a, field) or a.quantity) else None


def _floor_cents(x: float) -> float:
    return math.floor(x * 100 + 1e-7) / 100


def _ceil_cents(x: float) -> float:
    return math.ceil(x * 100 - 1e-7) / 100


_Fix = Callable[..., Action | None]
_FIXES: dict[tuple[ActionKind, str], _Fix] = {
    **{(ActionKind.SET_BID, limit): _fix_bid for limit in (
        "spend.max_bid", "spend.max_bid_change_pct", "spend.min_roi", "profit.min_net_margin")},
    **{(ActionKind.SET_BUDGET, limit): _fix_budget for limit in (
        "spend.sku_daily_budget_cap", "spend.daily_cap", "spend.monthly_cap")},
    **{(ActionKind.SET_CAMPAIGN_MODE, limit): _fix_target_roi for limit in ("spend.min_roi", "profit.min_net_margin")},
    **{(ActionKind.CREATE_COUPON, limit): _fix_coupon for limit in (
        "discount.max_face_value", "discount.max_discount_pct", "discount.lowest_price_floor",
        "profit.min_net_margin", "discount.daily_budget", "discount.weekly_budget")},
}
