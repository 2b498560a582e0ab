"""The market model: one simulated day for every SKU at once, as numpy array steps.

Formulas follow SPEC.md section 3. With `rng=None` the step returns expected values (no
noise); the oracle rolls that mode forward to plan. With a generator it draws Poisson and
binomial counts on top of a day-level log-normal traffic factor. Coupons live in
`marketplace.coupon_math`, promotion events in `marketplace.events`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from marketplace.coupon_math import (
    CouponBook,
    best_coupons,
    cap_redemptions,
    exact_cap,
    offered_lowest,
    per_coupon,
)
from marketplace.events import EventBook, enter_and_leave, traffic_multiplier

SOURCES = ("organic", "search", "whole_site")
STAGE1_CONVERSION = 0.6  # broad stage-1 audience converts at 0.6× the precise stage-2 one
STAGE2_CUTOFF_POWER = 3.0  # below the reserve r2, stage-2 clicks fall as (b/r2)^3
MAX_DAILY_OVERDELIVERY = 1.25  # a day may bill up to 1.25× the daily budget ...
MONTH_BUDGET_DAYS = 30.4  # ... but a month never more than 30.4× it
SALES_WINDOW = 7
PRICE_WINDOW = 30
ORGANIC_CTR = 0.05  # impressions are reported as visitors / CTR (display only)
AD_CTR = 0.03


@dataclass
class SkuParams:
    """True parameters per SKU (arrays of length N); segment arrays are (N, S)."""

    shop: np.ndarray
    price: np.ndarray
    cost: np.ndarray
    shipping: np.ndarray
    commission: np.ndarray
    v0: np.ndarray
    rho: np.ndarray
    s_ref: np.ndarray
    base_cr: np.ndarray
    cmax: np.ndarray
    b50: np.ndarray
    h: np.ndarray
    kappa: np.ndarray
    n1: np.ndarray
    r2: np.ndarray
    smax: np.ndarray
    tmin: np.ndarray
    gamma: np.ndarray
    smart_share: np.ndarray
    refund_rate: np.ndarray
    p_ref: np.ndarray
    restock_every: np.ndarray
    restock_qty: np.ndarray
    season_amp: np.ndarray
    noise_sigma: np.ndarray
    margin_floor: np.ndarray  # owner's minimum net margin, used for event entry
    seg_share: np.ndarray
    seg_conv: np.ndarray
    seg_eps: np.ndarray
    seg_units: np.ndarray
    seg_price_sensitive: np.ndarray  # (N, S) bool: the segment smart coupons go to

    @property
    def n(self) -> int:
        return len(self.price)

    def take(self, index: np.ndarray) -> SkuParams:
        """Rows `index` of every array (used to tile SKUs across candidate settings)."""
        return SkuParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class Settings:
    """What the merchant controls per SKU campaign (arrays of length N)."""

    has_campaign: np.ndarray
    active: np.ndarray
    whole_site: np.ndarray
    bid: np.ndarray
    budget: np.ndarray
    target_roi: np.ndarray

    def copy(self) -> Settings:
        return Settings(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def take(self, index: np.ndarray) -> Settings:
        return Settings(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class MarketState:
    """What carries from one day to the next (arrays over N SKUs)."""

    day: int
    stock: np.ndarray
    sales_window: np.ndarray  # (N, 7) units sold on each of the last 7 days
    price_window: np.ndarray  # (N, 30) lowest offered counted price of the last 30 days
    ad_orders: np.ndarray  # cumulative search-ad orders (stage 1 → 2 after n1)
    month_spend: np.ndarray  # ad spend of this calendar month so far
    event_id: np.ndarray  # index of the running event the SKU entered, -1 for none
    event_price: np.ndarray

    @property
    def in_event(self) -> np.ndarray:
        return self.event_id >= 0

    @staticmethod
    def initial(params: SkuParams, stock: np.ndarray) -> MarketState:
        n = params.n
        return MarketState(
            day=0, stock=stock.astype(float),
            sales_window=np.zeros((n, SALES_WINDOW)),
            price_window=np.repeat(params.price[:, None], PRICE_WINDOW, axis=1).astype(float),
            ad_orders=np.zeros(n), month_spend=np.zeros(n),
            event_id=np.full(n, -1), event_price=params.price.astype(float).copy(),
        )

    def copy(self) -> MarketState:
        values: dict[str, Any] = {
            f.name: (v.copy() if isinstance(v := getattr(self, f.name), np.ndarray) else v)
            for f in fields(self)
        }
        return MarketState(**values)

    def take(self, index: np.ndarray) -> MarketState:
        return MarketState(**{
            f.name: (v[index] if isinstance(v := getattr(self, f.name), np.ndarray) else v)
            for f in fields(self)
        })

    @property
    def lowest_price(self) -> np.ndarray:
        return self.price_window.min(axis=1)


def in_stage2(params: SkuParams, state: MarketState) -> np.ndarray:
    """Stage 2 (precise audience, needs the reserve bid) starts after n1 ad orders."""
    return state.ad_orders >= params.n1


@dataclass
class DayContext:
    """Calendar facts of one day: weekday season, event traffic, whether the month starts."""

    day: int
    weekday: int
    month_start: bool
    event_mult: np.ndarray  # (N,) traffic multiplier of a running event for entered SKUs


@dataclass
class DayOutcome:
    """One day's results; per-source arrays are (3, N) in SOURCES order."""

    impressions: np.ndarray
    visitors: np.ndarray
    clicks: np.ndarray
    orders: np.ndarray
    units: np.ndarray
    gmv: np.ndarray
    ad_spend: np.ndarray
    coupon_cost: np.ndarray
    refunds: np.ndarray
    refund_amount: np.ndarray
    profit: np.ndarray
    redemptions: np.ndarray  # (C,) per coupon
    coupon_spend: np.ndarray  # (C,) per coupon
    offered_low: np.ndarray  # (N,) lowest counted post-coupon unit price offered today
    selling_price: np.ndarray  # (N,)
    stage2: np.ndarray  # (N,) bool, at the start of the day
    stocked_out: np.ndarray  # (N,) bool: ran out during or before the day


