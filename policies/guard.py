"""The guard: every action the agent proposes is checked here, in code, before anything executes.

`check` is pure and fast: plain functions over typed values, no I/O, no model. It answers
`allow` (executes now), `needs_approval` (queued for the owner) or `deny` (never executes),
with the limit that decided and the numbers behind it; a deny can propose a clamped
alternative, worked out when someone asks for it. Owner approval turns `needs_approval`
into `allow`; it never lifts a `deny`, which only a policy change can. The kill switch denies
everything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from policies.checks import TOLERANCE, hard_check
from policies.clamp import alternative
from policies.domain import ActionKind, CouponType
from policies.economics import coupon_discount_share
from policies.ledger import Ledger
from policies.limits import Policy
from policies.state import ShopState
from policies.verdict import Decision, Verdict

__all__ = ["Approval", "Decision", "Verdict", "approval_deadline", "change_pct", "check", "message"]


@dataclass(frozen=True, slots=True)
class Approval:
    """The owner's yes to a queued action."""

    proposed_at: datetime
    approved_at: datetime
    by: str = "owner"


def check(action: Action, policy: Policy, state: ShopState, ledger: Ledger | None = None, *,
          approval: Approval | None = None) -> Verdict:
    """Decide whether `action` may execute under `policy`, given the shop and today's commitments.

    `ledger` holds what already executed or was approved today, opened on this same `state`
    (`Ledger.open(state)`, then `commit` each action); None means nothing yet. Pass `approval`
    when the owner approved the action: a `needs_approval` becomes `allow` unless the approval
    came after the proposal expired. A `deny` may carry a clamped `alternative`.
    """
    if ledger is None:
        ledger = Ledger.open(state)
    elif ledger.state is not state and ledger.state != state:
        raise ValueError("the ledger was opened on a different shop state; open one with Ledger.open(state)")
    if policy.autonomy.kill_switch:
        return Verdict(Decision.DENY, "autonomy.kill_switch", "", {"kind": action.kind, "target": action.target})
    verdict = hard_check(action, policy, ledger)
    if verdict is not None and verdict.decision is Decision.DENY:
        denied = verdict
        return Verdict(Decision.DENY, verdict.limit, verdict.rule, verdict.numbers,
                       proposer=lambda: alternative(action, denied, policy, ledger))
    if verdict is None:
        verdict = _autonomy(action, policy, ledger)
    if approval is not None and verdict.decision is Decision.NEEDS_APPROVAL:
        return _approved(action, policy, approval)
    return verdict


def message(verdict: Verdict, locale: str = "en") -> str:
    """The verdict's reason for people, in "en" or "zh-CN"."""
    return verdict.text(locale)


def approval_deadline(policy: Policy, proposed_at: datetime) -> datetime:
    """When a queued action expires unapproved."""
    return proposed_at + timedelta(hours=policy.autonomy.approval_expiry_hours)


def change_pct(action: Action, ledger: Ledger) -> float:
    """How large the action is, in percent, against the start of the day (so steps add up).

    Bids and budgets: their change; status and mode: 100 when they differ from the morning's,
    a target ROI its change; a new coupon: its deepest discount; stopping a coupon: 0.
    """
    return _CHANGE[action.kind](action, ledger.state)


def _bid_change(a: SetBid, st: ShopState) -> float:
    return _pct(st.campaigns[a.campaign_id].bid, a.bid)


def _budget_change(a: SetBudget, st: ShopState) -> float:
    return _pct(st.campaigns[a.campaign_id].budget, a.budget)


def _status_change(a: SetCampaignStatus, st: ShopState) -> float:
    return 0.0 if st.campaigns[a.campaign_id].status is a.status else 100.0


def _mode_change(a: SetCampaignMode, st: ShopState) -> float:
    start = st.campaigns[a.campaign_id]
    if start.mode is not a.mode:
        return 100.0
    return _pct(start.target_roi or 0.0, a.target_roi) if a.target_roi is not None else 0.0


def _coupon_depth(a: CreateCoupon, st: ShopState) -> float:
    percent = a.type is CouponType.PERCENT
    return max((100 * float(coupon_discount_share(st.products[s].price, a.value, a.threshold, percent=percent))
                for s in st.coupon_skus(a.sku)), default=0.0)


def _no_change(a: StopCoupon, st: ShopState) -> float:
    return 0.0


_CHANGE: dict[ActionKind, Callable[[Any, ShopState], float]] = {
    ActionKind.SET_BID: _bid_change,
    ActionKind.SET_BUDGET: _budget_change,
    ActionKind.SET_CAMPAIGN_STATUS: _status_change,
    ActionKind.SET_CAMPAIGN_MODE: _mode_change,
    ActionKind.CREATE_COUPON: _coupon_depth,
    ActionKind.STOP_COUPON: _no_change,
}


def _pct(start: float, new: float) -> float:
    if new == start:
        return 0.0
    return abs(new - start) / start * 100 if start > 0 else math.inf


def _autonomy(action: Action, policy: Policy, ledger: Ledger) -> Verdict:
    """Within the hard limits: does this kind run on its own at this size, or ask the owner?"""
    rule = policy.autonomy.rules[action.kind]
    numbers: dict[str, float | str] = {"kind": action.kind, "target": action.target}
    if rule.mode == "approval":
        return Verdict(Decision.NEEDS_APPROVAL, "autonomy.rules", "approval", numbers)
    if rule.max_change_pct is None:
        return Verdict(Decision.ALLOW, "autonomy.rules", "auto_any", numbers)
    change = change_pct(action, ledger)
    numbers.update(change=change, threshold=rule.max_change_pct)
    if change - rule.max_change_pct > TOLERANCE:
        return Verdict(Decision.NEEDS_APPROVAL, "autonomy.rules", "max_change_pct", numbers)
    return Verdict(Decision.ALLOW, "autonomy.rules", "auto", numbers)


def _approved(action: Action, policy: Policy, approval: Approval) -> Verdict:
    hours = policy.autonomy.approval_expiry_hours
    waited = (approval.approved_at - approval.proposed_at).total_seconds() / 3600
    if waited < 0 or waited - hours > TOLERANCE:
        return Verdict(Decision.DENY, "autonomy.approval_expiry_hours", "", {"hours": hours, "waited": waited})
    return Verdict(Decision.ALLOW, "autonomy.rules", "approved",
                   {"kind": action.kind, "target": action.target, "by": approval.by})
