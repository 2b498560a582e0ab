"""What the agent reads from the platform at the start of a shop's day: one JSON-able snapshot."""

from __future__ import annotations

from typing import Any

from marketplace.client import PlatformClient

HISTORY_DAYS = 28  # days of metrics the agent looks back over


def observe(client: PlatformClient) -> dict[str, Any]:
    """Every read the day's decisions need, through the platform API only.

    Plain JSON types only, so the snapshot can live in a LangGraph checkpoint.
    """
    shop = client.shop()
    day = shop["day"]
    products = client.products()
    start = max(0, day - HISTORY_DAYS)
    metrics = client.metrics(start_day=start, end_day=day - 1, group="source") if day > 0 else []
    below_list = [p["sku"] for p in products if p["lowest_price_30d"] < p["price"] - 1e-9]
    return {
        "shop": shop,
        "day": day,
        "date": shop["date"],
        "products": products,
        "campaigns": client.campaigns(),
        "coupons": client.coupons(),
        "segments": client.segments(),
        "calendar": client.calendar(),
        "suggestions": client.bid_suggestions(),
        "metrics": metrics,
        # The shape of the 30-day window matters only where a coupon pulled the price down.
        "price_history": {sku: client.price_history(sku)["days"] for sku in below_list},
    }
