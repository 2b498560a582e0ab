"""The analyse step: daily KPIs from the platform's metrics, and the anomalies worth the owner's eye.

Profit is the merchant's own sum (the platform does not report it): what buyers paid after
coupons and refunds, less commission, cost of goods, shipping and ad spend.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from marketplace.model import next_restock_day
from policies.economics import break_even_roi, floor_price, unit_margin
from policies.limits import Policy

STOCK_DAYS_AT_RISK = 2.0  # stock for fewer days of sales than this is a risk
CUTOFF_DROP = 0.4  # stage-2 search clicks down this much against the days before
EVENT_HORIZON_DAYS = 14


def daily_kpis(obs: dict[str, Any]) -> list[dict[str, float]]:
    """Per day: profit, GMV, orders, ad spend and coupon cost over the whole shop."""
    products = {p["sku"]: p for p in obs["products"]}
    days: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(
        ("profit", "gmv", "orders", "units", "ad_spend", "coupon_cost"), 0.0))
    for r in obs["metrics"]:
        p = products[r["sku"]]
        d = days[r["day"]]
        refunded_units = r["refunds"] * r["units"] / r["orders"] if r["orders"] else 0.0
        net_paid = (r["gmv"] - r["coupon_cost"] - r["refund_amount"]) * (1 - p["commission"])
        d["profit"] += (net_paid - (r["units"] - refunded_units) * p["cost"] - r["units"] * p["shipping"]
                        - r["ad_spend"])
        for k in ("gmv", "orders", "units", "ad_spend", "coupon_cost"):
            d[k] += r[k]
    dates = {r["day"]: r["date"] for r in obs["metrics"]}
    return [{"day": day, "date": dates[day], **{k: round(v, 2) for k, v in days[day].items()}}
            for day in sorted(days)]


def sku_ad_roi(obs: dict[str, Any], window: int = 7) -> list[dict[str, Any]]:
    """Ad ROI (GMV per yuan of ad spend) by SKU over the last days, next to its break-even."""
    day = obs["day"]
    spend: dict[str, float] = defaultdict(float)
    gmv: dict[str, float] = defaultdict(float)
    for r in obs["metrics"]:
        if r["source"] != "organic" and r["day"] >= day - window:
            spend[r["sku"]] += r["ad_spend"]
            gmv[r["sku"]] += r["gmv"]
    out = []
    for p in obs["products"]:
        be = float(break_even_roi(p["selling_price"], p["cost"], p["commission"], p["shipping"]))
        roi = gmv[p["sku"]] / spend[p["sku"]] if spend[p["sku"]] > 0.5 else None
        out.append({"sku": p["sku"], "roi": round(roi, 2) if roi is not None else None,
                    "break_even_roi": round(be, 2) if be != float("inf") else None})
    return out


def anomalies(obs: dict[str, Any], policy: Policy) -> list[dict[str, Any]]:
    """Stage-2 cut-off, ROI below break-even, stock-out risk, lowest-price risk before an event."""
    day = obs["day"]
    found: list[dict[str, Any]] = []
    by_sku_source: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for r in obs["metrics"]:
        by_sku_source[(r["sku"], r["source"])][r["day"]] = r
    campaigns = {c["sku"]: c for c in obs["campaigns"]}
    for p in obs["products"]:
        sku = p["sku"]
        search = by_sku_source[(sku, "search")]
        camp = campaigns.get(sku)
        if camp and camp["stage"] == 2 and camp["mode"] == "search" and camp["status"] == "active":
            recent = [search[d]["clicks"] for d in (day - 1, day - 2) if d in search]
            before = [search[d]["clicks"] for d in range(day - 7, day - 2) if d in search]
            if recent and before and sum(recent) / len(recent) < (1 - CUTOFF_DROP) * sum(before) / len(before):
                drop = 1 - (sum(recent) / len(recent)) / (sum(before) / len(before))
                found.append(_anomaly("stage2_cutoff", sku, traffic_drop=round(drop, 3)))
        units = [sum(by_sku_source[(sku, s)].get(d, {}).get("units", 0.0) for s in ("organic", "search", "whole_site"))
                 for d in range(max(0, day - 7), day)]
        per_day = sum(units) / len(units) if units else 0.0
        if per_day > 0 and p["stock"] < STOCK_DAYS_AT_RISK * per_day and not _restocked_in_time(p, day, per_day):
            found.append(_anomaly("stockout_risk", sku, days_left=round(p["stock"] / per_day, 1)))
        found.extend(_event_risk(obs, p, policy))
    for r in sku_ad_roi(obs, window=3):
        if r["roi"] is not None and r["break_even_roi"] is not None and r["roi"] < r["break_even_roi"]:
            found.append(_anomaly("roi_below_break_even", r["sku"], roi=r["roi"], break_even_roi=r["break_even_roi"]))
    return found


def next_restock(p: dict, day: int) -> int | None:
    """The first day from `day` on whose morning the platform restocks the product (today's restock comes after the
    morning's stock was read, before the day's sales), or None without a schedule."""
    r = p.get("restock")
    return next_restock_day(day, r["every_days"]) if r and r["quantity"] > 0 else None


def _restocked_in_time(p: dict, day: int, per_day: float) -> bool:
    """Whether a restock comes before the stock, sold at `per_day`, runs out."""
    restock = next_restock(p, day)
    return restock is not None and p["stock"] / per_day >= restock - day


def _event_risk(obs: dict, p: dict, policy: Policy) -> list[dict[str, Any]]:
    """An event soon whose entry price, at today's 30-day lowest price, breaks the margin floor."""
    out = []
    for e in obs["calendar"]:
        if not 0 < e["start_day"] - obs["day"] <= EVENT_HORIZON_DAYS:
            continue
        if p["sku"] not in {s["sku"] for s in e["skus"]}:
            continue
        entry = e["entry_ratio"] * p["lowest_price_30d"]
        margin = unit_margin(entry, p["cost"], p["commission"], p["shipping"])
        if margin < policy.profit.min_net_margin * entry:
            floor = float(floor_price(p["cost"], p["commission"], p["shipping"], policy.profit.min_net_margin))
            out.append(_anomaly("lowest_price_risk", p["sku"], event=e["name"], price=round(entry, 2),
                                floor=round(floor, 2)))
    return out


def _anomaly(code: str, sku: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "sku": sku, "params": params}
