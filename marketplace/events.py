"""Promotion events in the market model: the event calendar as arrays, the entry rule, and which SKUs
are in an event on a given day. Split from `marketplace.model`, which steps the day."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from marketplace.model import MarketState, SkuParams


@dataclass
class EventBook:
    """Promotion events as arrays over E events; `skus` is (E, N)."""

    start: np.ndarray
    end: np.ndarray
    entry_ratio: np.ndarray
    traffic_mult: np.ndarray
    skus: np.ndarray

    def take(self, index: np.ndarray) -> EventBook:
        return replace(self, skus=self.skus[:, index])

    @staticmethod
    def empty(n: int) -> EventBook:
        z = np.zeros(0)
        return EventBook(start=z, end=z, entry_ratio=z, traffic_mult=z, skus=np.zeros((0, n), bool))


def event_entry_price(params: SkuParams, state: MarketState, ratio: np.ndarray) -> np.ndarray:
    """Event price the entry rule asks for: ratio × 30-day lowest price, never above list."""
    return np.minimum(params.price, ratio * state.lowest_price)


def affordable_at(params: SkuParams, price: np.ndarray) -> np.ndarray:
    """Whether a unit sold at `price` keeps the owner's minimum net margin."""
    margin = price * (1 - params.commission) - params.cost - params.shipping
    return margin >= params.margin_floor * price


def enter_and_leave(params: SkuParams, state: MarketState, events: EventBook) -> tuple[np.ndarray, np.ndarray]:
    """Each SKU's event and selling price for the day `state` starts: (event index or -1, price).

    SKUs leave the day after an event ends, back at list price. Entry is decided on an event's
    first day: the SKU joins when the event price its entry rule asks for still keeps the owner's
    margin floor, and keeps that price to the end.
    """
    day = state.day
    event_id, event_price = state.event_id.copy(), state.event_price.copy()
    for e in range(len(events.start)):
        if day == events.end[e] + 1:
            leaving = event_id == e
            event_id = np.where(leaving, -1, event_id)
            event_price = np.where(leaving, params.price, event_price)
        if day == events.start[e]:
            price = event_entry_price(params, state, events.entry_ratio[e])
            enter = events.skus[e] & (event_id < 0) & affordable_at(params, price)
            event_id = np.where(enter, e, event_id)
            event_price = np.where(enter, price, event_price)
    return event_id, event_price


def traffic_multiplier(events: EventBook, event_id: np.ndarray) -> np.ndarray:
    """Each SKU's traffic multiplier: its running event's, or 1 outside any event."""
    if not len(events.start):
        return np.ones(len(event_id))
    return np.where(event_id >= 0, events.traffic_mult[np.maximum(event_id, 0)], 1.0)
