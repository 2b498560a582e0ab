"""The daily report of one shop: Markdown and HTML rendering, and files on disk (the models are in `report_data`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from agent import report_charts, wording
from agent.i18n import LOCALES, Locale, t, t_or
from agent.report_data import ANOMALY_PARAMS, ActionLine, Anomaly, CouponLine, ReportData, SkuRoi
from agent.wording import DASH, MINUS, money, ratio, share

TEMPLATES = Path(__file__).parent / "templates"


def delta(now: float | None, before: float | None) -> str:
    """Change against a base as +x.x% / −x.x%; "—" when either is missing or the base is zero."""
    if now is None or before is None or before == 0:
        return DASH
    pct = round((now - before) / abs(before) * 100, 1)
    if pct == 0:
        return "0.0%"
    return f"{'+' if pct > 0 else MINUS}{abs(pct):.1f}%"


_PARAM_FORMAT: dict[str, Callable[[Any], str]] = {
    "money": money, "ratio": ratio, "share": lambda x: f"{x * 100:.0f}%", "days": lambda x: f"{x:.1f}", "text": str,
}
_SPARKS = "▁▂▃▄▅▆▇█"


def _sparkline(values: np.ndarray) -> str:
    span = float(values.max() - values.min()) if values.size else 0.0
    if span == 0:
        return _SPARKS[3] * values.size
    idx = np.rint((values - values.min()) / span * (len(_SPARKS) - 1)).astype(int)
    return "".join(_SPARKS[i] for i in idx)


# --- View: the report's content as formatted strings, shared by both templates ----------------

# (key, attribute, formatter, whether up is good; None: neither, e.g. costs)
_KPIS: tuple[tuple[str, str, Callable[[Any], str], bool | None], ...] = (
    ("kpi.profit", "profit", money, True),
    ("kpi.gmv", "gmv", money, True),
    ("kpi.orders", "orders", lambda n: f"{n:,}", True),
    ("kpi.ad_spend", "ad_spend", money, None),
    ("kpi.coupon_cost", "coupon_cost", money, None),
    ("kpi.roi", "roi", ratio, True),
    ("kpi.gmv_per_yuan", "gmv_per_yuan", money, True),
    ("kpi.net_margin", "net_margin", share, True),
)
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("executed", ("executed",)), ("failed", ("failed",)), ("pending", ("pending",)),
    ("denied", ("denied",)), ("closed", ("expired", "rejected")),
)


def _worst_first(skus: list[SkuRoi]) -> list[SkuRoi]:
    """SKUs by ROI relative to break-even, the most worrying first."""
    return sorted(skus, key=lambda s: s.roi / s.break_even_roi)


def _tone(text: str, up_is_good: bool | None) -> str:
    if up_is_good is None or text in (DASH, "0.0%"):
        return "neutral"
    return "good" if text.startswith("+") == up_is_good else "bad"


def _kpi_rows(data: ReportData, locale: Locale) -> list[dict[str, str]]:
    rows = []
    for key, attr, fmt, up_is_good in _KPIS:
        now = getattr(data.today, attr)
        vs_y = delta(now, getattr(data.yesterday, attr) if data.yesterday else None)
        vs_w = delta(now, getattr(data.last_week, attr) if data.last_week else None)
        rows.append({"label": t(key, locale), "value": fmt(now), "vs_yesterday": vs_y, "vs_last_week": vs_w,
                     "tone_yesterday": _tone(vs_y, up_is_good), "tone_last_week": _tone(vs_w, up_is_good)})
    return rows


def _value(kind: str, v: float | str | None) -> str:
    if isinstance(v, float | int):
        return money(v) if kind in ("set_bid", "set_budget") else f"{v:g}"
    return v or DASH


def _action_view(a: ActionLine, locale: Locale) -> dict[str, Any]:
    change = " → ".join(_value(a.kind, x) for x in (a.before, a.after) if x is not None) or None
    limit = None
    if a.limit:
        label = t_or(f"limit.{a.limit}", locale, "")
        limit = f"{label} ({a.limit})" if label else a.limit
    return {
        "kind": t_or(f"kind.{a.kind}", locale, a.kind), "sku": a.sku, "title": a.title, "target": a.target,
        "change": change, "rationale": a.rationale, "expected": a.expected_effect, "error": a.error,
        "limit": limit, "guard": a.guard_message,
        "expires": a.expires_at.strftime("%Y-%m-%d %H:%M") if a.expires_at else None,
        "status": t(f"status.{a.status}", locale) if a.status in ("expired", "rejected") else None,
    }


def _anomaly_message(a: Anomaly, locale: Locale) -> str:
    shown = {k: _PARAM_FORMAT[how](a.params[k]) for k, how in ANOMALY_PARAMS[a.code].items()}
    return t(f"anomaly.{a.code}", locale, **shown)


def _coupon_view(c: CouponLine, locale: Locale) -> dict[str, Any]:
    estimated = c.type == "percent" and c.used_today > 0
    state = {"live": None, "scheduled": t("coupons.scheduled", locale, start=c.start.strftime("%m-%d")),
             "stopped": t("coupons.stopped", locale), "used_up": t("coupons.used_up", locale),
             "ended": t("coupons.ended", locale)}[c.status]
    return {
        "id": c.id, "terms": wording.coupon_terms(c.type, c.value, c.threshold, c.sku, c.segments, locale),
        "state": state, "flag": c.mostly_used, "estimated": estimated,
        "used_today": f"{c.used_today:,.0f}", "used": f"{c.used:,.0f} / {c.quantity:,}",
        "cost_today": ("≈" if estimated else "") + money(c.cost_today), "cost": money(c.cost),
        "share": share(c.order_share),
        "days_left": DASH if c.days_left is None else t("coupons.days", locale, days=c.days_left),
        "until": None if c.days_left is None else t("coupons.until", locale, end=c.end.strftime("%m-%d")),
        "lowest_price": t("coupons.counts" if c.counts_toward_lowest_price else "coupons.not_counted", locale),
    }


def _narrative(data: ReportData, locale: Locale, counts: dict[str, int]) -> list[str]:
    if data.narrative and data.narrative.strip():
        return [p.strip() for p in re.split(r"\n\s*\n", data.narrative) if p.strip()]
    d = data.today
    spend = d.ad_spend + d.coupon_cost
    key = "narrative.day" if spend > 0 else "narrative.day_no_spend"
    parts = [t(key, locale, profit=money(d.profit), gmv=money(d.gmv), orders=f"{d.orders:,}",
               spend=money(spend), gmv_per_yuan=money(d.gmv_per_yuan))]
    if data.yesterday and (change := delta(d.profit, data.yesterday.profit)) != DASH:
        parts.append(t("narrative.vs_yesterday", locale, delta=change))
    parts.append(t("narrative.actions", locale, executed=counts["executed"], pending=counts["pending"],
                   denied=counts["denied"]))
    if data.anomalies:
        parts.append(t("narrative.anomalies", locale, count=len(data.anomalies)))
    return [(" " if locale == "en" else "").join(parts)]


def _view(data: ReportData, locale: Locale) -> dict[str, Any]:
    groups = []
    for key, statuses in _GROUPS:
        items = [_action_view(a, locale) for a in data.actions if a.status in statuses]
        if items:
            groups.append({"key": key, "title": t(f"group.{key}", locale), "actions": items})
    counts = {s: sum(a.status == s for a in data.actions) for s in ("executed", "pending", "denied")}
    days = data.trend or [data.today]
    coupons = [_coupon_view(c, locale) for c in data.coupons]
    return {
        "locale": locale, "shop_name": data.shop_name, "shop_id": data.shop_id, "date": data.date.isoformat(),
        "narrative": _narrative(data, locale, counts),
        "kpis": _kpi_rows(data, locale),
        "spark": _sparkline(np.array([d.gmv for d in days])) if len(days) > 1 else None,
        "spark_days": len(days),
        "skus": [{"sku": s.sku, "title": s.title, "roi": ratio(s.roi), "break_even": ratio(s.break_even_roi),
                  "below": s.roi < s.break_even_roi} for s in _worst_first(data.roi_by_sku)],
        "groups": groups,
        "anomalies": [{"sku": a.sku, "message": _anomaly_message(a, locale)} for a in data.anomalies],
        "coupons": coupons,
        "coupon_estimates": any(c["estimated"] for c in coupons),
    }


def _charts(data: ReportData, locale: Locale) -> dict[str, str | None]:
    cjk = report_charts.cjk_font_available()
    # Without the CJK font Chinese labels would be boxes: label the charts in English instead.
    loc: Locale = locale if cjk or locale == "en" else "en"
    days = data.trend or [data.today]
    trend = report_charts.trend_svg(
        np.array([d.date for d in days], dtype="datetime64[D]"),
        np.array([d.gmv for d in days]),
        np.array([d.ad_spend + d.coupon_cost for d in days]),
        np.array([d.profit for d in days]),
        {"gmv": t("chart.gmv", loc), "spend": t("chart.spend", loc), "profit": t("chart.profit", loc),
         "title": t("chart.trend", locale)},
        cjk,
    )
    roi = None
    if data.roi_by_sku:
        skus = _worst_first(data.roi_by_sku)
        roi = report_charts.roi_svg(
            [s.sku for s in skus], np.array([s.roi for s in skus]), np.array([s.break_even_roi for s in skus]),
            {"break_even": t("chart.break_even", loc), "axis": t("chart.roi_axis", loc),
             "title": t("chart.roi", locale)},
            cjk,
        )
    return {"trend": trend, "roi": roi}


# --- Rendering --------------------------------------------------------------------------------

class _Md(str):
    """Text of our own making, already fit for Markdown."""


# Underscores inside a word (max_bid) never start emphasis, so only those at a word's edge are escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def _md_escape(value: object) -> str:
    """Untrusted text as one line of literal Markdown: no markup, no HTML, no table breaks."""
    if value is None:
        return ""
    if isinstance(value, _Md):
        return value
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


@cache
def _env(kind: Literal["md", "html"]) -> Environment:
    if kind == "html":
        return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    # Markdown has no autoescape: every {{ }} goes through _md_escape unless it is our own _Md text.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,
                       finalize=_md_escape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_markdown(data: ReportData, locale: Locale | None = None) -> str:
    """The report as Markdown for chat and the API, in `locale` (default: the shop's)."""
    loc = locale or data.locale
    return _env("md").get_template("report.md.j2").render(
        v=_view(data, loc), t=lambda key, **kw: _Md(t(key, loc, **{k: _md_escape(x) for k, x in kw.items()})))


def render_html(data: ReportData, locale: Locale | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG charts), readable on a phone."""
    loc = locale or data.locale
    return _env("html").get_template("report.html.j2").render(
        v=_view(data, loc), charts=_charts(data, loc), t=lambda key, **kw: t(key, loc, **kw))


def render_json(data: ReportData) -> dict[str, Any]:
    """The report's data as JSON-able values, derived KPIs (roi, gmv_per_yuan, net_margin) included."""
    return data.model_dump(mode="json")


def write_report(data: ReportData, out_dir: Path, locales: tuple[Locale, ...] = LOCALES) -> dict[str, Path]:
    """Write `<out_dir>/<shop_id>/<date>.<locale>.{md,html}` in every locale; returns paths keyed "<locale>.<ext>"."""
    paths: dict[str, Path] = {}
    for loc in locales:
        paths |= save_rendered(data, out_dir, loc, {"md": render_markdown(data, loc), "html": render_html(data, loc)})
    return paths


def save_rendered(data: ReportData, out_dir: Path, locale: Locale, texts: dict[str, str]) -> dict[str, Path]:
    """Write already rendered texts (extension → text) as `<out_dir>/<shop_id>/<date>.<locale>.<ext>`."""
    folder = Path(out_dir) / data.shop_id
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for ext, text in texts.items():
        path = folder / f"{data.date.isoformat()}.{locale}.{ext}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a report
        paths[f"{locale}.{ext}"] = path
    return paths
