"""The day's commitments: what executed or was approved since the shop snapshot, as worst-case money.

Worst-case rules (what the caps are checked against):
- Ads, today: each campaign may spend `daily_overdelivery` × the largest daily budget it had
  while active today (lowering a budget at noon does not undo the morning).
- Ads, this month: billed before today + today's worst case + the days after today ×
  `daily_overdelivery` × the budgets of the campaigns active now.
- Ads, a full month: budgets left standing carry into the next month, which bills at most
  `month_billing_days` × them; that must fit the monthly cap too.
- Coupons: one redemption costs its face value, or its percent of the largest basket. A day
  costs that × its daily limit (or its remaining quantity); every coupon live or scheduled
  is counted on every day (a sound upper bound). This ISO week: its days left in the week;
  any later week: up to seven days. A coupon stopped today still counts today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

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
from policies.state import ShopState


@dataclass(frozen=True, slots=True)
class CampaignCommitment:
    """A campaign's settings after today's committed actions."""

    sku: str
    mode: CampaignMode
    status: CampaignStatus
    bid: float
    budget: float
    target_roi: float | None
    peak_budget: float  # largest budget it had while active today; 0 if never active

    @property
    def active(self) -> bool:
        return self.status is CampaignStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class CouponCommitment:
    """A live, scheduled or just-created coupon and its worst-case cost."""

    sku: str | None
    type: CouponType
    value: float
    threshold: float
    counts: bool
    start_day: int
    end_day: int
    per_use: float  # most one redemption costs, yuan
    daily: float  # most it costs on any one day
    week: float  # most it costs from today to Sunday
    later_week: float  # most it costs in any later ISO week
    live_today: bool
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class Ledger:
    """Commitments on top of one `ShopState`: open it on the snapshot, then `commit` each action
    that executed or that the owner approved (executed or not), in order.
    """

    state: ShopState
    campaigns: Mapping[str, CampaignCommitment]
    coupons: Mapping[str, CouponCommitment]
    peak_budgets: float  # Σ peak_budget: today's worst case / overdelivery
    active_budgets: float  # Σ budgets of campaigns active now: every later day's worst case / overdelivery
    coupon_daily: float
    coupon_week: float
    coupon_later_week: float
    month_days_left: int  # today included; the state's, computed once
    committed: tuple[Action, ...] = ()

    @classmethod
    def open(cls, state: ShopState) -> Self:
        """The ledger of a day on which nothing has been committed yet."""
        campaigns = {
            cid: CampaignCommitment(
                sku=c.sku, mode=c.mode, status=c.status, bid=c.bid, budget=c.budget, target_roi=c.target_roi,
                peak_budget=c.budget if c.status is CampaignStatus.ACTIVE else 0.0,
            )
            for cid, c in state.campaigns.items()
        }
        coupons = {
            cid: coupon_commitment(state, c.type, c.value, c.threshold, c.sku, c.start_day, c.end_day,
                                   c.remaining, c.daily_limit, c.counts)
            for cid, c in state.coupons.items()
        }
        return cls(
            state=state, campaigns=campaigns, coupons=coupons,
            peak_budgets=sum(c.peak_budget for c in campaigns.values()),
            active_budgets=sum(c.budget for c in campaigns.values() if c.active),
            coupon_daily=sum(c.daily for c in coupons.values()),
            coupon_week=sum(c.week for c in coupons.values()),
            coupon_later_week=sum(c.later_week for c in coupons.values()),
            month_days_left=state.days_left_in_month,
        )

    # ---- worst cases the caps are checked against ----------------------------------------
    @property
    def ad_spend_today(self) -> float:
        return self.state.daily_overdelivery * self.peak_budgets

    @property
    def ad_spend_month(self) -> float:
        """This calendar month: billed + today + the days after today at the active budgets."""
        st = self.state
        later = (self.month_days_left - 1) * st.daily_overdelivery * self.active_budgets
        return st.month_ad_spend + self.ad_spend_today + later

    @property
    def ad_spend_full_month(self) -> float:
        """A whole month at the active budgets (they carry into the next month)."""
        return self.state.month_billing_days * self.active_budgets

    @property
    def coupon_cost_week(self) -> float:
        return self.state.week_coupon_cost + self.coupon_week

    def count(self, kind: ActionKind) -> int:
        """How many actions of a kind were committed today."""
        return sum(1 for a in self.committed if a.kind is kind)

    # ---- committing ---------------------------------------------------------------------------
    def commit(self, action: Action) -> Ledger:
        """A new ledger with `action` counted as done. Does not check it: run the guard first."""
        match action:
            case SetBid(bid=bid):
                return self._campaign(action.campaign_id, action, bid=bid)
            case SetBudget(budget=budget):
                return self._campaign(action.campaign_id, action, budget=budget)
            case SetCampaignStatus(status=status):
                return self._campaign(action.campaign_id, action, status=status)
            case SetCampaignMode(mode=mode, target_roi=roi):
                return self._campaign(action.campaign_id, action, mode=mode, target_roi=roi)
            case CreateCoupon():
                return self._create_coupon(action)
            case StopCoupon(coupon_id=cid):
                return self._stop_coupon(cid, action)
        raise TypeError(f"expected an Action, got {type(action).__name__}")

    def _campaign(self, cid: str, action: Action, **changes: Any) -> Ledger:
        old = self.campaigns.get(cid)
        if old is None:
            raise ValueError(f"cannot commit {action.kind} on unknown campaign {cid!r}")
        new = replace(old, **changes)
        if new.active:
            new = replace(new, peak_budget=max(old.peak_budget, new.budget))
        before = old.budget if old.active else 0.0
        after = new.budget if new.active else 0.0
        return replace(
            self, campaigns={**self.campaigns, cid: new}, committed=(*self.committed, action),
            peak_budgets=self.peak_budgets + new.peak_budget - old.peak_budget,
            active_budgets=self.active_budgets + after - before,
        )

    def _create_coupon(self, a: CreateCoupon) -> Ledger:
        c = coupon_commitment(self.state, a.type, a.value, a.threshold, a.sku, a.start_day, a.end_day,
                              a.quantity, a.daily_limit, a.type.counts_toward_lowest_price)
        return self._with_coupon(f"pending-{len(self.committed) + 1}", c, a)

    def _stop_coupon(self, cid: str, a: StopCoupon) -> Ledger:
        old = self.coupons.get(cid)
        if old is None or old.stopped:
            raise ValueError(f"cannot stop coupon {cid!r}: not live")
        if old.live_today:  # what it may have cost today stays spent: one day of it
            new = replace(old, stopped=True, week=old.daily, later_week=0.0)
        else:
            new = replace(old, stopped=True, daily=0.0, week=0.0, later_week=0.0)
        return self._with_coupon(cid, new, a)

    def _with_coupon(self, cid: str, new: CouponCommitment, a: Action) -> Ledger:
        old = self.coupons.get(cid)
        daily, week, later = (old.daily, old.week, old.later_week) if old else (0.0, 0.0, 0.0)
        return replace(
            self, coupons={**self.coupons, cid: new}, committed=(*self.committed, a),
            coupon_daily=self.coupon_daily + new.daily - daily,
            coupon_week=self.coupon_week + new.week - week,
            coupon_later_week=self.coupon_later_week + new.later_week - later,
        )


def coupon_commitment(
    state: ShopState, type: CouponType, value: float, threshold: float, sku: str | None,
    start_day: int, end_day: int, remaining: int, daily_limit: int | None, counts: bool,
) -> CouponCommitment:
    """A coupon's worst-case cost per use, per day, for the rest of this week and per later week."""
    per_use = state.worst_discount_per_use(type, value, threshold, sku)
    uses_a_day = min(daily_limit, remaining) if daily_limit is not None else remaining
    week_end = state.week_end_day
    days_this_week = _overlap(max(start_day, state.day), min(end_day, week_end))
    days_later = min(7, _overlap(max(start_day, week_end + 1), end_day))
    return CouponCommitment(
        sku=sku, type=type, value=value, threshold=threshold, counts=counts,
        start_day=start_day, end_day=end_day, per_use=per_use,
        daily=per_use * uses_a_day if end_day >= state.day else 0.0,
        week=per_use * min(remaining, uses_a_day * days_this_week),
        later_week=per_use * min(remaining, uses_a_day * days_later),
        live_today=start_day <= state.day <= end_day,
    )


def _overlap(first: int, last: int) -> int:
    return max(0, last - first + 1)
