"""The owner's policy: every limit the guard enforces, as validated data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policies.domain import ActionKind, CouponType


class _Strict(BaseModel):
    # NaN compares false with everything, so a NaN cap would let every action through.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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
    lowest_price_floor: dict[str, Annotated[float, Field(ge=0)]] = Field(
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
        if len(set(self.allowed_types)) != len(self.allowed_types):
            raise ValueError("discount.allowed_types lists a coupon type twice")
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

    def revise(self, changes: Mapping[str, Any], *, by: str, at: datetime) -> Policy:
        """The next version with `changes` merged in, recording who changed it and when.

        `changes` is a JSON merge patch nested like the policy: `{"spend": {"daily_cap": 800}}`
        changes one cap, `{"discount": {"lowest_price_floor": {"SKU-12": None}}}` drops one
        SKU's floor. The result is validated as a whole; a bad change raises PolicyError naming
        the field.
        """
        stamped = {"version", "changed_by", "changed_at"} & set(changes)
        if stamped:
            raise PolicyError(f"{', '.join(sorted(stamped))}: set by the revision itself, not by a change")
        if not by.strip():
            raise PolicyError("changed_by: a policy change needs the name of who made it")
        data = _merge(self.model_dump(), changes)
        data.update(version=self.version + 1, changed_by=by, changed_at=at)
        return parse_policy(data, source=f"revision {self.version + 1}")


POLICY_DIR = Path(__file__).parent
EXAMPLES = ("default", "cautious", "growth")


class PolicyError(ValueError):
    """A policy that cannot be used; the message names each bad field and the reason."""


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    """Validate a policy mapping; a bad one raises PolicyError naming the field and the reason."""
    try:
        return Policy.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise PolicyError(f"{source}: invalid policy\n{format_validation_error(exc)}") from None


def load_policy(path: str | Path) -> Policy:
    """Load a policy YAML file; a bad file raises PolicyError (a ValueError) naming the field and the reason."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    return parse_policy(data, source=str(path))


def example_policy(name: str = "default") -> Policy:
    """One of the policies shipped in `policies/`: default, cautious or growth."""
    if name not in EXAMPLES:
        raise PolicyError(f"unknown example policy {name!r}; choose one of {', '.join(EXAMPLES)}")
    return load_policy(POLICY_DIR / f"{name}.yaml")


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: dotted field path and what is wrong with it."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        # A cross-field rule already names its fields ("spend.daily_cap (…) is above …").
        lines.append(f"  {msg}" if msg.startswith(f"{where}.") else f"  {where}: {msg}")
    return "\n".join(lines)


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` laid over it as a JSON merge patch (RFC 7396): mappings merge key by
    key, None removes a key (a field then takes its default)."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
