"""Baselines the agent must beat: do nothing, a careful human, and the platform's own advice."""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.client import PlatformClient, idempotency_key
from marketplace.strategies.base import register
from policies.economics import break_even_roi

ROI_WINDOW_DAYS = 3


@register("noop")
@dataclass
class Noop:
    """Keeps the scenario's initial settings."""

    world: object = None
    name: str = "noop"

    def act(self, client: PlatformClient, day: int) -> None:
        return None


@register("rules")
@dataclass
class Rules:
    """A careful human: bid ±10% a day toward a target ROI of 1.2× break-even; pause at stock-out."""

    world: object = None
    name: str = "rules"
    step: float = 0.10
    roi_margin: float = 1.2

    def act(self, client: PlatformClient, day: int) -> None:
        products = {p["sku"]: p for p in client.products()}
        recent = _search_totals(client, day)
        for camp in client.campaigns():
            product = products[camp["sku"]]
            key = _keyer(self.name, client.shop_id, day, camp["id"])
            if product["stock"] <= 0:
                if camp["status"] == "active":
                    client.set_status(camp["id"], "paused", key=key("status", "paused"))
                continue
            if camp["status"] == "paused" and camp["budget"] > 0:
                client.set_status(camp["id"], "active", key=key("status", "active"))
            if camp["mode"] != "search" or camp["bid"] <= 0:
                continue
            spend, gmv = recent.get(camp["sku"], (0.0, 0.0))
            if spend <= 0:
                continue
            target = self.roi_margin * float(break_even_roi(
                product["price"], product["cost"], product["commission"], product["shipping"]))
            factor = 1 - self.step if gmv / spend < target else 1 + self.step
            client.set_bid(camp["id"], round(camp["bid"] * factor, 2),
                           key=key("bid", round(camp["bid"] * factor, 2)))


@register("platform")
@dataclass
class PlatformAdvice:
    """Follows the platform's suggestions: its bid (doubled in stage 2) and its target ROI."""

    world: object = None
    name: str = "platform"

    def act(self, client: PlatformClient, day: int) -> None:
        campaigns = {c["id"]: c for c in client.campaigns()}
        for s in client.bid_suggestions():
            camp = campaigns[s["campaign_id"]]
            if camp["status"] != "active":
                continue
            key = _keyer(self.name, client.shop_id, day, camp["id"])
            if camp["mode"] == "search" and abs(camp["bid"] - s["suggested_bid"]) > 1e-9:
                client.set_bid(camp["id"], s["suggested_bid"], key=key("bid", s["suggested_bid"]))
            elif camp["mode"] == "whole_site" and abs(camp["target_roi"] - s["suggested_target_roi"]) > 1e-9:
                client.set_mode(camp["id"], "whole_site", s["suggested_target_roi"],
                                key=key("mode", s["suggested_target_roi"]))


def _keyer(strategy: str, shop_id: str, day: int, campaign_id: str):
    """Idempotency keys from the write's content: strategy, shop, day, kind, target, value."""
    return lambda kind, value: idempotency_key(strategy, shop_id, day, kind, campaign_id, value)


def _search_totals(client: PlatformClient, day: int) -> dict[str, tuple[float, float]]:
    """Ad spend and ad GMV per SKU over the last few days."""
    if day == 0:
        return {}
    rows = client.metrics(start_day=max(0, day - ROI_WINDOW_DAYS), end_day=day - 1, group="source")
    out: dict[str, tuple[float, float]] = {}
    for r in rows:
        if r["source"] != "search":
            continue
        spend, gmv = out.get(r["sku"], (0.0, 0.0))
        out[r["sku"]] = (spend + r["ad_spend"], gmv + r["gmv"])
    return out
