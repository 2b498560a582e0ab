"""Turn a validated scenario into the model's arrays (one flat SKU axis across all shops)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marketplace.coupon_math import CouponBook
from marketplace.events import EventBook
from marketplace.model import MarketState, Settings, SkuParams
from marketplace.scenario import CouponSpec, Scenario
from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment

SEGMENTS: tuple[Segment, ...] = tuple(Segment)
_TRUTH = ("v0", "rho", "s_ref", "base_cr", "cmax", "b50", "h", "kappa", "n1", "r2", "smax", "tmin", "gamma",
          "refund_rate")


@dataclass
class Compiled:
    """Arrays plus the names that index them."""

    params: SkuParams
    settings: Settings
    state: MarketState
    events: EventBook
    shop_ids: list[str]
    skus: list[str]  # flat, in array order
    index: dict[tuple[str, str], int]  # (shop id, sku) -> row
    shop_rows: dict[str, np.ndarray]  # shop id -> its rows


def compile_scenario(scenario: Scenario) -> Compiled:
    """Build parameter, setting, state and event arrays for every SKU of every shop."""
    products = [(shop_no, shop, p) for shop_no, shop in enumerate(scenario.shops) for p in shop.products]
    n = len(products)
    col = lambda get: np.array([get(shop, p) for _, shop, p in products], dtype=float)  # noqa: E731
    seg = {name: np.zeros((n, len(SEGMENTS))) for name in ("share", "conv_mult", "elasticity", "basket_units")}
    for row, (_, shop, _p) in enumerate(products):
        for s in shop.segments:
            k = SEGMENTS.index(s.name)
            for name in seg:
                seg[name][row, k] = getattr(s, name)
    seg["basket_units"] = np.where(seg["basket_units"] > 0, seg["basket_units"], 1.0)
    params = SkuParams(
        shop=np.array([no for no, _, _ in products], dtype=np.int64),
        price=col(lambda s, p: p.price), cost=col(lambda s, p: p.cost),
        shipping=col(lambda s, p: p.shipping), commission=col(lambda s, p: p.commission),
        **{name: col(lambda s, p, name=name: getattr(p.market, name)) for name in _TRUTH},
        smart_share=col(lambda s, p: p.market.smart_coupon_share),
        p_ref=col(lambda s, p: p.market.p_ref or p.price),
        restock_every=col(lambda s, p: p.restock.every_days if p.restock else 10**9),
        restock_qty=col(lambda s, p: p.restock.quantity if p.restock else 0),
        season_amp=col(lambda s, p: s.season_amplitude), noise_sigma=col(lambda s, p: s.traffic_noise_sigma),
        margin_floor=col(lambda s, p: s.policy.profit.min_net_margin),
        seg_share=seg["share"], seg_conv=seg["conv_mult"], seg_eps=seg["elasticity"],
        seg_units=seg["basket_units"],
        seg_price_sensitive=np.broadcast_to(
            np.array([s is Segment.PRICE_SENSITIVE for s in SEGMENTS]), (n, len(SEGMENTS))).copy(),
    )
    index = {(shop.id, p.sku): row for row, (_, shop, p) in enumerate(products)}
    settings = _initial_settings(scenario, index, n)
    state = MarketState.initial(params, col(lambda s, p: p.stock))
    shop_rows = {shop.id: np.array([index[(shop.id, p.sku)] for p in shop.products]) for shop in scenario.shops}
    return Compiled(
        params=params, settings=settings, state=state, events=_events(scenario, index, n),
        shop_ids=[s.id for s in scenario.shops], skus=[p.sku for _, _, p in products],
        index=index, shop_rows=shop_rows,
    )


def _initial_settings(scenario: Scenario, index: dict[tuple[str, str], int], n: int) -> Settings:
    """Every SKU has a campaign; those a scenario does not set up start paused at zero."""
    st = Settings(
        has_campaign=np.ones(n, bool), active=np.zeros(n, bool), whole_site=np.zeros(n, bool),
        bid=np.zeros(n), budget=np.zeros(n), target_roi=np.full(n, 3.0),
    )
    for shop in scenario.shops:
        for c in shop.campaigns:
            row = index[(shop.id, c.sku)]
            st.active[row] = c.status is CampaignStatus.ACTIVE
            st.whole_site[row] = c.mode is CampaignMode.WHOLE_SITE
            st.bid[row], st.budget[row], st.target_roi[row] = c.bid, c.budget, c.target_roi
    return st


def _events(scenario: Scenario, index: dict[tuple[str, str], int], n: int) -> EventBook:
    rows = [(shop, e) for shop in scenario.shops for e in shop.events]
    if not rows:
        return EventBook.empty(n)
    skus = np.zeros((len(rows), n), bool)
    for k, (shop, e) in enumerate(rows):
        names = [p.sku for p in shop.products] if e.skus is None else e.skus
        skus[k, [index[(shop.id, sku)] for sku in names]] = True
    return EventBook(
        start=np.array([e.start_day for _, e in rows]), end=np.array([e.end_day for _, e in rows]),
        entry_ratio=np.array([e.entry_ratio for _, e in rows]),
        traffic_mult=np.array([e.traffic_mult for _, e in rows]), skus=skus,
    )


def coupon_book(coupons: list[tuple[CouponSpec, np.ndarray]], caps: np.ndarray, n: int) -> CouponBook:
    """Arrays for the coupons live today, each given with the SKU rows it applies to."""
    if not coupons:
        return CouponBook.empty(n, len(SEGMENTS))
    applies = np.zeros((len(coupons), n), bool)
    for c, (_, rows) in enumerate(coupons):
        applies[c, rows] = True
    specs = [spec for spec, _ in coupons]
    return CouponBook(
        applies=applies,
        segments=np.array([[s in spec.segments for s in SEGMENTS] for spec in specs]),
        is_percent=np.array([spec.type is CouponType.PERCENT for spec in specs]),
        value=np.array([spec.value for spec in specs], dtype=float),
        threshold=np.array([spec.threshold for spec in specs], dtype=float),
        counts=np.array([spec.counts for spec in specs]),
        cap_today=caps.astype(float),
    )
