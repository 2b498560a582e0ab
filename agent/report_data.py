"""The daily report's input: the models the graph fills and the renderers format, and a sample for tests and docs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from agent.i18n import Locale

ActionStatus = Literal["executed", "failed", "pending", "denied", "expired", "rejected"]
AnomalyCode = Literal["stage2_cutoff", "roi_below_break_even", "stockout_risk", "lowest_price_risk", "other"]
CouponType = Literal["threshold", "percent", "no_threshold", "share", "follow"]
CouponStatus = Literal["live", "scheduled", "stopped", "used_up", "ended"]
MOSTLY_USED = 0.5  # a coupon on more than this share of the orders it covers mostly pays buyers who buy anyway


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DayKpis(_Data):
    """One day of a shop's results; money in yuan, profit after ad and coupon cost."""

    date: dt.date
    profit: float
    gmv: float = Field(ge=0)
    orders: int = Field(ge=0)
    ad_spend: float = Field(ge=0)
    coupon_cost: float = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, value: Any) -> Any:
        # render_json includes the derived figures; reading a stored report back recomputes them.
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k not in ("roi", "gmv_per_yuan", "net_margin")}
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def roi(self) -> float | None:
        """GMV per yuan of ad spend; None without ad spend."""
        return self.gmv / self.ad_spend if self.ad_spend > 0 else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gmv_per_yuan(self) -> float | None:
        """GMV per yuan of ad and coupon spend (seed 004's headline number); None without spend."""
        spend = self.ad_spend + self.coupon_cost
        return self.gmv / spend if spend > 0 else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_margin(self) -> float | None:
        """Profit as a share of GMV; None without GMV."""
        return self.profit / self.gmv if self.gmv > 0 else None


class ActionLine(_Data):
    """One action of the day as the owner should see it, whatever became of it."""

    kind: str = Field(description="An ActionKind value, e.g. set_bid.")
    target: str = Field(description="Campaign, coupon or SKU the action changes.")
    sku: str | None = None
    title: str | None = Field(None, description="The SKU's title: untrusted text, rendered as text.")
    before: float | str | None = None
    after: float | str | None = None
    rationale: str = ""
    expected_effect: str = ""
    status: ActionStatus
    limit: str | None = Field(None, description="Dotted policy field that blocked it, e.g. spend.max_bid.")
    guard_message: str | None = Field(None, description="The guard's explanation, with its numbers.")
    error: str | None = None
    expires_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _says_why(self) -> ActionLine:
        if self.status == "denied" and not self.limit:
            raise ValueError("a denied action needs the limit that blocked it")
        if self.status == "failed" and not self.error:
            raise ValueError("a failed action needs its error")
        return self


# Anomaly parameters by code, and how each is shown: money (yuan), ratio, share (0.62 → 62%), days, text.
ANOMALY_PARAMS: dict[str, dict[str, str]] = {
    "stage2_cutoff": {"traffic_drop": "share"},
    "roi_below_break_even": {"roi": "ratio", "break_even_roi": "ratio"},
    "stockout_risk": {"days_left": "days"},
    "lowest_price_risk": {"price": "money", "floor": "money", "event": "text"},
    "other": {"detail": "text"},
}


class Anomaly(_Data):
    """Something the owner should look at; the message is rendered from the code in each language."""

    code: AnomalyCode
    sku: str | None = None
    params: dict[str, float | str] = Field(default_factory=dict, description="See ANOMALY_PARAMS.")

    @model_validator(mode="after")
    def _params_match_code(self) -> Anomaly:
        expected = ANOMALY_PARAMS[self.code]
        if set(self.params) != set(expected):
            raise ValueError(f"anomaly {self.code} takes params {sorted(expected)}, got {sorted(self.params)}")
        for name, shown_as in expected.items():
            if (shown_as == "text") != isinstance(self.params[name], str):
                raise ValueError(f"anomaly {self.code}: param {name} should be {shown_as}")
        return self


class SkuRoi(_Data):
    """A SKU's ROI today against its break-even ROI (price after coupon ÷ unit margin)."""

    sku: str
    title: str | None = None
    roi: float = Field(ge=0)
    break_even_roi: float = Field(gt=0)


