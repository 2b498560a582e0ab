"""The `propose_*` tools and the sink they record into: validated actions, nothing executed."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.tools import BaseTool, ToolException
from pydantic import Field, ValidationError, WithJsonSchema

from marketplace.client import PlatformClient
from policies.actions import WHY_FIELDS, Action, parse_action
from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment
from tools.platform_tools import Args, ReadOnlyPlatform, make_tool


@dataclass(frozen=True)
class Recorded:
    """The answer to one proposal: its number when it was recorded, or why it was not."""

    ok: bool
    message: str
    number: int | None = None


class ProposalSink:
    """Collects validated proposals for the guard, in the order the model made them.

    Proposals are deduplicated by content (everything but the rationale and the expected
    effect): LangGraph may re-run a tool node after an interrupt, and a model may repeat
    itself, and neither should double an action. Thread-safe, since a tool node may run
    parallel tool calls on a thread pool.
    """

    def __init__(self) -> None:
        self._actions: list[Action] = []
        self._lock = threading.Lock()

    @property
    def proposals(self) -> list[Action]:
        """A copy of the recorded proposals."""
        with self._lock:
            return list(self._actions)

    def __len__(self) -> int:
        return len(self._actions)

    def record(self, data: dict[str, Any]) -> Recorded:
        """Validate `data` as an action (its `kind` picks the type) and keep it.

        Never raises for bad input: the answer names each bad field so the model can fix it.
        """
        try:
            action = parse_action(data)
        except ValidationError as exc:
            return Recorded(False, "not recorded, invalid proposal:\n" + _field_errors(exc))
        key = _content(action)
        with self._lock:
            for n, known in enumerate(self._actions, start=1):
                if _content(known) == key:
                    return Recorded(True, f"already recorded as proposal #{n}; the guard decides", n)
            self._actions.append(action)
            n = len(self._actions)
        return Recorded(True, f"recorded proposal #{n}; the guard decides", n)

    def clear(self) -> None:
        with self._lock:
            self._actions.clear()


def _content(action: Action) -> dict[str, Any]:
    return action.model_dump(mode="json", exclude=set(WHY_FIELDS))


def _field_errors(exc: ValidationError) -> str:
    """One line per problem, `field: what is wrong`, without the union's `kind` tag in the path."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]][1:]  # the first element is the action kind
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {'.'.join(loc)}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)


# ---- the propose tools -------------------------------------------------------------------------
RATIONALE = Field(min_length=1, max_length=2000, description="Why, with the numbers behind it; the owner reads it.")
EXPECTED = Field(None, description="Optional: what you expect per day if it runs.")


# An optional number, shown to the model as plain "number": six of these per tool add up.
Number = Annotated[float | None, WithJsonSchema({"type": "number"})]


class Effect(Args):
    """Expected effect per day: yuan, orders, and ROI as GMV per yuan of ad spend."""

    orders: Number = None
    gmv: Number = None
    ad_spend: Number = None
    coupon_cost: Number = None
    profit: Number = None
    cost_per_order: Number = None
    roi: Number = None


class CampaignArgs(Args):
    campaign_id: str = Field(min_length=1, max_length=80, description="Campaign id, as get_campaigns lists it.")


