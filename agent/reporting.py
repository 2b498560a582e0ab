"""From a run's state to the daily report: KPIs, actions with what became of them, anomalies."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent import wording
from agent.i18n import LOCALES, Locale, t
from agent.report import write_report
from agent.report_data import ActionLine, Anomaly, CouponLine, CouponStatus, DayKpis, ReportData, SkuRoi


def report_data(state: Mapping[str, Any], shop_name: str = "", locale: Locale = "zh-CN") -> ReportData | None:
    """The report of the last finished day and this morning's actions; None before any history."""
    kpis = state["analysis"]["kpis"]
    if not kpis:
        return None
    days = {dt.date.fromisoformat(k["date"]): _kpis(k) for k in kpis}
    date = max(days)
    titles = {p["sku"]: p["title"] for p in state["observation"]["products"]}
    return ReportData(
        shop_id=state["shop_id"], shop_name=shop_name or state["shop_id"], date=date, locale=locale,
        today=days[date], yesterday=days.get(date - dt.timedelta(days=1)),
        last_week=days.get(date - dt.timedelta(days=7)),
        trend=[days[d] for d in sorted(days)[-28:]],
        roi_by_sku=[SkuRoi(sku=r["sku"], title=titles.get(r["sku"]), roi=r["roi"], break_even_roi=r["break_even_roi"])
                    for r in state["analysis"]["roi_by_sku"] if r["roi"] is not None and r["break_even_roi"]],
        actions=[_line(o, titles, locale) for o in state.get("outcomes", [])],
        anomalies=[Anomaly(code=a["code"], sku=a["sku"], params=a["params"]) for a in state["analysis"]["anomalies"]],
        coupons=coupon_lines(state),
    )


def daily_reports(state: Mapping[str, Any], shop_name: str = "") -> dict[Locale, ReportData]:
    """The day's report in each language, since the actions' reasons and the guard's messages are chosen per
    language; empty before there is any history."""
    reports = {loc: report_data(state, shop_name, loc) for loc in LOCALES}
    return {loc: data for loc, data in reports.items() if data is not None} if all(reports.values()) else {}


def write_daily_report(state: dict[str, Any], out_dir: Path, shop_name: str = "") -> dict[str, str]:
    """Write the report in both languages; returns the paths (empty before any history)."""
    paths: dict[str, str] = {}
    for loc, data in daily_reports(state, shop_name).items():
        paths.update({k: str(v) for k, v in write_report(data, out_dir, (loc,)).items()})
    return paths


def _kpis(k: dict[str, Any]) -> DayKpis:
    return DayKpis(date=dt.date.fromisoformat(k["date"]), profit=k["profit"], gmv=k["gmv"],
                   orders=round(k["orders"]), ad_spend=k["ad_spend"], coupon_cost=k["coupon_cost"])


_COUPON_ORDER = ("live", "scheduled", "stopped", "used_up", "ended")


def coupon_lines(state: Mapping[str, Any]) -> list[CouponLine]:
    """The shop's coupons after this morning's actions: live and scheduled ones, and those stopped this morning,
    run out on the report's day or whose last day it was, as their use on that day still counts."""
    obs = state["observation"]
    today = obs["day"]
    coupons = {c["id"]: c for c in obs["coupons"]}
    for o in state.get("outcomes", []):  # the observation was read before today's coupons were created or stopped
        if o["status"] == "executed" and o["action"]["kind"] in ("create_coupon", "stop_coupon"):
            coupons[o["result"]["id"]] = o["result"]
    orders: dict[str, float] = defaultdict(float)
    for r in obs["metrics"]:
        if r["day"] == today - 1:
            orders[r["sku"]] += r["orders"]
    date = dt.date.fromisoformat(obs["date"])
    lines = [_coupon(c, status, today, date, orders) for c in coupons.values()
             if (status := _coupon_status(c, today)) is not None]
    return sorted(lines, key=lambda c: _COUPON_ORDER.index(c.status))


def _coupon_status(c: dict[str, Any], today: int) -> CouponStatus | None:
    if c["status"] == "live":
        return "live"
    if c["status"] == "scheduled":
        return "scheduled"
    if c["status"] == "stopped" and c.get("stopped_day") == today:
        return "stopped"
    if c["status"] == "exhausted" and c.get("exhausted_day") == today - 1:
        return "used_up"
    if c["status"] == "expired" and c["end_day"] == today - 1:
        return "ended"
    return None


def _coupon(c: dict[str, Any], status: CouponStatus, today: int, date: dt.date,
            orders: dict[str, float]) -> CouponLine:
    used_today = c["redeemed_last_day"]
    return CouponLine(
        id=c["id"], type=c["type"], value=c["value"], threshold=c["threshold"], sku=c["sku"],
        segments=c["segments"], status=status, start=date + dt.timedelta(days=c["start_day"] - today),
        end=date + dt.timedelta(days=c["end_day"] - today),
        days_left=c["end_day"] - today + 1 if status in ("live", "scheduled") else None,
        quantity=c["quantity"], used=c["redeemed"], used_today=used_today, cost=c["cost"],
        cost_today=round(c["cost"] / c["redeemed"] * used_today, 2) if c["redeemed"] > 0 else 0.0,
        orders_today=0.0 if c["start_day"] >= today else orders[c["sku"]] if c["sku"] else sum(orders.values()),
        counts_toward_lowest_price=c["counts_toward_lowest_price"],
    )


def _line(o: dict[str, Any], titles: dict[str, str], locale: Locale) -> ActionLine:
    a, v = o["action"], o["verdict"]
    before, after = wording.change(a, locale)
    target = a.get("campaign_id") or a.get("coupon_id") or a.get("sku") or t("terms.whole_shop", locale)
    return ActionLine(
        kind=a["kind"], target=target, sku=a.get("sku") if a.get("sku") != target else None,
        title=titles.get(a.get("sku") or ""), before=before, after=after,
        rationale=(a.get("rationale_zh") if locale == "zh-CN" else None) or a.get("rationale", ""),
        expected_effect=_effect(a.get("expected") or {}, locale), status=o["status"],
        limit=v["limit"] if o["status"] in ("denied", "pending") else None,
        guard_message=(v["message_zh"] if locale == "zh-CN" else v["message"]) if o["status"] != "executed" else None,
        error=o.get("error"),
    )


_EFFECT = {  # (English, Chinese) for each expected-effect figure
    "orders": ("{:.1f} orders/day", "每天 {:.1f} 单"), "ad_spend": ("ad spend ¥{:.0f}/day", "广告费每天 ¥{:.0f}"),
    "roi": ("ROI {:.1f}", "ROI {:.1f}"), "profit": ("profit ¥{:.0f}/day", "利润每天 ¥{:.0f}"),
}


def _effect(e: dict[str, Any], locale: str = "en") -> str:
    which = 1 if locale == "zh-CN" else 0
    parts = [fmt[which].format(e[key]) for key, fmt in _EFFECT.items() if e.get(key) is not None]
    return ("，" if which else ", ").join(parts)
