"""Chat without an LLM, the read-only answers: KPIs, one SKU and why it moved, the approval queue.

Every number comes from the platform through the shop's client; `agent.chat_intents` decides
which answer a message gets, and `agent.chat_checks` holds the answers that need the guard.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent import wording
from agent.analysis import daily_kpis
from agent.chat_i18n import t
from agent.i18n import Locale
from agent.i18n import t as report_t
from agent.report import money
from agent.wording import ratio, share
from marketplace.client import PlatformClient
from policies.limits import Policy
from tools.analysis_tools import unit_economics_facts

WEEK = 7
BUDGET_USED = 0.95  # ad spend at this share of the daily budget: the budget capped the day
CPC_MOVE = 0.1  # cost per click moved more than this: the bid changed
COUPON_MOVE = 0.2  # coupon cost moved more than this share: worth naming
CUTOFF_DROP = 0.4  # stage-2 search clicks down this much: the cut-off (as agent.analysis)
SOURCES = ("organic", "search", "whole_site")
AD_SOURCES = ("search", "whole_site")
SUMMED = ("visitors", "clicks", "orders", "gmv", "ad_spend", "coupon_cost")
WEEK_WORDS = re.compile(r"\bweek\b|\b7\s*days\b|seven days|7\s*天|七天|一周|上周|本周|周", re.IGNORECASE)
DROP_WORDS = re.compile(r"\b(drop\w*|fall|fell|falling|down|declin\w*|slump\w*|lower|fewer|worse)\b|"
                        r"下降|下滑|下跌|掉了|少了|减少|变少|跌", re.IGNORECASE)  # the question takes a fall as given
DAY_WORDS = re.compile(r"\byesterday\b|\bday\b|昨天|昨日|今天|前天", re.IGNORECASE)


@dataclass(frozen=True)
class Asked:
    """One question to answer without an LLM, and the shop it is about."""

    text: str
    locale: Locale
    client: PlatformClient
    policy: Policy
    pending: Callable[[], list[dict]]
    products: list[dict]
    today: int  # the platform's current, unfinished day
    skus: list[str]  # the shop's SKUs named in the text, in the order they appear
    done: Callable[[], list[dict]] = lambda: []  # what came of recent proposals, latest run date first

    def product(self, sku: str) -> dict:
        return next(p for p in self.products if p["sku"] == sku)


# ---- formatting ----------------------------------------------------------------------------------
def num(x: float | None) -> str:
    """A count: whole numbers bare, averages to one decimal."""
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x - round(x)) < 0.05 else f"{x:,.1f}"


def change(now: float | None, before: float | None) -> str:
    """+12.5% / −3.0%, or the difference in plain numbers when the base is zero."""
    if now is None or before is None:
        return "—"
    if abs(before) < 1e-9:
        return f"{now - before:+,.2f}".replace("-", "\u2212")
    pct = (now - before) / abs(before) * 100
    return f"{pct:+.1f}%".replace("-", "\u2212")


def div(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


# ---- KPIs ----------------------------------------------------------------------------------------
KPI_LINES: tuple[tuple[str, str, Callable[[float | None], str]], ...] = (
    ("kpi.profit", "profit", money), ("kpi.gmv", "gmv", money), ("kpi.orders", "orders", num),
    ("kpi.ad_spend", "ad_spend", money), ("kpi.coupon_cost", "coupon_cost", money), ("kpi.roi", "roi", ratio),
    ("kpi.gmv_per_yuan", "gmv_per_yuan", ratio),
)


def answer_kpis(a: Asked) -> str:
    """Yesterday against the day before and/or the last 7 days against the 7 before."""
    end = a.today - 1
    if end < 0:
        return t("kpi.no_day", a.locale)
    rows = a.client.metrics(start_day=max(0, end - 2 * WEEK + 1), end_day=end, group="sku")
    days: dict[int, dict[str, Any]] = {int(d["day"]): d for d in daily_kpis({"products": a.products, "metrics": rows})}
    week, day = WEEK_WORDS.search(a.text), DAY_WORDS.search(a.text)
    blocks = []
    if day or not week:
        title = t("kpi.day_title", a.locale, date=days[end]["date"], before=days.get(end - 1, {}).get("date", "—"))
        blocks.append(_kpi_block(title, _sum(days, [end]), _sum(days, [end - 1]), a.locale))
    if week or not day:
        last = [d for d in range(end - WEEK + 1, end + 1) if d in days]
        title = t("kpi.week_title", a.locale, days=len(last), start=days[last[0]]["date"], end=days[end]["date"])
        before = [d for d in range(end - 2 * WEEK + 1, end - WEEK + 1) if d in days]
        blocks.append(_kpi_block(title, _sum(days, last), _sum(days, before), a.locale))
    return "\n\n".join(blocks)


def _sum(days: dict[int, dict], which: list[int]) -> dict[str, float] | None:
    """Totals over some days, with ROI (GMV per yuan of ads) and GMV per yuan of ads and coupons."""
    present = [days[d] for d in which if d in days]
    if not present:
        return None
    out = {k: sum(d[k] for d in present) for k in ("profit", "gmv", "orders", "ad_spend", "coupon_cost")}
    out["roi"] = div(out["gmv"], out["ad_spend"])
    out["gmv_per_yuan"] = div(out["gmv"], out["ad_spend"] + out["coupon_cost"])
    return out


def _kpi_block(title: str, now: dict[str, Any] | None, before: dict[str, Any] | None, locale: Locale) -> str:
    lines = [title]
    for name_key, key, fmt in KPI_LINES:
        name, value = report_t(name_key, locale), now[key] if now else None
        if before is None:
            lines.append(t("kpi.line_alone", locale, name=name, now=fmt(value)))
        else:
            lines.append(t("kpi.line", locale, name=name, now=fmt(value), before=fmt(before[key]),
                           delta=change(value, before[key])))
    return "\n".join(lines)


# ---- one SKU: its numbers and why they moved ----------------------------------------------------
def answer_sku(a: Asked) -> str:
    """Each named SKU: yesterday against the days before, by source, and the biggest driver."""
    return "\n\n".join(_sku_story(a, sku) for sku in a.skus)


def _sku_story(a: Asked, sku: str) -> str:
    end, loc = a.today - 1, a.locale
    if end < 0:
        return t("sku.no_day", loc, sku=sku)
    rows = a.client.metrics(sku=sku, start_day=max(0, end - WEEK), end_day=end, group="source")
    base_days = sorted({r["day"] for r in rows if r["day"] < end})
    now = _by_source(rows, [end])
    base = _by_source(rows, base_days)
    total_now = _total(now)
    ad_now = _total(now, AD_SOURCES)
    lines = [t("sku.head", loc, sku=sku, date=next(r["date"] for r in rows if r["day"] == end),
               orders=num(total_now["orders"]), gmv=money(total_now["gmv"]), ad_spend=money(total_now["ad_spend"]),
               coupon_cost=money(total_now["coupon_cost"]), roi=ratio(div(ad_now["gmv"], ad_now["ad_spend"])),
               cpo=money(div(ad_now["ad_spend"], ad_now["orders"])))]
    if base_days:
        total_base = _total(base)
        if DROP_WORDS.search(a.text) and total_now["orders"] >= total_base["orders"]:  # say so before the numbers
            lines.insert(0, t("sku.no_drop", loc, sku=sku, now=num(total_now["orders"]), days=len(base_days),
                              before=num(total_base["orders"])))
        lines.append(t("sku.base", loc, days=len(base_days), orders=num(total_base["orders"]),
                       gmv=money(total_base["gmv"]), ad_spend=money(total_base["ad_spend"]),
                       coupon_cost=money(total_base["coupon_cost"])))
        parts = [t("sku.source_part", loc, source=t(f"source.{s}", loc), now=num(now[s]["orders"]),
                   before=num(base[s]["orders"])) for s in SOURCES]
        lines.append(t("sku.sources", loc, parts=t("list.sep", loc).join(parts)))
        lines.append(_driver(now, base, loc))
    signals = _signals(a, sku, now, base if base_days else None)
    if signals:
        lines.append(t("sku.signals", loc, items=t("list.sep", loc).join(signals)))
    return "\n".join(lines)


def _by_source(rows: list[dict], days: list[int]) -> dict[str, dict[str, float]]:
    """Per source, the mean per day over `days` of each summed field."""
    n = max(len(days), 1)
    return {s: {f: sum(r[f] for r in rows if r["source"] == s and r["day"] in days) / n for f in SUMMED}
            for s in SOURCES}


def _total(per: dict[str, dict[str, float]], sources: tuple[str, ...] = SOURCES) -> dict[str, float]:
    return {f: sum(per[s][f] for s in sources) for f in SUMMED}


def _driver(now: dict[str, dict[str, float]], base: dict[str, dict[str, float]], loc: Locale) -> str:
    """The source whose orders moved most, in orders a day and in the traffic behind them."""
    source = max(SOURCES, key=lambda s: abs(now[s]["orders"] - base[s]["orders"]))
    moved = now[source]["orders"] - base[source]["orders"]
    if abs(moved) < 1.0:
        return t("sku.flat", loc)
    traffic = "visitors" if source == "organic" else "clicks"
    detail = t(f"detail.{traffic}", loc, before=num(base[source][traffic]), now=num(now[source][traffic]))
    return t("sku.driver", loc, source=t(f"source.{source}", loc), delta=f"{moved:+.1f}".replace("-", "\u2212"),
             before=num(base[source]["orders"]), now=num(now[source]["orders"]), detail=detail)


def _signals(a: Asked, sku: str, now: dict, base: dict | None) -> list[str]:
    """What else explains the day: stock-out, paused ads, a bid change, the budget, stage 2, coupons, an event."""
    loc, product = a.locale, a.product(sku)
    camp = next((c for c in a.client.campaigns() if c["sku"] == sku), None)
    out = []
    if product["stock"] <= 0:
        out.append(t("sig.stockout", loc, stock=product["stock"]))
    if product.get("in_event"):
        out.append(t("sig.event", loc, event=product["in_event"], price=money(product["selling_price"])))
    if camp is not None:
        out.extend(_ad_signals(a, product, camp, now, base))
    coupons_now, coupons_base = _total(now)["coupon_cost"], _total(base)["coupon_cost"] if base else None
    if coupons_base is not None and abs(coupons_now - coupons_base) > max(1.0, COUPON_MOVE * coupons_base):
        live = sum(1 for c in a.client.coupons() if c["status"] == "live" and c.get("sku") in (sku, None))
        out.append(t("sig.coupon", loc, before=money(coupons_base), now=money(coupons_now), live=live))
    return out


def _ad_signals(a: Asked, product: dict, camp: dict, now: dict, base: dict | None) -> list[str]:
    loc = a.locale
    ads_now, ads_base = _total(now, AD_SOURCES), _total(base, AD_SOURCES) if base else None
    out = []
    if camp["status"] == "paused" and ads_now["clicks"] == 0 and (ads_base is None or ads_base["clicks"] > 0):
        out.append(t("sig.paused", loc, campaign=camp["id"]))
    if camp["status"] == "active" and ads_now["ad_spend"] >= BUDGET_USED * camp["budget"] > 0:
        out.append(t("sig.budget", loc, spend=money(ads_now["ad_spend"]), budget=money(camp["budget"])))
    if base is None:
        return out
    cpc_now, cpc_base = div(now["search"]["ad_spend"], now["search"]["clicks"]), \
        div(base["search"]["ad_spend"], base["search"]["clicks"])
    if cpc_now is not None and cpc_base is not None and abs(cpc_now / cpc_base - 1) > CPC_MOVE:
        out.append(t("sig.cpc", loc, before=money(cpc_base), now=money(cpc_now), delta=change(cpc_now, cpc_base),
                     bid=money(camp["bid"])))
    clicks_now, clicks_base = now["search"]["clicks"], base["search"]["clicks"]
    if camp["stage"] == 2 and camp["mode"] == "search" and clicks_base > 0 \
            and clicks_now < (1 - CUTOFF_DROP) * clicks_base:
        facts = unit_economics_facts(product, a.policy)
        out.append(t("sig.stage2", loc, drop=share(1 - clicks_now / clicks_base),
                     max_cpo=money(facts["max_cost_per_order"])))
    return out


# ---- the approval queue ----------------------------------------------------------------------------
def answer_pending(a: Asked) -> str:
    """Every pending approval: what, why, the guard's message and numbers, and when it expires."""
    items = a.pending()
    loc = a.locale
    if not items:
        return t("pending.none", loc)
    lines = [t("pending.head", loc, count=len(items))]
    for n, item in enumerate(items, start=1):
        decision = item.get("decision") or {}
        message = decision.get("message_zh" if loc == "zh-CN" else "message") or decision.get("message") or "—"
        change = wording.change_text(item["action"], loc) if (item.get("action") or {}).get("kind") else "—"
        lines.append(t("pending.item", loc, n=n, id=item.get("id", "—"), kind=_kind(item.get("kind", ""), loc),
                       target=item.get("target", "—"), change=change))
        lines.append(t("pending.why", loc, rationale=_rationale(item, loc)))
        lines.append(t("pending.guard", loc, message=message))
        if decision.get("numbers"):
            numbers = ", ".join(f"{k} {_plain(v)}" for k, v in decision["numbers"].items())
            lines.append(t("pending.numbers", loc, numbers=numbers))
        lines.append(t("pending.expires", loc, expires=str(item.get("expires_at", "—"))[:16].replace("T", " ")))
    lines.append(t("pending.how", loc))
    return "\n".join(lines)


