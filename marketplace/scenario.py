"""Scenario files: shops, products with their hidden true market parameters, events, policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment
from policies.limits import Policy, format_validation_error, load_policy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MarketTruth(_Strict):
    """Hidden true response parameters of one SKU. Only the simulator and the oracle read them."""

    v0: float = Field(120.0, ge=0, description="Organic visitors per day at base rank.")
    rho: float = Field(0.5, ge=0, le=3, description="Rank lift: organic × (1 + rho·tanh(sales_7d/s_ref)).")
    s_ref: float = Field(40.0, gt=0, description="7-day unit sales at which the rank lift is ~76% in.")
    base_cr: float = Field(0.04, gt=0, lt=1, description="Conversion rate of a visitor at the reference price.")
    cmax: float = Field(300.0, ge=0, description="Most search-ad clicks a day at any bid.")
    b50: float = Field(1.0, gt=0, description="Bid that buys half of cmax (Hill midpoint), yuan.")
    h: float = Field(1.5, ge=0.5, le=3, description="Hill exponent of the bid response.")
    kappa: float = Field(0.85, gt=0, le=1, description="Cost per click ≈ kappa × bid.")
    n1: float = Field(30.0, ge=0, description="Ad orders after which stage 2 (precise audience) starts.")
    r2: float = Field(2.0, gt=0, description="Hidden stage-2 reserve bid; below it clicks fall as (b/r2)^3.")
    smax: float = Field(200.0, ge=0, description="Whole-site campaign: most spend a day at the lowest target ROI.")
    tmin: float = Field(2.0, gt=0, description="Whole-site campaign: lowest target ROI the platform delivers at.")
    gamma: float = Field(1.5, gt=0, description="Whole-site delivery falls as (tmin/T)^gamma above tmin.")
    smart_coupon_share: float = Field(
        0.2, ge=0, lt=1, description="Whole-site share of spend turned into buyer coupons."
    )
    refund_rate: float = Field(0.02, ge=0, lt=1, description="Share of orders refunded.")
    p_ref: float | None = Field(None, gt=0, description="Reference price for elasticity; default list price.")


class Restock(_Strict):
    every_days: int = Field(7, ge=1)
    quantity: int = Field(0, ge=0)


class ProductSpec(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    title: str = ""
    price: float = Field(gt=0, description="List price, yuan.")
    cost: float = Field(ge=0, description="Unit cost of goods, yuan.")
    shipping: float = Field(0.0, ge=0, description="Shipping per unit, yuan.")
    commission: float = Field(0.05, ge=0, lt=1, description="Platform commission, share of paid price.")
    stock: int = Field(1000, ge=0)
    restock: Restock | None = None
    market: MarketTruth = Field(default_factory=MarketTruth)

    @model_validator(mode="after")
    def _sellable(self) -> Self:
        if self.cost + self.shipping >= self.price:
            raise ValueError(
                f"cost ({self.cost}) + shipping ({self.shipping}) must be below price ({self.price})"
            )
        return self


class SegmentSpec(_Strict):
    name: Segment
    share: float = Field(gt=0, le=1, description="Share of the shop's visitors.")
    conv_mult: float = Field(1.0, gt=0, description="Conversion multiplier against the SKU's base rate.")
    elasticity: float = Field(2.6, ge=0, le=8, description="Price elasticity of conversion.")
    basket_units: float = Field(1.0, ge=1, le=10, description="Average units per order.")


def default_segments() -> list[SegmentSpec]:
    """A typical mix: elasticities within the published ranges (mean ≈ 2.6)."""
    return [
        SegmentSpec(name=Segment.NEW, share=0.30, conv_mult=0.8, elasticity=2.5, basket_units=1.1),
        SegmentSpec(name=Segment.DORMANT, share=0.15, conv_mult=0.6, elasticity=2.0, basket_units=1.2),
        SegmentSpec(name=Segment.HIGH_VALUE, share=0.20, conv_mult=1.8, elasticity=0.6, basket_units=1.6),
        SegmentSpec(name=Segment.CHURN_RISK, share=0.10, conv_mult=0.7, elasticity=1.8, basket_units=1.2),
        SegmentSpec(
            name=Segment.PRICE_SENSITIVE, share=0.25, conv_mult=0.9, elasticity=3.5, basket_units=1.1
        ),
    ]


class CampaignSpec(_Strict):
    sku: str
    id: str | None = None
    mode: CampaignMode = CampaignMode.SEARCH
    status: CampaignStatus = CampaignStatus.ACTIVE
    bid: float = Field(1.0, ge=0)
    budget: float = Field(50.0, ge=0)
    target_roi: float = Field(3.0, gt=0)


class CouponSpec(_Strict):
    """A store coupon, as created by the merchant (or a scenario)."""

    id: str | None = None
    type: CouponType
    value: float = Field(gt=0, description="Face value in yuan, or percent off for percent coupons.")
    threshold: float = Field(0.0, ge=0, description="Order value needed to use it; 0 for none.")
    sku: str | None = Field(None, description="SKU it applies to; None for the whole shop.")
    segments: list[Segment] = Field(default_factory=lambda: list(Segment))
    start_day: int = Field(0, ge=0)
    end_day: int = Field(10_000, ge=0)
    quantity: int = Field(1000, ge=1, description="Total coupons issued.")
    per_user_limit: int = Field(1, ge=1)
    daily_limit: int | None = Field(None, ge=1, description="Most redemptions a day; None: no limit.")
    counts_toward_lowest_price: bool | None = Field(
        None, description="Whether its post-coupon price enters the 30-day lowest price; "
        "None: the platform rule for its type."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.type is CouponType.PERCENT and self.value >= 100:
            raise ValueError(f"value: a percent coupon takes less than 100 percent, got {self.value}")
        if self.type is CouponType.THRESHOLD and self.threshold <= self.value:
            raise ValueError(
                f"threshold ({self.threshold}) must be above the face value ({self.value}) "
                "for a threshold coupon"
            )
        if self.end_day < self.start_day:
            raise ValueError(f"end_day ({self.end_day}) is before start_day ({self.start_day})")
        if not self.segments:
            raise ValueError("segments: a coupon needs at least one target segment")
        return self

    @property
    def counts(self) -> bool:
        if self.counts_toward_lowest_price is not None:
            return self.counts_toward_lowest_price
        return self.type.counts_toward_lowest_price


class EventSpec(_Strict):
    """A promotion-calendar event: entry needs event price ≤ entry_ratio × 30-day lowest price."""

    id: str
    name: str
    name_zh: str = ""
    start_day: int = Field(ge=0)
    end_day: int = Field(ge=0)
    entry_ratio: float = Field(0.95, gt=0, le=1)
    traffic_mult: float = Field(3.0, ge=1)
    skus: list[str] | None = Field(None, description="SKUs invited; None for all.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.end_day < self.start_day:
            raise ValueError(f"end_day ({self.end_day}) is before start_day ({self.start_day})")
        return self


class ShopSpec(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    token: str | None = Field(None, description="Owner API token; default derived from the seed.")
    locale: str = "zh-CN"
    season_amplitude: float = Field(0.15, ge=0, le=0.5)
    traffic_noise_sigma: float = Field(0.2, ge=0, le=1)
    segments: list[SegmentSpec] = Field(default_factory=default_segments)
    products: list[ProductSpec] = Field(min_length=1)
    campaigns: list[CampaignSpec] = Field(default_factory=list)
    coupons: list[CouponSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _references(self) -> Self:
        skus = [p.sku for p in self.products]
        if len(set(skus)) != len(skus):
            raise ValueError("products: SKU ids must be unique within a shop")
        known = set(skus)
        for i, c in enumerate(self.campaigns):
            if c.sku not in known:
                raise ValueError(f"campaigns[{i}].sku: unknown SKU {c.sku!r}")
        if len({c.sku for c in self.campaigns}) != len(self.campaigns):
            raise ValueError("campaigns: at most one campaign per SKU")
        for i, coupon in enumerate(self.coupons):
            if coupon.sku is not None and coupon.sku not in known:
                raise ValueError(f"coupons[{i}].sku: unknown SKU {coupon.sku!r}")
        for i, e in enumerate(self.events):
            for sku in e.skus or []:
                if sku not in known:
                    raise ValueError(f"events[{i}].skus: unknown SKU {sku!r}")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError("segments: each segment may appear once")
        total = sum(s.share for s in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segments: shares must add up to 1, got {total:.4f}")
        return self


class Scenario(_Strict):
    name: str
    description: str = ""
    description_zh: str = ""
    seed: int = Field(0, ge=0)
    horizon_days: int = Field(28, ge=1, le=366)
    start_date: date = date(2026, 3, 2)
    shops: list[ShopSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_shops(self) -> Self:
        ids = [s.id for s in self.shops]
        if len(set(ids)) != len(ids):
            raise ValueError("shops: shop ids must be unique")
        return self


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the field and the reason."""


def parse_scenario(data: dict, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a scenario mapping. `policy_file:` in a shop loads a policy YAML by path."""
    data = dict(data)
    for shop in data.get("shops") or []:
        if isinstance(shop, dict) and "policy_file" in shop:
            ref = Path(shop.pop("policy_file"))
            if not ref.is_absolute():
                ref = (base_dir or Path.cwd()) / ref
            shop["policy"] = load_policy(ref).model_dump()
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: invalid scenario\n{format_validation_error(exc)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a YAML scenario file."""
    path = Path(path)
    try:
        # libyaml's loader where available: a 50,000-SKU file loads in a quarter of the time.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with name, shops, ...")
    return parse_scenario(data, source=str(path), base_dir=path.parent)
