"""JSON views of the world, as the platform API shows them to a shop (no hidden parameters)."""

from __future__ import annotations

import numpy as np

from marketplace.model import SOURCES, in_stage2
from marketplace.world import HISTORY_FIELDS, CouponRecord, World

# What the platform reports per day; profit is the merchant's own sum, never the platform's.
METRIC_FIELDS = tuple(f for f in HISTORY_FIELDS if f != "profit")
GROUPS = ("sku", "source", "day")


def shop_view(world: World, shop_id: str) -> dict:
    shop = world.shops[shop_id]
    return {"id": shop.id, "name": shop.name, "locale": shop.locale, "currency": "CNY", "day": world.day,
            "date": world.date_of(world.day).isoformat(), "products": len(shop.products)}


def product_view(world: World, shop_id: str, row: int) -> dict:
    c, st = world.c, world.c.state
    p = world.shops[shop_id].products[int(np.searchsorted(world.c.shop_rows[shop_id], row))]
    in_event = bool(st.event_id[row] >= 0)
    return {
        "sku": p.sku, "title": p.title, "price": p.price, "cost": p.cost, "shipping": p.shipping,
        "commission": p.commission, "stock": int(st.stock[row]),
        "restock": p.restock.model_dump() if p.restock else None,
        "selling_price": round(float(st.event_price[row]), 2) if in_event else p.price,
        "lowest_price_30d": round(float(st.lowest_price[row]), 2),
        "sales_7d": round(float(st.sales_window[row].sum()), 2),
        "in_event": _event_id(world, int(st.event_id[row])) if in_event else None,
        "stage": 2 if bool(in_stage2(c.params, st)[row]) else 1,
    }


def products_view(world: World, shop_id: str) -> list[dict]:
    return [product_view(world, shop_id, int(r)) for r in world.c.shop_rows[shop_id]]


def price_history_view(world: World, shop_id: str, row: int) -> dict:
    """The lowest counted price offered on each of the last 30 days, and their minimum."""
    window = world.c.state.price_window[row]
    first = world.day - len(window)
    days = [{"day": first + k, "date": world.date_of(first + k).isoformat() if first + k >= 0 else None,
             "lowest_offered": round(float(v), 2)} for k, v in enumerate(window)]
    return {"sku": world.c.skus[row], "list_price": float(world.c.params.price[row]),
            "lowest_price_30d": round(float(window.min()), 2), "days": days}


def metrics_view(world: World, shop_id: str, rows: np.ndarray, start: int, end: int, group: str) -> list[dict]:
    """Daily metrics for `rows` over days [start, end]: per SKU, per SKU and source, or per day."""
    out: list[dict] = []
    skus = [world.c.skus[r] for r in rows]
    for day in range(max(start, 0), min(end, len(world.history) - 1) + 1):
        hist = world.history[day]
        cols = {f: hist[f][:, rows] for f in METRIC_FIELDS}  # (3, R)
        date = world.date_of(day).isoformat()
        if group == "day":
            out.append({"day": day, "date": date, **{f: _r(v.sum()) for f, v in cols.items()}})
        elif group == "sku":
            sums = {f: v.sum(axis=0).tolist() for f, v in cols.items()}
            out.extend({"day": day, "date": date, "sku": sku, **{f: _r(sums[f][i]) for f in METRIC_FIELDS}}
                       for i, sku in enumerate(skus))
        else:
            per = {f: v.tolist() for f, v in cols.items()}
            out.extend({"day": day, "date": date, "sku": sku, "source": src,
                        **{f: _r(per[f][s][i]) for f in METRIC_FIELDS}}
                       for i, sku in enumerate(skus) for s, src in enumerate(SOURCES))
    return out


def coupon_view(world: World, rec: CouponRecord) -> dict:
    """A coupon as the platform lists it: its terms, status and use, with `redeemed_last_day` its uses on the
    last simulated day (0 when it did not run then) and `exhausted_day` the day its quantity ran out."""
    spec = rec.spec
    last_day = rec.redeemed_last_live if rec.last_live_day == world.day - 1 else 0.0
    return {
        **spec.model_dump(mode="json"), "counts_toward_lowest_price": spec.counts,
        "status": coupon_status(world, rec), "created_day": rec.created_day, "stopped_day": rec.stopped_day,
        "exhausted_day": rec.exhausted_day, "redeemed": _r(rec.redeemed), "cost": _r(rec.cost),
        "redeemed_last_day": _r(last_day), "remaining": _r(max(spec.quantity - rec.redeemed, 0.0)),
    }


def coupon_status(world: World, rec: CouponRecord) -> str:
    if rec.stopped_day is not None:
        return "stopped"
    if rec.redeemed >= rec.spec.quantity:
        return "exhausted"
    if world.day > rec.spec.end_day:
        return "expired"
    if world.day < rec.spec.start_day:
        return "scheduled"
    return "live"


def calendar_view(world: World, shop_id: str) -> list[dict]:
    """The shop's promotion events with their entry rule and, per SKU, today's entry price."""
    c, st = world.c, world.c.state
    first = _event_offset(world, shop_id)
    out = []
    for k, e in enumerate(world.shops[shop_id].events):
        rows = [c.index[(shop_id, s)] for s in e.skus] if e.skus is not None else list(c.shop_rows[shop_id])
        out.append({
            "id": e.id, "name": e.name, "name_zh": e.name_zh, "start_day": e.start_day, "end_day": e.end_day,
            "start_date": world.date_of(e.start_day).isoformat(), "end_date": world.date_of(e.end_day).isoformat(),
            "traffic_mult": e.traffic_mult, "entry_ratio": e.entry_ratio,
            "entry_rule": f"event price ≤ {e.entry_ratio:.0%} of the 30-day lowest price, decided on day "
                          f"{e.start_day}; the SKU sells at that price for the whole event",
            "skus": [{"sku": c.skus[r],
                      "entry_price_now": round(min(float(c.params.price[r]),
                                                   e.entry_ratio * float(st.lowest_price[r])), 2),
                      "entered": bool(st.event_id[r] == first + k)} for r in rows],
        })
    return out


def _event_offset(world: World, shop_id: str) -> int:
    offset = 0
    for shop in world.scenario.shops:
        if shop.id == shop_id:
            return offset
        offset += len(shop.events)
    raise KeyError(shop_id)


def _event_id(world: World, flat: int) -> str:
    events = [e for shop in world.scenario.shops for e in shop.events]
    return events[flat].id


def _r(v: float) -> float:
    return round(float(v), 2)