class CouponLine(_Data):
    """One of the shop's coupons on the report's day: its terms, its use and cost, how long it still runs."""

    id: str
    type: CouponType
    value: float = Field(gt=0, description="Yuan off, or percent off for a percent coupon.")
    threshold: float = Field(0.0, ge=0, description="Order value needed to use it; 0 for none.")
    sku: str | None = Field(None, description="The SKU it applies to; None for the whole shop.")
    segments: list[str] = Field(min_length=1, description="Buyer segments it targets, e.g. price_sensitive.")
    status: CouponStatus = Field(description="used_up: its quantity ran out on the report's day; ended: its last "
                                 "day was the report's day.")
    start: dt.date
    end: dt.date
    days_left: int | None = Field(None, ge=1, description="Days it still runs after the report's day; None once "
                                  "stopped or ended.")
    quantity: int = Field(ge=1, description="Coupons issued.")
    used: float = Field(ge=0, description="Uses in total.")
    used_today: float = Field(ge=0)
    cost: float = Field(ge=0, description="Cost in total, yuan.")
    cost_today: float = Field(ge=0, description="The platform reports cost in total only: today's uses at the "
                              "average cost per use (exact for fixed-value coupons).")
    orders_today: float = Field(ge=0, description="Orders on the SKUs it covers (the whole shop: all orders); 0 "
                                "when it did not run that day.")
    counts_toward_lowest_price: bool

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, value: Any) -> Any:
        # render_json includes order_share; reading a stored report back recomputes it.
        return {k: v for k, v in value.items() if k != "order_share"} if isinstance(value, dict) else value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def order_share(self) -> float | None:
        """Share of the covered orders that used it; None without orders."""
        return self.used_today / self.orders_today if self.orders_today > 0 else None

    @property
    def mostly_used(self) -> bool:
        """Live and used by more than half the orders it covers: likely paying buyers who would buy anyway."""
        return self.status == "live" and (self.order_share or 0.0) > MOSTLY_USED


class ReportData(_Data):
    """Everything the daily report shows; the graph fills it, the renderers only format it."""

    shop_id: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")  # also a folder name
    shop_name: str
    date: dt.date
    locale: Locale = "zh-CN"
    today: DayKpis
    yesterday: DayKpis | None = None
    last_week: DayKpis | None = Field(None, description="The same weekday a week before.")
    trend: list[DayKpis] = Field(default_factory=list, max_length=28, description="Up to 28 days, today included.")
    roi_by_sku: list[SkuRoi] = Field(default_factory=list)
    actions: list[ActionLine] = Field(default_factory=list)
    anomalies: list[Anomaly] = Field(default_factory=list)
    coupons: list[CouponLine] = Field(default_factory=list, description="Live, scheduled and just stopped, used "
                                      "up or ended coupons; empty in reports stored before coupons were shown.")
    narrative: str | None = Field(None, description="Written by an LLM if one ran; else a template sentence.")

    @model_validator(mode="after")
    def _dates_consistent(self) -> ReportData:
        for name, day, days_before in (("today", self.today, 0), ("yesterday", self.yesterday, 1),
                                       ("last_week", self.last_week, 7)):
            if day is not None and day.date != self.date - dt.timedelta(days=days_before):
                raise ValueError(f"{name} is dated {day.date}, expected {self.date - dt.timedelta(days=days_before)}")
        self.trend.sort(key=lambda d: d.date)
        dates = [d.date for d in self.trend]
        if len(set(dates)) != len(dates):
            raise ValueError("trend lists a day twice")
        if dates and dates[-1] > self.date:
            raise ValueError(f"trend runs to {dates[-1]}, after the report date {self.date}")
        return self


# --- Formatting -------------------------------------------------------------------------------


