"""Analysis tools: unit economics, a response estimate from the SKU's own history, a 7-day forecast.

All three are deliberately simple sums over what the platform reports, so the model (and the
owner reading its rationale) can check them by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import Field

from marketplace.client import PlatformClient
from policies import economics as econ
from policies.limits import Policy, ProfitLimits
from tools.platform_tools import ReadOnlyPlatform, SkuArgs, as_data, make_tool

RESPONSE_DAYS = 14
FORECAST_DAYS = 7
FORECAST_HISTORY = 28
AD_SOURCES = ("search", "whole_site")
SUMMED = ("impressions", "clicks", "visitors", "orders", "units", "gmv", "ad_spend", "coupon_cost")


class UnitEconomicsArgs(SkuArgs):
    coupon_value: float = Field(0.0, ge=0, description="Coupon face value in yuan, or percent off when percent.")
    percent: bool = Field(False, description="True: coupon_value is a percent off.")
    threshold: float = Field(0.0, ge=0, description="Coupon threshold (yuan order value); 0 for none.")


def analysis_tools(client: PlatformClient | ReadOnlyPlatform, policy: Policy | None = None) -> list[BaseTool]:
    """Unit economics, response estimate and forecast for one shop, under the owner's policy if given."""
    p = client if isinstance(client, ReadOnlyPlatform) else ReadOnlyPlatform(client)

    def unit_economics(sku: str, coupon_value: float = 0.0, percent: bool = False, threshold: float = 0.0) -> str:
        """Per-unit sums for a SKU at its selling price, optionally after a coupon: unit margin,
        break-even ROI, the most ad cost one order may carry at the owner's margin floor, the
        smallest ROI that keeps that floor, and whether the coupon would push the 30-day lowest
        price below the owner's floor. Bids whose cost per order passes max_cost_per_order lose
        money for the owner, whatever the platform suggests."""
        return as_data(unit_economics_facts(p.product(sku), policy, coupon_value, percent=percent,
                                            threshold=threshold))

    def response_estimate(sku: str) -> str:
        """How a SKU's traffic answered over the last 14 finished days, per source (organic,
        search, whole_site): clicks a day, cost per click, conversion per visitor, ad ROI, ad cost
        per order, and the organic share of orders."""
        end = p.today() - 1
        rows = p.metrics(sku=sku, start_day=max(end - RESPONSE_DAYS + 1, 0), end_day=end, group="source") \
            if end >= 0 else []
        return as_data(response_facts(sku, rows))

    def forecast(sku: str) -> str:
        """A 7-day projection of a SKU's orders, units, GMV and ad spend at the current settings:
        the mean of the last 7 finished days times a weekday factor from the last 28 (ad spend
        flat). It ignores
        promotion events, stock-outs and any change you propose; days of stock left is stock
        divided by the recent units a day."""
        today = p.shop()
        end = int(today["day"]) - 1
        rows = p.metrics(sku=sku, start_day=max(end - FORECAST_HISTORY + 1, 0), end_day=end, group="sku") \
            if end >= 0 else []
        stock = p.product(sku).get("stock")
        return as_data(forecast_facts(sku, rows, date.fromisoformat(today["date"]), int(today["day"]), stock))

    return [
        make_tool(unit_economics, "unit_economics", UnitEconomicsArgs),
        make_tool(response_estimate, "response_estimate", SkuArgs),
        make_tool(forecast, "forecast", SkuArgs),
    ]


# ---- the sums, as plain functions --------------------------------------------------------------
def unit_economics_facts(product: dict, policy: Policy | None, coupon_value: float = 0.0, *,
                         percent: bool = False, threshold: float = 0.0) -> dict[str, Any]:
    """SPEC section 2's unit economics for one product dict (as the platform's product view)."""
    price, list_price = float(product["selling_price"]), float(product["price"])
    cost, commission, shipping = float(product["cost"]), float(product["commission"]), float(product["shipping"])
    floor = (policy.profit if policy else ProfitLimits()).min_net_margin
    p_eff = float(econ.post_coupon_price(price, coupon_value, percent=percent))
    lowest_unit = float(econ.lowest_unit_price(price, coupon_value, threshold, percent=percent))
    price_floor = policy.floor_for(product["sku"], list_price) if policy else None
    max_cpo = float(econ.max_cost_per_order(p_eff, cost, commission, shipping, floor))
    return {
        "sku": product["sku"], "selling_price": price, "list_price": list_price,
        "coupon": {"value": coupon_value, "percent": percent, "threshold": threshold} if coupon_value else None,
        "post_coupon_price": round(p_eff, 2),
        "unit_margin": round(float(econ.unit_margin(p_eff, cost, commission, shipping)), 2),
        "break_even_roi": _round(econ.break_even_roi(p_eff, cost, commission, shipping)),
        "margin_floor": floor,
        "max_cost_per_order": round(max_cpo, 2),
        "min_roi_at_floor": _round(econ.min_roi_at_floor(p_eff, cost, commission, shipping, floor)),
        "lowest_unit_price": round(lowest_unit, 2),
        "lowest_price_30d": product.get("lowest_price_30d"),
        "lowest_price_floor": round(price_floor, 2) if price_floor is not None else None,
        "below_lowest_price_floor": (lowest_unit < price_floor - 1e-9) if price_floor is not None else None,
        "note": None if max_cpo > 0 else "no room for any ad cost at the margin floor",
    }


