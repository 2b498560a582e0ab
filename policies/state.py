"""What the guard knows about a shop when it checks an action: a snapshot read from the platform."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.domain import CampaignMode, CampaignStatus, CouponType


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProductState(_Frozen):
    """One SKU's price and costs (yuan) and what the platform reports about it."""

    price: float = Field(gt=0, description="Current selling price before coupons.")
    list_price: float | None = Field(
        None, gt=0, description="Reference for the owner's floor ratio; None: the selling price."
    )
    cost: float = Field(ge=0, description="Unit cost of goods.")
    commission: float = Field(0.05, ge=0, lt=1, description="Platform commission, share of the price paid.")
    shipping: float = Field(0.0, ge=0, description="Shipping per unit.")
    lowest_price_30d: float | None = Field(
        None, ge=0, description="Lowest counted post-coupon price of the last 30 days; None: the selling price."
    )
    stock: int = Field(0, ge=0)
    ad_cost_per_order: float | None = Field(
        None, ge=0, description="Observed ad cost per ad order at the campaign's current bid; None: unknown."
    )

    @property
    def reference_price(self) -> float:
        return self.list_price if self.list_price is not None else self.price

    @property
    def lowest(self) -> float:
        return self.lowest_price_30d if self.lowest_price_30d is not None else self.price


class CampaignState(_Frozen):
    """A campaign's settings at the start of the day."""

    sku: str
    mode: CampaignMode = CampaignMode.SEARCH
    status: CampaignStatus = CampaignStatus.ACTIVE
    bid: float = Field(0.0, ge=0)
    budget: float = Field(0.0, ge=0)
    target_roi: float | None = Field(None, gt=0)


class CouponState(_Frozen):
    """A coupon that is live or scheduled on the platform."""

    type: CouponType
    value: float = Field(gt=0, description="Yuan off, or percent off for percent coupons.")
    threshold: float = Field(0.0, ge=0)
    sku: str | None = Field(None, description="SKU it applies to; None for the whole shop.")
    start_day: int = Field(0, ge=0)
    end_day: int = Field(10_000, ge=0)
    remaining: int = Field(ge=0, description="Coupons not yet redeemed.")
    daily_limit: int | None = Field(None, ge=1)
    counts_toward_lowest_price: bool | None = Field(None, description="None: the platform rule for its type.")

    @property
    def counts(self) -> bool:
        if self.counts_toward_lowest_price is not None:
            return self.counts_toward_lowest_price
        return self.type.counts_toward_lowest_price


class EventState(_Frozen):
    """A promotion-calendar event: entry needs event price ≤ entry_ratio × 30-day lowest price."""

    name: str = ""
    start_day: int = Field(ge=0)
    end_day: int = Field(ge=0)
    entry_ratio: float = Field(0.95, gt=0, le=1)
    skus: tuple[str, ...] | None = Field(None, description="SKUs invited; None for all.")

    def invites(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus


class ShopState(_Frozen):
    """A shop at the moment of the check: products, campaigns and coupons as the platform reports them.

    Campaigns and coupons are their start-of-day settings; what the agent changed since lives
    in the `Ledger`. Spend figures are what the platform billed before today.
    """

    today: date
    day: int = Field(0, ge=0, description="The platform's day number of `today` (coupon and event days).")
    products: dict[str, ProductState] = Field(description="By SKU.")
    campaigns: dict[str, CampaignState] = Field(default_factory=dict, description="By campaign id (cmp-<sku>).")
    coupons: dict[str, CouponState] = Field(default_factory=dict, description="By coupon id.")
    events: tuple[EventState, ...] = Field(default_factory=tuple, description="Upcoming and running events.")
    month_ad_spend: float = Field(0.0, ge=0, description="Ad spend billed this calendar month before today.")
    week_coupon_cost: float = Field(0.0, ge=0, description="Coupon cost billed this ISO week before today.")
    daily_overdelivery: float = Field(
        1.25, ge=1, description="A day may bill up to this × the daily budget (SPEC §3)."
    )
    month_billing_days: float = Field(
        30.4, gt=0, description="A calendar month never bills more than this × the daily budget (SPEC §3)."
    )
    max_basket_units: float = Field(
        1.0, ge=1, description="Most units in one order; bounds a percent coupon's yuan discount."
    )

    @model_validator(mode="after")
    def _references(self) -> Self:
        for cid, campaign in self.campaigns.items():
            if campaign.sku not in self.products:
                raise ValueError(f"campaigns[{cid}].sku: unknown SKU {campaign.sku!r}")
        for cid, coupon in self.coupons.items():
            if coupon.sku is not None and coupon.sku not in self.products:
                raise ValueError(f"coupons[{cid}].sku: unknown SKU {coupon.sku!r}")
        return self

    @property
    def days_left_in_month(self) -> int:
        """Days from today to the month's end, today included."""
        return calendar.monthrange(self.today.year, self.today.month)[1] - self.today.day + 1

    @property
    def days_left_in_week(self) -> int:
        """Days from today to Sunday, today included (ISO weeks start on Monday)."""
        return 7 - self.today.weekday()

    @property
    def week_end_day(self) -> int:
        """The platform day number of this ISO week's Sunday."""
        return self.day + self.days_left_in_week - 1

    def coupon_skus(self, sku: str | None) -> list[str]:
        """The SKUs a coupon for `sku` applies to (all of them for a shop-wide coupon)."""
        return list(self.products) if sku is None else [sku]

    def worst_discount_per_use(self, type: CouponType, value: float, threshold: float, sku: str | None) -> float:
        """Most one redemption can cost (yuan): the face value, or the percent of the largest basket."""
        if type is not CouponType.PERCENT:
            return value
        top = max(self.products[s].price for s in self.coupon_skus(sku)) if self.products else 0.0
        return value / 100.0 * max(top * self.max_basket_units, threshold)