def season(amplitude: np.ndarray, weekday: int) -> np.ndarray:
    """Weekday traffic factor peaking at the weekend (Mon=0 … Sun=6)."""
    return 1.0 + amplitude * np.cos(2 * np.pi * (weekday - 5.5) / 7.0)


def hill(bid: np.ndarray, b50: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Share of the most clicks a bid buys: b^h / (b^h + b50^h)."""
    bh = np.power(np.maximum(bid, 0.0), h)
    return bh / (bh + np.power(b50, h))


def stage2_cut(bid: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Stage-2 traffic left at a bid below the hidden reserve (the 断流 of seed 001)."""
    return np.minimum(1.0, np.power(np.maximum(bid, 0.0) / r2, STAGE2_CUTOFF_POWER))


def whole_site_efficiency(params: SkuParams) -> np.ndarray:
    """GMV per yuan multiplier from smart coupons going to the most price-elastic buyers."""
    mean_eps = (params.seg_share * params.seg_eps).sum(axis=1)
    ps_eps = np.where(params.seg_price_sensitive, params.seg_eps, 0.0).max(axis=1)
    gain = np.where(ps_eps > 0, ps_eps / np.maximum(mean_eps, 1e-9) - 1.0, 0.0)
    return 1.0 + params.smart_share * np.clip(gain, -0.5, 1.0)


def _draw(rng: np.random.Generator | None, lam: np.ndarray) -> np.ndarray:
    """A Poisson count, or its mean in expected mode."""
    lam = np.maximum(lam, 0.0)
    return lam if rng is None else rng.poisson(lam).astype(float)


def simulate_day(
    params: SkuParams, state: MarketState, settings: Settings, book: CouponBook,
    ctx: DayContext, rng: np.random.Generator | None,
) -> DayOutcome:
    """Traffic, ads, conversion, coupons and stock of one day for all SKUs."""
    n = params.n
    sigma = params.noise_sigma
    if rng is None:
        noise_org = noise_ad = np.ones(n)
    else:  # mean-one log-normal day factor (σ ≈ 0.2) on top of the count noise
        noise_org = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
        noise_ad = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    seas = season(params.season_amp, ctx.weekday) * ctx.event_mult
    price = np.where(state.in_event, state.event_price, params.price)
    in_stock = state.stock > 0

    # Organic traffic, lifted by last week's sales (rank).
    sales7 = state.sales_window.sum(axis=1)
    organic = _draw(rng, params.v0 * seas * (1 + params.rho * np.tanh(sales7 / params.s_ref)) * noise_org)

    # Search ads: Hill response, stage-2 reserve, cost per click below the bid, budget stop.
    stage2 = in_stage2(params, state)
    search_on = settings.has_campaign & settings.active & ~settings.whole_site & (settings.budget > 0)
    bid = np.where(search_on, settings.bid, 0.0)
    reach = hill(bid, params.b50, params.h) * np.where(stage2, stage2_cut(bid, params.r2), 1.0)
    clicks_wanted = _draw(rng, params.cmax * reach * seas * noise_ad)
    cpc = params.kappa * bid
    pace = 1.0 if rng is None else np.clip(noise_ad, 1.0, MAX_DAILY_OVERDELIVERY)
    month_left = np.maximum(MONTH_BUDGET_DAYS * settings.budget - state.month_spend, 0.0)
    spend_cap = np.minimum(pace * settings.budget, month_left)
    affordable = np.where(cpc > 0, spend_cap / np.where(cpc > 0, cpc, 1.0), 0.0)
    clicks = np.minimum(clicks_wanted, affordable if rng is None else np.floor(affordable))
    clicks = np.where(search_on, clicks, 0.0)
    search_spend = clicks * cpc
    ad_conv = np.where(stage2, 1.0, STAGE1_CONVERSION)

    # Conversion by segment, with the buyer's best coupon.
    best, reach_c, delta, cbasket, discount = best_coupons(params, book, price)
    p_ratio = price / params.p_ref
    cr = params.base_cr[:, None] * params.seg_conv * np.power(p_ratio[:, None], -params.seg_eps)
    cr_coupon = params.base_cr[:, None] * params.seg_conv * np.power(
        np.maximum(p_ratio[:, None] * (1 - delta), 1e-6), -params.seg_eps)
    cr = np.where(in_stock[:, None], np.minimum(cr, 1.0), 0.0)
    cr_coupon = np.where(in_stock[:, None], np.minimum(cr_coupon, 1.0), 0.0)
    eff_visitors = np.stack([organic[:, None] * params.seg_share,
                             (clicks * ad_conv)[:, None] * params.seg_share])  # (2, N, S)
    reach_c = cap_redemptions(book, best, reach_c, eff_visitors.sum(axis=0) * cr_coupon)
    red = _draw(rng, eff_visitors * reach_c * cr_coupon)  # (2, N, S) redeemed orders
    plain = _draw(rng, eff_visitors * (1 - reach_c) * cr)
    red = exact_cap(book, best, red, rng)
    units = plain + red + _draw(rng, plain * (params.seg_units - 1)) + _draw(
        rng, red * (cbasket / price[:, None] - 1))

    # Whole-site campaign: delivery falls above the lowest feasible target ROI.
    ws_on = settings.has_campaign & settings.active & settings.whole_site & (settings.budget > 0)
    target = np.maximum(settings.target_roi, params.tmin)
    ws_demand = params.smax * np.power(params.tmin / target, params.gamma) * seas * noise_ad
    ws_spend = np.where(ws_on, np.minimum(ws_demand, spend_cap), 0.0)
    ws_orders = np.where(in_stock, _draw(rng, ws_spend * target * whole_site_efficiency(params) / price), 0.0)

    # Stock: orders stop at zero stock.
    total_units = units.sum(axis=(0, 2)) + ws_orders
    ratio = np.where(total_units > state.stock, state.stock / np.maximum(total_units, 1e-9), 1.0)
    stocked_out = ~in_stock | (total_units >= state.stock)
    if (ratio < 1).any():
        if rng is None:  # expected values: every cell shrinks in proportion
            r3 = ratio[None, :, None]
            plain, red, units, ws_orders = plain * r3, red * r3, units * r3, ws_orders * ratio
        else:
            plain, red, units, ws_orders = _cut_to_stock(plain, red, units, ws_orders, ratio, state.stock)
    coupon_cost_seg = red * discount
    orders = np.stack([(plain[0] + red[0]).sum(1), (plain[1] + red[1]).sum(1), ws_orders])
    units3 = np.stack([units[0].sum(1), units[1].sum(1), ws_orders])
    coupon_cost = np.stack([coupon_cost_seg[0].sum(1), coupon_cost_seg[1].sum(1), np.zeros(n)])

    refunds = _binomial(rng, orders, params.refund_rate)
    gmv = units3 * price
    paid_per_order = np.where(orders > 0, (gmv - coupon_cost) / np.maximum(orders, 1e-9), 0.0)
    refund_amount = refunds * paid_per_order
    refunded_units = np.where(orders > 0, refunds * units3 / np.maximum(orders, 1e-9), 0.0)
    ad_spend = np.stack([np.zeros(n), search_spend, ws_spend])
    net_paid = (gmv - coupon_cost - refund_amount) * (1 - params.commission)
    profit = net_paid - (units3 - refunded_units) * params.cost - units3 * params.shipping - ad_spend
    visitors = np.stack([organic, clicks, np.where(ws_on, ws_spend / np.maximum(cpc, 0.3), 0.0)])
    redemptions, coupon_spend = per_coupon(book, best, red, coupon_cost_seg)
    return DayOutcome(
        impressions=np.stack([organic / ORGANIC_CTR, clicks / AD_CTR, visitors[2] / AD_CTR]),
        visitors=visitors, clicks=np.stack([np.zeros(n), clicks, visitors[2]]),
        orders=orders, units=units3, gmv=gmv, ad_spend=ad_spend, coupon_cost=coupon_cost,
        refunds=refunds, refund_amount=refund_amount, profit=profit,
        redemptions=redemptions, coupon_spend=coupon_spend,
        offered_low=offered_lowest(params, book, params.price), selling_price=price,
        stage2=stage2, stocked_out=stocked_out,
    )


def _binomial(rng, counts: np.ndarray, rate: np.ndarray) -> np.ndarray:
    if rng is None:
        return counts * rate
    return rng.binomial(counts.astype(np.int64), np.broadcast_to(rate, counts.shape)).astype(float)


def _cut_to_stock(plain: np.ndarray, red: np.ndarray, units: np.ndarray, ws_orders: np.ndarray, ratio: np.ndarray,
                  stock: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole units when demand exceeds stock: each (source, segment) cell and the whole-site orders get
    their share rounded down, and the units left over go to the cells with the largest remainders, so
    a SKU whose demand is above its stock sells exactly its stock. Orders shrink with their units, and
    a cell that keeps a unit keeps at least one order."""
    n = ratio.shape[0]
    cells = np.concatenate([units.transpose(1, 0, 2).reshape(n, -1), ws_orders[:, None]], axis=1)  # (N, C)
    scaled = cells * ratio[:, None]
    whole = np.floor(scaled)
    sold = np.where(ratio < 1, np.floor(np.minimum(stock, cells.sum(1))), cells.sum(1))
    left = np.maximum(sold - whole.sum(1), 0.0)
    order = np.argsort(-(scaled - whole), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(cells.shape[1]), cells.shape), axis=1)
    cut = np.where(ratio[:, None] < 1, whole + (rank < left[:, None]), cells)
    new_units = cut[:, :-1].reshape(n, units.shape[0], units.shape[2]).transpose(1, 0, 2)
    r3 = ratio[None, :, None]
    new_plain, new_red = np.floor(plain * r3), np.floor(red * r3)
    orphan = (new_units > 0) & (new_plain + new_red == 0)  # units with no order left to carry them
    new_plain = np.where(orphan & (plain > 0), 1.0, new_plain)
    new_red = np.where(orphan & (plain <= 0), 1.0, new_red)
    keep = r3 >= 1
    return (np.where(keep, plain, new_plain), np.where(keep, red, new_red), np.where(keep, units, new_units),
            cut[:, -1])


def advance(params: SkuParams, state: MarketState, out: DayOutcome, ctx: DayContext) -> MarketState:
    """Carry the day's results into tomorrow's state (stock, rank, lowest price, stage, month)."""
    nxt = state.copy()
    units = out.units.sum(axis=0)
    nxt.stock = np.maximum(state.stock - units, 0.0)
    nxt.sales_window = np.roll(state.sales_window, -1, axis=1)
    nxt.sales_window[:, -1] = units
    nxt.price_window = np.roll(state.price_window, -1, axis=1)
    nxt.price_window[:, -1] = out.offered_low
    nxt.ad_orders = state.ad_orders + out.orders[1]
    nxt.month_spend = state.month_spend + out.ad_spend.sum(axis=0)
    nxt.day = state.day + 1
    return nxt


def restocks_on(day, every):
    """Whether a restock every `every` days arrives on the morning of `day`, before its sales (never day 0);
    numbers or arrays."""
    return (day > 0) & (day % every == 0)


def next_restock_day(day: int, every: int) -> int:
    """The first day from `day` on (today included) whose morning brings a restock every `every` days."""
    return day if restocks_on(day, every) else (day // every + 1) * every


def begin_day(
    params: SkuParams, state: MarketState, events: EventBook, weekday: int, month_start: bool
) -> tuple[MarketState, DayContext]:
    """Restocks, the month's spend counter, and event entry/exit (`marketplace.events`) at the start of a day."""
    st = state.copy()
    day = st.day
    if month_start:
        st.month_spend = np.zeros_like(st.month_spend)
    st.stock = st.stock + np.where(restocks_on(day, params.restock_every), params.restock_qty, 0.0)
    st.event_id, st.event_price = enter_and_leave(params, state, events)
    mult = traffic_multiplier(events, st.event_id)
    return st, DayContext(day=day, weekday=weekday, month_start=month_start, event_mult=mult)