class BidArgs(CampaignArgs):
    bid: float = Field(description="New cost-per-click bid, yuan.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


class BudgetArgs(CampaignArgs):
    budget: float = Field(description="New daily budget, yuan.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


class StatusArgs(CampaignArgs):
    status: CampaignStatus = Field(description="active or paused.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


class ModeArgs(CampaignArgs):
    mode: CampaignMode = Field(description="search (per-click bid) or whole_site (one target ROI).")
    target_roi: float | None = Field(None, description="Whole-site target ROI (GMV per yuan); only for whole_site.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


class CouponArgs(Args):
    type: CouponType = Field(description="threshold (spend X get Y off), percent, no_threshold, share, follow.")
    value: float = Field(description="Face value in yuan, or percent off for a percent coupon.")
    threshold: float = Field(0.0, description="Order value needed to use it, yuan; 0 for none.")
    sku: str | None = Field(None, max_length=64, description="The SKU it applies to; omit for the whole shop.")
    segments: list[Segment] | None = Field(None, description="Buyer segments it targets; omit for everyone.")
    valid_days: int = Field(7, ge=1, le=90, description="Days it is valid, starting today.")
    quantity: int = Field(1000, ge=1, description="Total coupons issued.")
    per_user_limit: int = Field(1, ge=1, description="Coupons one buyer may use.")
    daily_limit: int | None = Field(None, ge=1, description="Most redemptions a day; omit for no daily limit.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


class StopCouponArgs(Args):
    coupon_id: str = Field(min_length=1, max_length=80, description="Coupon id, as get_coupons lists it.")
    rationale: str = RATIONALE
    expected_effect: Effect | None = EXPECTED


def propose_tools(client: PlatformClient | ReadOnlyPlatform, sink: ProposalSink) -> list[BaseTool]:
    """The propose tools: each validates one action and records it in `sink`; none executes.

    What the agent saw (current bid, budget, status, mode) is read from the platform here, not
    taken from the model, so the guard measures a change against the truth.
    """
    p = client if isinstance(client, ReadOnlyPlatform) else ReadOnlyPlatform(client)

    def campaign(campaign_id: str) -> dict:
        for c in p.campaigns():
            if c["id"] == campaign_id:
                return c
        raise ToolException(f"campaign_id: no campaign {campaign_id!r} in this shop; get_campaigns lists them")

    def record(data: dict[str, Any], expected_effect: Effect | None) -> str:
        if expected_effect is not None:
            data["expected"] = expected_effect.model_dump(exclude_none=True)
        result = sink.record(data)
        if not result.ok:
            raise ToolException(result.message)
        return result.message

    def propose_bid(campaign_id: str, bid: float, rationale: str, expected_effect: Effect | None = None) -> str:
        """Propose a new cost-per-click bid for a search campaign. Keep the expected ad cost per
        order under unit_economics' max_cost_per_order. Only records the proposal: the owner's
        guard decides whether it runs, waits for approval, or is refused."""
        c = campaign(campaign_id)
        return record({"kind": "set_bid", "sku": c["sku"], "campaign_id": campaign_id, "bid": bid,
                       "current_bid": c["bid"], "rationale": rationale}, expected_effect)

    def propose_budget(campaign_id: str, budget: float, rationale: str,
                       expected_effect: Effect | None = None) -> str:
        """Propose a new daily budget for a campaign. Only records the proposal: the owner's
        guard decides."""
        c = campaign(campaign_id)
        return record({"kind": "set_budget", "sku": c["sku"], "campaign_id": campaign_id, "budget": budget,
                       "current_budget": c["budget"], "rationale": rationale}, expected_effect)

    def propose_campaign_status(campaign_id: str, status: CampaignStatus, rationale: str,
                                expected_effect: Effect | None = None) -> str:
        """Propose to pause or restart a campaign (e.g. pause at a stock-out or when every click
        loses money). Only records the proposal: the owner's guard decides."""
        c = campaign(campaign_id)
        return record({"kind": "set_campaign_status", "sku": c["sku"], "campaign_id": campaign_id,
                       "status": status, "current_status": c["status"], "rationale": rationale}, expected_effect)

    def propose_campaign_mode(campaign_id: str, mode: CampaignMode, rationale: str, target_roi: float | None = None,
                              expected_effect: Effect | None = None) -> str:
        """Propose search bidding, or whole-site promotion with one target ROI (GMV per yuan of
        spend; keep it at or above unit_economics' min_roi_at_floor). Only records the proposal:
        the owner's guard decides."""
        c = campaign(campaign_id)
        return record({"kind": "set_campaign_mode", "sku": c["sku"], "campaign_id": campaign_id, "mode": mode,
                       "target_roi": target_roi, "current_mode": c["mode"],
                       "current_target_roi": c["target_roi"] or None, "rationale": rationale}, expected_effect)

    def propose_coupon(type: CouponType, value: float, rationale: str, threshold: float = 0.0, sku: str | None = None,
                       segments: list[Segment] | None = None, valid_days: int = 7, quantity: int = 1000,
                       per_user_limit: int = 1, daily_limit: int | None = None,
                       expected_effect: Effect | None = None) -> str:
        """Propose a store coupon starting today. Target the buyers it changes (new, dormant,
        churn_risk, price_sensitive), not those who buy anyway (high_value); set a threshold a
        little above the average basket; check the post-coupon price with unit_economics against
        the lowest-price floor. Only records the proposal: the owner's guard decides."""
        today = p.today()
        data: dict[str, Any] = {"kind": "create_coupon", "type": type, "value": value, "threshold": threshold,
                                "sku": sku, "start_day": today, "end_day": today + valid_days - 1,
                                "quantity": quantity, "per_user_limit": per_user_limit, "daily_limit": daily_limit,
                                "rationale": rationale}
        if segments is not None:
            data["segments"] = segments
        return record(data, expected_effect)

    def propose_stop_coupon(coupon_id: str, rationale: str, expected_effect: Effect | None = None) -> str:
        """Propose to stop a live or scheduled coupon (e.g. one that mostly pays buyers who would
        buy anyway). Only records the proposal: the owner's guard decides."""
        found = [c for c in p.coupons() if c["id"] == coupon_id]
        if not found:
            raise ToolException(f"coupon_id: no coupon {coupon_id!r} in this shop; get_coupons lists them")
        return record({"kind": "stop_coupon", "coupon_id": coupon_id, "sku": found[0].get("sku"),
                       "rationale": rationale}, expected_effect)

    return [
        make_tool(propose_bid, "propose_bid", BidArgs),
        make_tool(propose_budget, "propose_budget", BudgetArgs),
        make_tool(propose_campaign_status, "propose_campaign_status", StatusArgs),
        make_tool(propose_campaign_mode, "propose_campaign_mode", ModeArgs),
        make_tool(propose_coupon, "propose_coupon", CouponArgs),
        make_tool(propose_stop_coupon, "propose_stop_coupon", StopCouponArgs),
    ]
