"""The owner's policy: every limit the guard enforces, as validated data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.domain import ActionKind, CouponType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpendLimits(_Strict):
    """Limits on advertising spend (yuan)."""

    daily_cap: float = Field(500.0, gt=0, description="Shop-wide ad spend per day, worst case.")
    monthly_cap: float = Field(12000.0, gt=0, description="Shop-wide ad spend per calendar month.")
    sku_daily_budget_cap: float = Field(200.0, gt=0, description="Largest daily budget per SKU.")
    max_bid: float = Field(5.0, gt=0, description="Absolute largest cost-per-click bid.")
    max_bid_change_pct: float = Field(
        50.0, gt=0, le=1000, description="Largest bid change per SKU per day, percent."
    )
    min_roi: float | None = Field(
        None, gt=0, description="Smallest ROI (GMV / ad spend); None derives it from the margin floor."
    )

    @model_validator(mode="after")
    def _caps_consistent(self) -> SpendLimits:
        if self.sku_daily_budget_cap > self.daily_cap:
            raise ValueError(
                f"spend.sku_daily_budget_cap ({self.sku_daily_budget_cap}) is above "
                f"spend.daily_cap ({self.daily_cap})"
            )
        if self.daily_cap > self.monthly_cap:
            raise ValueError(
                f"spend.daily_cap ({self.daily_cap}) is above spend.monthly_cap ({self.monthly_cap})"
            )
        return self


class DiscountLimits(_Strict):
    """Limits on coupons."""

    max_discount_pct: float = Field(
        20.0, ge=0, le=100, description="Largest discount of one coupon, percent of the price."
    )
    max_face_value: float = Field(20.0, ge=0, description="Largest face value of one coupon (yuan).")
    daily_budget: float = Field(200.0, ge=0, description="Coupon cost per day, worst case (yuan).")
    weekly_budget: float = Field(1000.0, ge=0, description="Coupon cost per week, worst case.")
    allowed_types: list[CouponType] = Field(
        default_factory=lambda: [CouponType.THRESHOLD, CouponType.PERCENT, CouponType.NO_THRESHOLD],
        description="Coupon types the agent may create.",
    )
    lowest_price_floor: dict[str, float] = Field(
        default_factory=dict,
        description="Per SKU: the 30-day lowest price may not fall below this (yuan).",
    )
    lowest_price_floor_ratio: float = Field(
        0.8, ge=0, le=1,
        description="For SKUs without an explicit floor: floor = ratio × list price.",
    )

    @model_validator(mode="after")
    def _budgets_consistent(self) -> DiscountLimits:
        if self.daily_budget > self.weekly_budget:
            raise ValueError(
                f"discount.daily_budget ({self.daily_budget}) is above "
                f"discount.weekly_budget ({self.weekly_budget})"
            )
        for sku, floor in self.lowest_price_floor.items():
            if floor < 0:
                raise ValueError(f"discount.lowest_price_floor[{sku}] is negative ({floor})")
        return self


class ProfitLimits(_Strict):
    """Profit floor after ad and coupon cost."""

    min_net_margin: float = Field(
        0.10, ge=0, lt=1, description="Net margin after ad and coupon cost, share of GMV."
    )


class AutonomyRule(_Strict):
    """Whether an action kind runs on its own, and up to what size."""

    mode: Literal["auto", "approval"] = "approval"
    max_change_pct: float | None = Field(
        None, ge=0,
        description="In auto mode, changes up to this percent run on their own; larger ones "
        "need approval. None: any size runs on its own.",
    )


def _default_autonomy_rules() -> dict[ActionKind, AutonomyRule]:
    return {
        ActionKind.SET_BID: AutonomyRule(mode="auto", max_change_pct=10.0),
        ActionKind.SET_BUDGET: AutonomyRule(mode="auto", max_change_pct=20.0),
        ActionKind.SET_CAMPAIGN_STATUS: AutonomyRule(mode="approval"),
        ActionKind.SET_CAMPAIGN_MODE: AutonomyRule(mode="approval"),
        ActionKind.CREATE_COUPON: AutonomyRule(mode="approval"),
        ActionKind.STOP_COUPON: AutonomyRule(mode="auto"),
    }


class Autonomy(_Strict):
    """What the agent may do without asking."""

    rules: dict[ActionKind, AutonomyRule] = Field(default_factory=_default_autonomy_rules)
    approval_expiry_hours: float = Field(24.0, gt=0, description="Pending approvals expire after.")
    kill_switch: bool = Field(False, description="When on, nothing executes.")

    @model_validator(mode="after")
    def _every_kind_has_a_rule(self) -> Autonomy:
        defaults = _default_autonomy_rules()
        for kind in ActionKind:
            self.rules.setdefault(kind, defaults[kind])
        return self


class Policy(_Strict):
    """The owner's policy for one shop. Changed only by the owner."""

    spend: SpendLimits = Field(default_factory=SpendLimits)
    discount: DiscountLimits = Field(default_factory=DiscountLimits)
    profit: ProfitLimits = Field(default_factory=ProfitLimits)
    autonomy: Autonomy = Field(default_factory=Autonomy)
    version: int = Field(1, ge=1)
    changed_by: str = "owner"
    changed_at: datetime = Field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def floor_for(self, sku: str, list_price: float) -> float:
        """The lowest 30-day price the owner accepts for a SKU."""
        explicit = self.discount.lowest_price_floor.get(sku)
        return explicit if explicit is not None else self.discount.lowest_price_floor_ratio * list_price


POLICY_DIR = Path(__file__).parent


def load_policy(path: str | Path) -> Policy:
    """Load a policy YAML file; a bad file raises ValueError naming the field and the reason."""
    from pydantic import ValidationError

    text = Path(path).read_text(encoding="utf-8")
    try:
        return Policy.model_validate(yaml.safe_load(text) or {})
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid policy\n{format_validation_error(exc)}") from None


def format_validation_error(exc) -> str:
    """One line per problem: dotted field path and what is wrong with it."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
