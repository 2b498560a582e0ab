"""Request bodies of the platform API, and the coupon a create-coupon body makes."""

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketplace.scenario import CouponSpec
from marketplace.world import InvalidWrite
from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment
from policies.limits import format_validation_error


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BidBody(_Body):
    bid: float = Field(description="Cost-per-click bid, yuan.")


class BudgetBody(_Body):
    budget: float = Field(description="Daily budget, yuan.")


class StatusBody(_Body):
    status: CampaignStatus


class ModeBody(_Body):
    mode: CampaignMode
    target_roi: float | None = Field(None, description="Whole-site target ROI (GMV / spend).")


class CouponBody(_Body):
    type: CouponType
    value: float = Field(gt=0, description="Face value in yuan, or percent off for percent coupons.")
    threshold: float = Field(0.0, ge=0)
    sku: str | None = Field(None, description="SKU it applies to; omit for the whole shop.")
    segments: list[Segment] | None = Field(None, description="Target segments; omit for everyone.")
    start_day: int | None = Field(None, ge=0, description="First day it is valid; default today.")
    valid_days: int = Field(7, ge=1, le=90)
    quantity: int = Field(1000, ge=1, le=1_000_000)
    per_user_limit: int = Field(1, ge=1, le=100)
    daily_limit: int | None = Field(None, ge=1)


class AdvanceBody(_Body):
    days: int = Field(1, ge=1, le=366)


def coupon_spec(body: CouponBody, today: int) -> CouponSpec:
    """The coupon a create-coupon body makes on day `today` (its `valid_days` from its start)."""
    start = today if body.start_day is None else body.start_day
    if start < today:
        raise InvalidWrite("start_day", f"must be today ({today}) or later, got {start}")
    fields = body.model_dump(exclude={"start_day", "valid_days", "segments"}, exclude_none=True)
    if body.segments is not None:
        fields["segments"] = body.segments
    try:
        return CouponSpec(**fields, start_day=start, end_day=start + body.valid_days - 1)
    except ValidationError as exc:
        raise InvalidWrite("coupon", format_validation_error(exc).strip()) from None