def sample_report(date: dt.date = dt.date(2026, 3, 14), locale: Locale = "zh-CN") -> ReportData:
    """A made-up but plausible day: two weeks of trend, three SKUs, one action of each status, one
    anomaly of each kind, coupons live, scheduled and stopped. For tests, previews and the demo."""
    days = []
    for i in range(14):
        day = date - dt.timedelta(days=13 - i)
        gmv = 4200.0 + 180.0 * i + (350.0 if day.weekday() >= 5 else 0.0)
        ad, coupon = 420.0 + 9.0 * i, 120.0 + 4.0 * i
        days.append(DayKpis(date=day, gmv=round(gmv, 2), orders=int(gmv // 58), ad_spend=ad, coupon_cost=coupon,
                            profit=round(gmv * 0.24 - ad - coupon, 2)))
    expires = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(9, 0))
    actions = [
        ActionLine(kind="set_bid", target="campaign C-101", sku="SKU-1", title="加厚珊瑚绒睡衣 女款", before=1.2,
                   after=1.3, status="executed", rationale="ROI 4.1 is well above break-even 2.6; more clicks pay.",
                   expected_effect="About 15 more clicks and ¥160 more GMV a day."),
        ActionLine(kind="set_budget", target="campaign C-102", sku="SKU-2", before=150.0, after=180.0,
                   status="failed", rationale="The budget ran out at 15:00 on a profitable day.",
                   expected_effect="Ads run into the evening peak.", error="platform timeout (HTTP 503) after 3 tries"),
        ActionLine(kind="create_coupon", target="dormant buyers", sku="SKU-3", after="¥10 off ¥99, 7 days",
                   status="pending", rationale="Dormant buyers came back at 2.3× the rate with a coupon last month.",
                   expected_effect="About 40 orders for ¥400 of coupons.", expires_at=expires),
        ActionLine(kind="set_bid", target="campaign C-102", sku="SKU-2", before=1.6, after=2.4, status="denied",
                   rationale="Stage 2 of the event cut traffic; the platform suggests doubling the bid.",
                   limit="spend.max_bid", guard_message="bid ¥2.40 is above the highest bid ¥2.00"),
        ActionLine(kind="set_campaign_mode", target="campaign C-103", sku="SKU-3", before="search",
                   after="whole_site", status="expired", rationale="Whole-site promotion reached more buyers."),
        ActionLine(kind="stop_coupon", target="coupon Q-9", sku="SKU-1", status="rejected",
                   rationale="Loyal buyers use it who would buy anyway."),
    ]
    anomalies = [
        Anomaly(code="stage2_cutoff", sku="SKU-2", params={"traffic_drop": 0.62}),
        Anomaly(code="roi_below_break_even", sku="SKU-2", params={"roi": 1.8, "break_even_roi": 2.4}),
        Anomaly(code="stockout_risk", sku="SKU-1", params={"days_left": 2.5}),
        Anomaly(code="lowest_price_risk", sku="SKU-3", params={"price": 79.0, "floor": 85.0, "event": "3·15 大促"}),
        Anomaly(code="other", params={"detail": "Refund requests doubled since yesterday."}),
    ]
    everyone = ["new", "dormant", "high_value", "churn_risk", "price_sensitive"]
    a_day = dt.timedelta(days=1)
    coupons = [  # today's coupon cost is 172: 110 + 56 + 6
        CouponLine(id="Q-9", type="no_threshold", value=5.0, sku="SKU-1", segments=everyone, status="live",
                   start=date - 20 * a_day, end=date + 16 * a_day, days_left=16, quantity=2000, used=612,
                   used_today=22, cost=3060.0, cost_today=110.0, orders_today=30, counts_toward_lowest_price=True),
        CouponLine(id="Q-12", type="threshold", value=8.0, threshold=99.0, segments=["price_sensitive", "dormant"],
                   status="live", start=date - 6 * a_day, end=date + a_day, days_left=1, quantity=1000, used=43,
                   used_today=7, cost=344.0, cost_today=56.0, orders_today=days[-1].orders,
                   counts_toward_lowest_price=True),
        CouponLine(id="Q-15", type="percent", value=10.0, sku="SKU-2", segments=["new"], status="scheduled",
                   start=date + 3 * a_day, end=date + 9 * a_day, days_left=9, quantity=500, used=0,
                   used_today=0, cost=0, cost_today=0, orders_today=0, counts_toward_lowest_price=True),
        CouponLine(id="Q-4", type="follow", value=3.0, segments=everyone, status="stopped",
                   start=date - 30 * a_day, end=date + 30 * a_day, quantity=5000, used=820, used_today=2,
                   cost=2460.0, cost_today=6.0, orders_today=days[-1].orders, counts_toward_lowest_price=False),
    ]
    return ReportData(
        shop_id="demo-shop", shop_name="小二的杂货铺", date=date, locale=locale, today=days[-1],
        yesterday=days[-2], last_week=days[-8], trend=days,
        roi_by_sku=[SkuRoi(sku="SKU-1", title="加厚珊瑚绒睡衣 女款", roi=4.1, break_even_roi=2.6),
                    SkuRoi(sku="SKU-2", roi=1.8, break_even_roi=2.4),
                    SkuRoi(sku="SKU-3", roi=3.0, break_even_roi=2.9)],
        actions=actions, anomalies=anomalies, coupons=coupons,
    )
