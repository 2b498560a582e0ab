"""The agent's belief about its shop: the market's documented response forms (SPEC §3) with
parameters estimated from the shop's own history, as a simulated world the planner can roll
forward. The agent never sees the true parameters; what it cannot measure it takes from
priors (the literature ranges in SPEC §3) and from the platform's public suggestions.

Estimates, per SKU, from the last days of metrics by traffic source:
- organic visitors and conversion → `v0`, `base_cr` (rank lift and weekday season at priors); the
  conversion leaves out days the SKU had no stock or sold out, which show visitors but no orders;
- search clicks and cost → `kappa` (cost per click over the bid) and `cmax` (clicks at a bid
  scaled by the Hill curve), with the curve's midpoint `b50` from the platform's suggestion;
- the stage-2 reserve `r2` from how far clicks fell once the campaign reported stage 2;
- whole-site delivery → `smax` at the platform's lowest deliverable target ROI `tmin`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from marketplace.model import hill, restocks_on, season
from marketplace.scenario import (
    CampaignSpec,
    CouponSpec,
    EventSpec,
    MarketTruth,
    ProductSpec,
    Restock,
    Scenario,
    SegmentSpec,
    ShopSpec,
)
from marketplace.world import World
from policies.domain import Segment
from policies.limits import Policy

LOOKAHEAD_DAYS = 28
ESTIMATE_DAYS = 10  # recent days used for rates
SEASON_PRIOR = 0.15  # weekday amplitude (SPEC: 0.1–0.2)
H_PRIOR = 1.5  # Hill exponent
KAPPA_PRIOR = 0.85
R2_PRIOR = 1.75  # × b50 (SPEC: the reserve is 1.3–2.2× the stage-1 bid level)
R2_RANGE = (1.3, 2.2)
SMOOTHING = 0.35  # weight of the newest day in running estimates
GAMMA_PRIOR = 1.5
SMAX_UNMEASURED = 60.0  # whole-site spend capacity before any delivery was seen: modest, so a
# switch away from measured search traffic needs evidence
SUGGESTION_OVER_B50 = 1.2  # the platform suggests a stage-1 bid just above its curve's midpoint
STOCK_MEMORY_DAYS = 28  # days of morning stock remembered per SKU (the metrics' look-back)
LOW_STOCK_MARGIN = 1.5  # a day that began with less stock than this × its expected orders may have sold out
CR_PRIOR, CR_PRIOR_VISITORS = 0.04, 20.0  # conversion prior and its weight in visitors
ELASTICITY_PRIOR = {  # SPEC §3: price-sensitive 1.5–4, loyal 0.3–1, mean ≈ 2.6
    Segment.PRICE_SENSITIVE: 3.0, Segment.HIGH_VALUE: 0.65, Segment.NEW: 2.4, Segment.DORMANT: 2.2,
    Segment.CHURN_RISK: 2.0,
}


def belief_world(obs: dict[str, Any], policy: Policy, memory: dict[str, Any]) -> World:
    """A world in expected-value mode built from the observation and the agent's estimates.

    `memory` carries what the agent learnt on earlier days (per-SKU click capacity measured
    in stage 1); it is updated in place and must stay JSON-able.
    """
    day = obs["day"]
    start = date.fromisoformat(obs["date"]) - timedelta(days=day)
    history = _history(obs["metrics"])
    suggestions = {s["sku"]: s for s in obs["suggestions"]}
    campaigns = {c["sku"]: c for c in obs["campaigns"]}
    boosts = {e["id"]: e["traffic_mult"] for e in obs["calendar"]}
    products = [
        _product(p, campaigns.get(p["sku"]), suggestions.get(p["sku"]), history.get(p["sku"], {}), start, day,
                 memory.setdefault(p["sku"], {}), _event_days(obs["calendar"], p["sku"]),
                 boosts.get(p["in_event"], 1.0))
        for p in obs["products"]
    ]
    shop = ShopSpec(
        id=obs["shop"]["id"], season_amplitude=SEASON_PRIOR, traffic_noise_sigma=0.0,
        segments=_segments(obs["segments"]), products=products,
        campaigns=[_campaign(c) for c in obs["campaigns"]],
        coupons=[_coupon(c) for c in obs["coupons"] if c["status"] in ("live", "scheduled")],
        events=[_event(e) for e in obs["calendar"]], policy=policy,
    )
    scenario = Scenario(name=f"belief-{shop.id}", seed=0, horizon_days=day + LOOKAHEAD_DAYS, start_date=start,
                        shops=[shop])
    world = World(scenario, noise=False)
    _restore_state(world, obs, history)
    return world


def _history(rows: list[dict]) -> dict[str, dict[str, dict[int, dict]]]:
    """metrics rows → sku → source → day → row."""
    out: dict[str, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        out[r["sku"]][r["source"]][r["day"]] = r
    return out


Traffic = Callable[[int], float | None]  # day → its traffic factor (season × event), None where unknown


def _season(start: date, day: int) -> float:
    return float(season(np.array(SEASON_PRIOR), (start + timedelta(days=day)).weekday()))


def _event_days(calendar: list[dict], sku: str) -> frozenset[int]:
    """Days a promotion on the calendar was open to the SKU (whether it entered or not)."""
    return frozenset(d for e in calendar if any(s["sku"] == sku for s in e["skus"])
                     for d in range(e["start_day"], e["end_day"] + 1))


def _boosts(mem: dict, day: int, event_days: frozenset[int], boost_today: float) -> Callable[[int], float | None]:
    """Day → the event traffic multiplier the SKU had that day: remembered each morning in `mem["boost"]` (1 out of
    any event), 1 on a day no event was open to it, None on an event day the agent did not see (unknown)."""
    known: dict[str, float] = mem.setdefault("boost", {})
    known[str(day)] = boost_today
    for key in [k for k in known if int(k) < day - STOCK_MEMORY_DAYS]:
        del known[key]
    return lambda d: known.get(str(d), None if d in event_days else 1.0)


def _product(p: dict, camp: dict | None, sug: dict | None, hist: dict, start: date, day: int,
             mem: dict, event_days: frozenset[int] = frozenset(), boost_today: float = 1.0) -> ProductSpec:
    boost = _boosts(mem, day, event_days, boost_today)

    def traffic(d: int) -> float | None:
        """Season × event multiplier; an event day's traffic says little of an ordinary day's, unless divided."""
        b = boost(d)
        return None if b is None else _season(start, d) * b

    back = range(day - 1, max(0, day - STOCK_MEMORY_DAYS) - 1, -1)
    organic = [(d, hist["organic"][d], t) for d in back if d in hist.get("organic", {}) and (t := traffic(d))]
    organic = organic[:ESTIMATE_DAYS]
    visitors = sum(r["visitors"] for _, r, _ in organic)
    seasons = sum(t for _, _, t in organic) or 1.0
    lift = 1 + 0.5 * np.tanh(p["sales_7d"] / 40.0)
    v0 = visitors / seasons / lift if organic else 30.0
    plain = frozenset(d for d in back if boost(d) == 1.0)  # the event price moved conversion on the others
    base_cr = _conversion(hist, _morning_stock(p, hist, day, mem), day, mem, plain)
    b50 = (sug["suggested_bid"] / (SUGGESTION_OVER_B50 * (2 if sug["stage"] == 2 else 1))) if sug else 1.0
    search = _search_estimates(p, camp, hist.get("search", {}), traffic, day, b50, mem)
    ws = _whole_site_estimates(camp, sug, hist.get("whole_site", {}), traffic, day, mem)
    refunds = sum(r["refunds"] for src in hist.values() for r in src.values())
    all_orders = sum(r["orders"] for src in hist.values() for r in src.values())
    market = MarketTruth(
        v0=max(v0, 0.0), base_cr=base_cr, b50=max(b50, 0.05), h=H_PRIOR, **search, **ws,
        refund_rate=float(np.clip((refunds + 0.02 * 50) / (all_orders + 50), 0, 0.5)),
    )
    restock = Restock(**p["restock"]) if p.get("restock") else None
    return ProductSpec(sku=p["sku"], title=p["title"], price=p["price"], cost=p["cost"], shipping=p["shipping"],
                       commission=p["commission"], stock=p["stock"], restock=restock, market=market)


def _restocked(p: dict, day: int) -> float:
    """Units the platform's restock schedule adds at the start of `day` (before the day's sales)."""
    r = p.get("restock")
    return float(r["quantity"]) if r and restocks_on(day, r["every_days"]) else 0.0


def _morning_stock(p: dict, hist: dict, day: int, mem: dict) -> dict[int, float]:
    """Stock each recent day began with, today's included (after that day's restock).

    Today's comes from the observation and is remembered in `mem["stock"]` (day → units, JSON
    keys); a day the agent did not see is worked back from the next one: it began with what the
    next began with, less that day's restock, plus the units it sold.
    """
    known: dict[str, float] = mem.setdefault("stock", {})
    known[str(day)] = p["stock"] + _restocked(p, day)
    for key in [k for k in known if int(k) < day - STOCK_MEMORY_DAYS]:
        del known[key]
    out = {day: known[str(day)]}
    for d in range(day - 1, max(0, day - STOCK_MEMORY_DAYS) - 1, -1):
        sold = sum(src[d]["units"] for src in hist.values() if d in src)
        out[d] = known.get(str(d), max(out[d + 1] - _restocked(p, d + 1), 0.0) + sold)
    return out


def _short_of_stock(hist: dict, stock: dict[int, float], d: int, cr: float) -> bool:
    """Whether day `d`'s orders may have been cut by stock: it began with none, it sold out, or
    it began with less than a margin over the orders its visitors were expected to bring."""
    if d not in stock or stock[d] <= 0:
        return True
    sold = sum(src[d]["units"] for src in hist.values() if d in src)
    if sold >= stock[d] - 1e-6:
        return True
    visitors = sum(hist.get(s, {}).get(d, {}).get("visitors", 0.0) for s in ("organic", "search"))
    return stock[d] < LOW_STOCK_MARGIN * visitors * cr


def _conversion(hist: dict, stock: dict[int, float], day: int, mem: dict, plain: frozenset[int] | None = None) -> float:
    """Organic conversion from the last `ESTIMATE_DAYS` days with stock to sell all day.

    A day without stock has visitors but no orders, and a day that sold out has fewer orders than
    its visitors would have made: counting them would teach the belief that nobody converts, and
    the agent would under-value the SKU after a restock. Those days are skipped, looking further
    back (up to the metrics' look-back) for days with stock; with none, the last estimate stands.
    """
    organic = hist.get("organic", {})
    reference = mem.get("base_cr", CR_PRIOR)
    days = [d for d in range(day - 1, max(0, day - STOCK_MEMORY_DAYS) - 1, -1)
            if d in organic and (plain is None or d in plain) and not _short_of_stock(hist, stock, d, reference)]
    days = days[:ESTIMATE_DAYS]
    if not days:
        return float(np.clip(reference, 0.002, 0.5))
    visitors = sum(organic[d]["visitors"] for d in days)
    orders = sum(organic[d]["orders"] for d in days)
    mem["base_cr"] = float(np.clip((orders + CR_PRIOR * CR_PRIOR_VISITORS) / (visitors + CR_PRIOR_VISITORS),
                                   0.002, 0.5))
    return mem["base_cr"]


def _search_estimates(p: dict, camp: dict | None, search: dict[int, dict], traffic: Traffic, day: int, b50: float,
                      mem: dict) -> dict[str, float]:
    """Click capacity, cost per click and the stage-2 reserve from recent search days."""
    out = {"kappa": KAPPA_PRIOR, "cmax": mem.get("cmax", 200.0), "r2": mem.get("r2", R2_PRIOR * b50),
           "n1": 30.0}
    if camp is None:
        return out
    last = search.get(day - 1)
    bid = camp["bid"]
    if last and last["clicks"] > 0 and bid > 0:
        out["kappa"] = float(np.clip(last["ad_spend"] / last["clicks"] / bid, 0.3, 1.0))
    seen = traffic(day - 1)
    if last and bid > 0 and camp["mode"] == "search" and camp["status"] == "active" and seen:
        budget_bound = last["ad_spend"] >= 0.9 * camp["budget"]
        reach = float(hill(np.array(bid), np.array(b50), np.array(H_PRIOR))) * seen
        implied = last["clicks"] / max(reach, 1e-6)
        if camp["stage"] == 1 and last["clicks"] > 0:
            known = mem.get("cmax")
            if known is None:
                mem["cmax"] = implied
            elif not budget_bound or implied > known:
                # A budget-stopped day only bounds capacity from below; one day's clicks are
                # Poisson with a noisy day factor, so move part of the way.
                mem["cmax"] = known + SMOOTHING * (implied - known)
            out["cmax"] = mem["cmax"]
        elif camp["stage"] == 2 and not budget_bound and "cmax" in mem:
            kept = min(implied / mem["cmax"], 1.0)
            mem["kept"] = kept if "kept" not in mem else mem["kept"] + SMOOTHING * (kept - mem["kept"])
            if mem["kept"] < 0.8:  # clicks were cut: the reserve is above the bid, by the cube root
                lo, hi = R2_RANGE
                mem["r2"] = float(np.clip(bid * max(mem["kept"], 0.05) ** (-1 / 3), lo * b50, hi * b50))
            out["r2"] = mem.get("r2", max(out["r2"], bid))
    ad_orders = sum(r["orders"] for r in search.values())
    out["n1"] = ad_orders if camp["stage"] == 2 else max(30.0, ad_orders + 10.0)
    return out


def _learn_capacity(known: float | None, implied: float, budget_bound: bool) -> float:
    """A running daily-capacity estimate (whole-site spend) after one more day's delivery.

    A free day is noisy (Poisson counts on a log-normal day factor), so the estimate moves part
    of the way. A budget-stopped day only bounds capacity from below: the estimate rises to that
    bound at once, since the budget was set from the estimate and creeping up to it would keep
    the next budgets, and the delivery, short for days.
    """
    if budget_bound:
        return max(known or 0.0, implied)
    return implied if known is None else known + SMOOTHING * (implied - known)


def _whole_site_estimates(camp: dict | None, sug: dict | None, ws: dict[int, dict], traffic: Traffic, day: int,
                          mem: dict) -> dict[str, float]:
    """Whole-site spend capacity at the lowest deliverable target ROI, from delivered spend."""
    tmin = max(sug["suggested_target_roi"] if sug else 3.0, 0.5)
    last = ws.get(day - 1)
    seen = traffic(day - 1)
    if camp and last and camp["mode"] == "whole_site" and last["ad_spend"] > 0 and seen:
        target = max(camp["target_roi"], tmin)
        implied = last["ad_spend"] / ((tmin / target) ** GAMMA_PRIOR * seen)
        mem["smax"] = _learn_capacity(mem.get("smax"), implied, last["ad_spend"] >= 0.9 * camp["budget"])
    return {"tmin": tmin, "gamma": GAMMA_PRIOR, "smax": mem.get("smax", SMAX_UNMEASURED)}


def _segments(rows: list[dict]) -> list[SegmentSpec]:
    total = sum(r["share"] for r in rows) or 1.0
    return [SegmentSpec(name=Segment(r["name"]), share=r["share"] / total, conv_mult=1.0,
                        elasticity=ELASTICITY_PRIOR[Segment(r["name"])], basket_units=r["avg_basket_units"])
            for r in rows]


def _campaign(c: dict) -> CampaignSpec:
    return CampaignSpec(sku=c["sku"], id=c["id"], mode=c["mode"], status=c["status"], bid=c["bid"],
                        budget=c["budget"], target_roi=c["target_roi"])


def _coupon(c: dict) -> CouponSpec:
    fields = ("id", "type", "value", "threshold", "sku", "segments", "start_day", "end_day", "per_user_limit",
              "daily_limit", "counts_toward_lowest_price")
    return CouponSpec(**{f: c[f] for f in fields}, quantity=max(1, int(c["remaining"])))


def _event(e: dict) -> EventSpec:
    return EventSpec(id=e["id"], name=e["name"], start_day=e["start_day"], end_day=e["end_day"],
                     entry_ratio=e["entry_ratio"], traffic_mult=e["traffic_mult"],
                     skus=[s["sku"] for s in e["skus"]])


def _restore_state(world: World, obs: dict, history: dict) -> None:
    """Put today's observed stock, sales, lowest prices, stages, month spend and events in the belief."""
    c, st = world.c, world.c.state
    day = obs["day"]
    st.day = day
    events = {e["id"]: k for k, e in enumerate(obs["calendar"])}
    month_start = day - (date.fromisoformat(obs["date"]).day - 1)
    for p in obs["products"]:
        row = c.index[(obs["shop"]["id"], p["sku"])]
        hist = history.get(p["sku"], {})
        st.stock[row] = p["stock"]
        for k in range(st.sales_window.shape[1]):
            d = day - st.sales_window.shape[1] + k
            st.sales_window[row, k] = sum(src.get(d, {}).get("units", 0.0) for src in hist.values())
        window = obs["price_history"].get(p["sku"])
        st.price_window[row] = [d["lowest_offered"] for d in window] if window else p["lowest_price_30d"]
        ad_orders = sum(r["orders"] for r in hist.get("search", {}).values())
        st.ad_orders[row] = c.params.n1[row] if p["stage"] == 2 else ad_orders
        st.month_spend[row] = sum(r["ad_spend"] for src in hist.values() for d, r in src.items() if d >= month_start)
        if p["in_event"] is not None:
            st.event_id[row] = events[p["in_event"]]
            st.event_price[row] = p["selling_price"]


def expected_day(world: World) -> dict[str, np.ndarray]:
    """Per SKU, what one day at the current settings is expected to bring (for rationales)."""
    from marketplace.model import begin_day, simulate_day

    c = world.c
    state, ctx = begin_day(c.params, c.state, c.events, *world.calendar(world.day))
    out = simulate_day(c.params, state, c.settings, world.book(world.live_coupons(), world.day), ctx, rng=None)
    return {"orders": out.orders.sum(0), "ad_orders": out.orders[1:].sum(0), "gmv": out.gmv.sum(0),
            "ad_gmv": out.gmv[1:].sum(0), "ad_spend": out.ad_spend.sum(0), "coupon_cost": out.coupon_cost.sum(0),
            "profit": out.profit.sum(0)}