DONE_PER_DATE = 12  # decisions listed for one run date before "and N more"


def answer_done(a: Asked) -> str:
    """What came of Xiaoer's proposals: the latest run date's, or every recent one on the SKUs named, with why."""
    loc = a.locale
    items = a.done()
    if a.skus:
        items = [i for i in items if (i.get("action") or {}).get("sku") in a.skus]
    elif items:
        items = [i for i in items if i["date"] == items[0]["date"]]
    if not items:
        return t("done.none_sku", loc, skus=", ".join(a.skus)) if a.skus else t("done.none", loc)
    lines: list[str] = []
    for date in dict.fromkeys(i["date"] for i in items):
        on_date = [i for i in items if i["date"] == date]
        lines.append(t("done.head", loc, date=date))
        for item in on_date[:DONE_PER_DATE]:
            lines += _done_lines(item, loc)
        if len(on_date) > DONE_PER_DATE:
            lines.append(t("done.more", loc, count=len(on_date) - DONE_PER_DATE))
    return "\n".join(lines)


def _done_lines(item: dict, loc: Locale) -> list[str]:
    action = item.get("action") or {}
    change = wording.change_text(action, loc) if action.get("kind") else "—"
    lines = [t("done.item", loc, state=t(f"done.state.{item['state']}", loc), kind=_kind(item.get("kind", ""), loc),
               target=item.get("target", "—"), change=change),
             t("done.why", loc, rationale=_rationale(item, loc))]
    decision, result = item.get("decision") or {}, item.get("result") or {}
    if item["state"] == "denied":
        message = decision.get("message_zh" if loc == "zh-CN" else "message") or decision.get("message") or "—"
        lines.append(t("done.limit", loc, message=message))
    elif item["state"] == "failed" and result.get("error"):
        lines.append(t("done.error", loc, error=result["error"]))
    return lines


