"""Typed actions: everything the agent may ask the platform to do, as data the guard can check."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from policies.domain import ActionKind, CampaignMode, CampaignStatus, CouponType, Segment


class _Frozen(BaseModel):
    # NaN compares false with every limit, so it must never reach the guard.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ExpectedEffect(_Frozen):
    """What the planner expects the action to bring, per day; every field is optional.

    The guard reads `cost_per_order` and `roi` to check the margin floor; the rest is for the
    owner and the report.
    """

    orders: float | None = Field(None, ge=0, description="Orders a day.")
    gmv: float | None = Field(None, ge=0, description="GMV a day, yuan.")
    ad_spend: float | None = Field(None, ge=0, description="Ad spend a day, yuan.")
    coupon_cost: float | None = Field(None, ge=0, description="Coupon cost a day, yuan.")
    profit: float | None = Field(None, description="Profit a day after ad and coupon cost, yuan.")
    cost_per_order: float | None = Field(None, ge=0, description="Ad cost per ad order, yuan.")
    roi: float | None = Field(None, gt=0, description="GMV per yuan of ad spend.")


# Why an action is proposed, not what it does: left out of fingerprints and platform bodies.
WHY_FIELDS = frozenset({"rationale", "rationale_zh", "expected"})


class _Action(_Frozen):
    rationale: str = Field("", max_length=4000, description="Why, in the planner's words.")
    rationale_zh: str = Field("", max_length=4000, description="The same reason in Simplified Chinese.")
    expected: ExpectedEffect = Field(default_factory=ExpectedEffect)


class _CampaignAction(_Action):
    sku: str = Field(min_length=1, max_length=64)
    campaign_id: str = Field("", max_length=80, description="Default: cmp-<sku>.")

    @model_validator(mode="before")
    @classmethod
    def _default_campaign(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("campaign_id") and data.get("sku"):
            return {**data, "campaign_id": f"cmp-{data['sku']}"}
        return data

    @property
    def target(self) -> str:
        return self.campaign_id


class SetBid(_CampaignAction):
    """Set a search campaign's cost-per-click bid."""

    kind: Literal[ActionKind.SET_BID] = ActionKind.SET_BID
    bid: float = Field(ge=0, description="New bid, yuan per click.")
    current_bid: float | None = Field(None, ge=0, description="The bid the agent saw.")


class SetBudget(_CampaignAction):
    """Set a campaign's daily budget."""

    kind: Literal[ActionKind.SET_BUDGET] = ActionKind.SET_BUDGET
    budget: float = Field(ge=0, description="New daily budget, yuan.")
    current_budget: float | None = Field(None, ge=0)


class SetCampaignStatus(_CampaignAction):
    """Start or pause a campaign."""

    kind: Literal[ActionKind.SET_CAMPAIGN_STATUS] = ActionKind.SET_CAMPAIGN_STATUS
    status: CampaignStatus
    current_status: CampaignStatus | None = None


class SetCampaignMode(_CampaignAction):
    """Switch between search bidding and whole-site target ROI, or change the target ROI."""

    kind: Literal[ActionKind.SET_CAMPAIGN_MODE] = ActionKind.SET_CAMPAIGN_MODE
    mode: CampaignMode
    target_roi: float | None = Field(None, gt=0, description="Whole-site only: GMV per yuan of spend.")
    current_mode: CampaignMode | None = None
    current_target_roi: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _roi_matches_mode(self) -> Self:
        if self.mode is CampaignMode.WHOLE_SITE and self.target_roi is None:
            raise ValueError("target_roi: a whole_site campaign needs a target ROI")
        if self.mode is CampaignMode.SEARCH and self.target_roi is not None:
            raise ValueError("target_roi: only a whole_site campaign takes a target ROI")
        return self


class CreateCoupon(_Action):
    """Create a store coupon; the fields mirror the platform's coupon body."""

    kind: Literal[ActionKind.CREATE_COUPON] = ActionKind.CREATE_COUPON
    type: CouponType
    value: float = Field(gt=0, description="Face value in yuan, or percent off for percent coupons.")
    threshold: float = Field(0.0, ge=0, description="Order value needed to use it; 0 for none.")
    sku: str | None = Field(None, max_length=64, description="SKU it applies to; None for the whole shop.")
    segments: tuple[Segment, ...] = Field(default_factory=lambda: tuple(Segment), min_length=1)
    start_day: int = Field(0, ge=0)
    end_day: int = Field(10_000, ge=0)
    quantity: int = Field(1000, ge=1, description="Total coupons issued.")
    per_user_limit: int = Field(1, ge=1)
    daily_limit: int | None = Field(None, ge=1, description="Most redemptions a day; None: no limit.")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.type is CouponType.PERCENT and self.value >= 100:
            raise ValueError(f"value: a percent coupon takes less than 100 percent, got {self.value}")
        if self.type is CouponType.THRESHOLD and self.threshold <= self.value:
            raise ValueError(f"threshold ({self.threshold}) must be above the face value ({self.value})")
        if self.end_day < self.start_day:
            raise ValueError(f"end_day ({self.end_day}) is before start_day ({self.start_day})")
        return self

    @property
    def target(self) -> str:
        return self.sku or "shop"

    @property
    def daily_uses(self) -> int:
        """Most redemptions in one day."""
        return min(self.daily_limit, self.quantity) if self.daily_limit is not None else self.quantity

    def platform_body(self) -> dict[str, Any]:
        """The platform's coupon body (`POST /coupons`)."""
        return self.model_dump(mode="json", exclude={"kind", *WHY_FIELDS})


class StopCoupon(_Action):
    """Stop a live or scheduled coupon."""

    kind: Literal[ActionKind.STOP_COUPON] = ActionKind.STOP_COUPON
    coupon_id: str = Field(min_length=1, max_length=80)
    sku: str | None = Field(None, description="The SKU it applies to, for the report.")
    holds_limit: str | None = Field(None, max_length=80, description="The owner's limit this stop keeps the shop "
                                    "within (e.g. discount.daily_budget): no plan may leave it out.")

    @property
    def target(self) -> str:
        return self.coupon_id


Action = Annotated[
    SetBid | SetBudget | SetCampaignStatus | SetCampaignMode | CreateCoupon | StopCoupon,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(data: Any) -> Action:
    """Validate one action from a mapping (e.g. a model's tool call); the `kind` picks the type."""
    return _ADAPTER.validate_python(data)