def response_facts(sku: str, rows: list[dict]) -> dict[str, Any]:
    """Totals per traffic source over `rows` (metrics grouped by source) and the ratios they give."""
    days = len({r["day"] for r in rows})
    if not days:
        return {"sku": sku, "days": 0, "note": "no finished day yet"}
    tot = {src: {f: sum(r[f] for r in rows if r["source"] == src) for f in SUMMED}
           for src in ("organic", *AD_SOURCES)}
    sources = {}
    for src, t in tot.items():
        s: dict[str, Any] = {"visitors_per_day": round(t["visitors"] / days, 1),
                             "orders_per_day": round(t["orders"] / days, 2),
                             "conversion": _ratio(t["orders"], t["visitors"], 4)}
        if src in AD_SOURCES:
            s |= {"clicks_per_day": round(t["clicks"] / days, 1), "spend_per_day": round(t["ad_spend"] / days, 2),
                  "cpc": _ratio(t["ad_spend"], t["clicks"]), "roi": _ratio(t["gmv"], t["ad_spend"]),
                  "cost_per_order": _ratio(t["ad_spend"], t["orders"])}
        sources[src] = s
    ad = {f: sum(tot[s][f] for s in AD_SOURCES) for f in ("gmv", "ad_spend", "orders")}
    orders = sum(t["orders"] for t in tot.values())
    return {
        "sku": sku, "days": days, "sources": sources,
        "ads": {"roi": _ratio(ad["gmv"], ad["ad_spend"]), "cost_per_order": _ratio(ad["ad_spend"], ad["orders"])},
        "organic_share_of_orders": _ratio(tot["organic"]["orders"], orders, 3),
    }


def forecast_facts(sku: str, rows: list[dict], today: date, today_day: int, stock: int | None) -> dict[str, Any]:
    """Mean of the last 7 days × weekday factor (mean orders of that weekday / overall mean,
    normalised to average 1); ad spend stays flat, since the budget caps it.

    With fewer than 14 days the weekday factors are 1: one sample per weekday is noise.
    """
    fields = ("orders", "units", "gmv", "ad_spend")
    if not rows:
        return {"sku": sku, "note": "no finished day yet: nothing to project"}
    rows = sorted(rows, key=lambda r: r["day"])
    recent = rows[-FORECAST_DAYS:]
    level = {f: sum(r[f] for r in recent) / len(recent) for f in fields}
    factor = _weekday_factors(rows) if len(rows) >= 14 else [1.0] * 7
    projected = []
    for k in range(FORECAST_DAYS):
        when = today + timedelta(days=k)
        w = factor[when.weekday()]
        # Ad spend follows the budget more than the weekday, so it is projected flat.
        projected.append((today_day + k, when, {f: level[f] * (1.0 if f == "ad_spend" else w) for f in fields}))
    units = level["units"]
    return {
        "sku": sku, "method": f"mean of the last {len(recent)} days × weekday factor of orders from {len(rows)} "
                              "days; ad spend flat",
        "weekday_factors_mon_to_sun": [round(f, 3) for f in factor],
        "days": [{"day": d, "date": when.isoformat(), **{f: round(v, 2) for f, v in vals.items()}}
                 for d, when, vals in projected],
        "total": {f: round(sum(vals[f] for _, _, vals in projected), 2) for f in fields},
        "stock": stock, "stock_days_left": round(stock / units, 1) if stock is not None and units > 0 else None,
    }


def _weekday_factors(rows: list[dict]) -> list[float]:
    """Orders by weekday against the mean, normalised to average 1 over the week."""
    by_day: list[list[float]] = [[] for _ in range(7)]
    for r in rows:
        by_day[date.fromisoformat(r["date"]).weekday()].append(r["orders"])
    overall = sum(r["orders"] for r in rows) / len(rows)
    if overall <= 0:
        return [1.0] * 7
    raw = [(sum(v) / len(v)) / overall if v else 1.0 for v in by_day]
    mean = sum(raw) / 7
    return [f / mean for f in raw]


def _ratio(num: float, den: float, digits: int = 2) -> float | None:
    return round(num / den, digits) if den > 0 else None


def _round(v: econ.Number) -> float | None:
    v = float(v)
    return round(v, 2) if v != float("inf") else None