def _rationale(item: dict, loc: Locale) -> str:
    """Why, in the owner's language: the action carries both; the proposal row keeps the English one."""
    action = item.get("action") or {}
    zh = action.get("rationale_zh") if loc == "zh-CN" else None
    return zh or action.get("rationale") or item.get("rationale") or "—"


def recent_for_model(done: list[dict], loc: Locale, limit: int = 40) -> list[dict[str, Any]]:
    """The recent decisions as a model reads them (data, like the approval queue): date, what, what came of it,
    why and the limit that stopped it."""
    return [{"date": i["date"], "state": i["state"], "kind": i.get("kind"), "target": i.get("target"),
             "sku": (i.get("action") or {}).get("sku"),
             "change": wording.change_text(i["action"], loc) if (i.get("action") or {}).get("kind") else None,
             "rationale": _rationale(i, loc), "limit": (i.get("decision") or {}).get("limit")}
            for i in done[:limit]]


def _kind(kind: str, loc: Locale) -> str:
    try:
        return report_t(f"kind.{kind}", loc)
    except KeyError:
        return kind


def _plain(v: Any) -> str:
    return f"{v:,.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def answer_which_sku(a: Asked) -> str:
    return t("sku.which", a.locale, skus=", ".join(p["sku"] for p in a.products))
