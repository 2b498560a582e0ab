"""The simulated platform's state: shops, campaigns, coupons, the clock, and the change log.

The HTTP layer (`marketplace.api`) is the only door to it for clients; the harness and the
oracle read the true parameters from here directly.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from marketplace.compile import SEGMENTS, Compiled, compile_scenario, coupon_book
from marketplace.coupon_math import CouponBook
from marketplace.model import (
    SOURCES,
    DayOutcome,
    Settings,
    advance,
    begin_day,
    in_stage2,
    simulate_day,
)
from marketplace.scenario import CouponSpec, Scenario, ShopSpec
from policies.domain import CampaignMode, CampaignStatus

HISTORY_FIELDS = ("impressions", "clicks", "visitors", "orders", "units", "gmv", "ad_spend", "coupon_cost",
                  "refunds", "refund_amount", "profit")
BID_RANGE = (0.05, 99.0)  # the platform's own bounds on a cost-per-click bid
BUDGET_MAX = 1_000_000.0
ROI_RANGE = (0.5, 50.0)


class NotFound(LookupError):
    """The shop has no such resource (or it belongs to another shop)."""


class InvalidWrite(ValueError):
    """A write the platform refuses; `field` names what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class CouponRecord:
    id: str
    shop_id: str
    spec: CouponSpec
    rows: np.ndarray
    created_day: int
    stopped_day: int | None = None
    redeemed: float = 0.0
    cost: float = 0.0
    last_live_day: int | None = None  # the last day it ran; None before its first
    redeemed_last_live: float = 0.0  # its uses on `last_live_day`
    exhausted_day: int | None = None  # the day its quantity ran out; None while some is left

    def live_on(self, day: int) -> bool:
        return (self.stopped_day is None and self.spec.start_day <= day <= self.spec.end_day
                and self.redeemed < self.spec.quantity)

    def cap_today(self) -> float:
        left = self.spec.quantity - self.redeemed
        return float(min(left, self.spec.daily_limit) if self.spec.daily_limit else left)


@dataclass
class ChangeRecord:
    day: int
    shop_id: str
    sku: str | None
    kind: str
    target: str
    before: object
    after: object
    idempotency_key: str | None


@dataclass
class ShopDay:
    """One shop's totals for one day (what the harness scores)."""

    day: int
    profit: float
    gmv: float
    orders: float
    units: float
    ad_spend: float
    coupon_cost: float


@dataclass
class World:
    """A running simulation of one scenario."""

    scenario: Scenario
    noise: bool = True  # False: every day is its expected value (used to score plans exactly)
    c: Compiled = field(init=False)
    coupons: list[CouponRecord] = field(default_factory=list)
    changes: list[ChangeRecord] = field(default_factory=list)
    history: list[dict[str, np.ndarray]] = field(default_factory=list)
    shop_days: dict[str, list[ShopDay]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.c = compile_scenario(self.scenario)
        self.shops: dict[str, ShopSpec] = {s.id: s for s in self.scenario.shops}
        self.shop_days = {s: [] for s in self.shops}
        for shop in self.scenario.shops:
            for spec in shop.coupons:
                self._add_coupon(shop.id, spec, key=None, log=False)

    # ---- clock -------------------------------------------------------------------------
    @property
    def day(self) -> int:
        return self.c.state.day

    def date_of(self, day: int) -> date:
        return self.scenario.start_date + timedelta(days=day)

    def calendar(self, day: int) -> tuple[int, bool]:
        """Weekday of a simulated day and whether a new calendar month starts on it."""
        when = self.date_of(day)
        return when.weekday(), when.day == 1 and day > 0

    @property
    def finished(self) -> bool:
        return self.day >= self.scenario.horizon_days

    def token_for(self, shop_id: str) -> str:
        shop = self.shops[shop_id]
        if shop.token:
            return shop.token
        digest = hashlib.sha256(f"{self.scenario.name}:{self.scenario.seed}:{shop_id}".encode()).hexdigest()
        return f"tok-{shop_id}-{digest[:12]}"

    def step(self) -> DayOutcome:
        """Simulate today for every shop and move the clock to tomorrow."""
        with self.lock:
            c, today = self.c, self.day
            state, ctx = begin_day(c.params, c.state, c.events, *self.calendar(today))
            live = self.live_coupons(today)
            book = self.book(live, today)
            # One generator per day: a policy's choices never shift another day's draws.
            rng = np.random.default_rng([self.scenario.seed, today]) if self.noise else None
            out = simulate_day(c.params, state, c.settings, book, ctx, rng)
            c.state = advance(c.params, state, out, ctx)
            for r, n_red, spend in zip(live, out.redemptions, out.coupon_spend, strict=True):
                r.redeemed += n_red
                r.cost += spend
                r.last_live_day, r.redeemed_last_live = today, n_red
                if r.redeemed >= r.spec.quantity:
                    r.exhausted_day = today
            self.history.append({f: getattr(out, f).astype(np.float32) for f in HISTORY_FIELDS})
            self._score(today, out)
            return out

    def live_coupons(self, day: int | None = None) -> list[CouponRecord]:
        day = self.day if day is None else day
        return [r for r in self.coupons if r.live_on(day)]

    def book(self, live: list[CouponRecord], day: int) -> CouponBook:
        caps = np.array([r.cap_today() for r in live])
        return coupon_book([(r.spec, r.rows) for r in live], caps, self.c.params.n)

    def _score(self, day: int, out: DayOutcome) -> None:
        shop = self.c.params.shop
        m = len(self.c.shop_ids)
        total = lambda a: np.bincount(shop, weights=a.sum(axis=0), minlength=m)  # noqa: E731
        sums = {f: total(getattr(out, f)) for f in ("profit", "gmv", "orders", "units", "ad_spend", "coupon_cost")}
        for k, shop_id in enumerate(self.c.shop_ids):
            self.shop_days[shop_id].append(ShopDay(day=day, **{f: float(v[k]) for f, v in sums.items()}))

    # ---- lookups -----------------------------------------------------------------------
    def row(self, shop_id: str, sku: str) -> int:
        try:
            return self.c.index[(shop_id, sku)]
        except KeyError:
            raise NotFound(f"SKU {sku!r} not found") from None

    def campaign_row(self, shop_id: str, campaign_id: str) -> int:
        sku = campaign_id.removeprefix("cmp-")
        if not campaign_id.startswith("cmp-"):
            raise NotFound(f"campaign {campaign_id!r} not found")
        try:
            return self.c.index[(shop_id, sku)]
        except KeyError:
            raise NotFound(f"campaign {campaign_id!r} not found") from None

    def coupon(self, shop_id: str, coupon_id: str) -> CouponRecord:
        for r in self.coupons:
            if r.id == coupon_id and r.shop_id == shop_id:
                return r
        raise NotFound(f"coupon {coupon_id!r} not found")

    def campaign_view(self, row: int) -> dict:
        s, st = self.c.settings, self.c.state
        return {
            "id": f"cmp-{self.c.skus[row]}", "sku": self.c.skus[row],
            "mode": (CampaignMode.WHOLE_SITE if s.whole_site[row] else CampaignMode.SEARCH).value,
            "status": (CampaignStatus.ACTIVE if s.active[row] else CampaignStatus.PAUSED).value,
            "bid": round(float(s.bid[row]), 2), "budget": round(float(s.budget[row]), 2),
            "target_roi": round(float(s.target_roi[row]), 2),
            "stage": 2 if st.ad_orders[row] >= self.c.params.n1[row] else 1,
            "month_spend": round(float(st.month_spend[row]), 2),
        }

    # ---- writes --------------------------------------------------------------------------
    def set_bid(self, shop_id: str, campaign_id: str, bid: float, key: str | None = None) -> dict:
        lo, hi = BID_RANGE
        if not lo <= bid <= hi:
            raise InvalidWrite("bid", f"must be between {lo} and {hi} yuan, got {bid}")
        return self._set(shop_id, campaign_id, "bid", round(bid, 2), key)

    def set_budget(self, shop_id: str, campaign_id: str, budget: float, key: str | None = None) -> dict:
        if not 0 <= budget <= BUDGET_MAX:
            raise InvalidWrite("budget", f"must be between 0 and {BUDGET_MAX:.0f} yuan, got {budget}")
        return self._set(shop_id, campaign_id, "budget", round(budget, 2), key)

    def set_status(self, shop_id: str, campaign_id: str, status: CampaignStatus, key: str | None = None) -> dict:
        return self._set(shop_id, campaign_id, "active", status is CampaignStatus.ACTIVE, key)

    def set_mode(self, shop_id: str, campaign_id: str, mode: CampaignMode, target_roi: float | None,
                 key: str | None = None) -> dict:
        """Search bidding or whole-site target ROI: one write, one change-log entry."""
        with self.lock:
            row = self.campaign_row(shop_id, campaign_id)
            s = self.c.settings
            whole_site = mode is CampaignMode.WHOLE_SITE
            roi = float(s.target_roi[row])
            if whole_site:
                roi = target_roi if target_roi is not None else roi
                lo, hi = ROI_RANGE
                if not lo <= roi <= hi:
                    raise InvalidWrite("target_roi", f"must be between {lo} and {hi}, got {roi}")
            elif target_roi is not None:
                raise InvalidWrite("target_roi", "only a whole_site campaign takes a target ROI")
            view = lambda: {"mode": self.campaign_view(row)["mode"], "target_roi": float(s.target_roi[row])}  # noqa: E731
            before = view()
            s.whole_site[row], s.target_roi[row] = whole_site, round(roi, 2)
            self._log(shop_id, self.c.skus[row], "campaign.mode", campaign_id, before, view(), key)
            return self.campaign_view(row)

    def _set(self, shop_id: str, campaign_id: str, name: str, value, key: str | None) -> dict:
        with self.lock:
            row = self.campaign_row(shop_id, campaign_id)
            arr = getattr(self.c.settings, name)
            before = arr[row].item()
            arr[row] = value
            self._log(shop_id, self.c.skus[row], f"campaign.{name}", campaign_id, before, arr[row].item(), key)
            return self.campaign_view(row)

    def create_coupon(self, shop_id: str, spec: CouponSpec, key: str | None = None) -> CouponRecord:
        with self.lock:
            if spec.sku is not None:
                self.row(shop_id, spec.sku)
            return self._add_coupon(shop_id, spec, key=key, log=True)

    def stop_coupon(self, shop_id: str, coupon_id: str, key: str | None = None) -> CouponRecord:
        with self.lock:
            rec = self.coupon(shop_id, coupon_id)
            if rec.stopped_day is None:
                rec.stopped_day = self.day
                self._log(shop_id, rec.spec.sku, "coupon.stop", coupon_id, "live", "stopped", key)
            return rec

    def _add_coupon(self, shop_id: str, spec: CouponSpec, key: str | None, log: bool) -> CouponRecord:
        shop_rows = self.c.shop_rows[shop_id]
        rows = shop_rows if spec.sku is None else np.array([self.c.index[(shop_id, spec.sku)]])
        cid = spec.id or self._new_coupon_id(shop_id)
        if any(r.id == cid for r in self.coupons):
            raise InvalidWrite("id", f"coupon id {cid!r} already exists")
        rec = CouponRecord(id=cid, shop_id=shop_id, spec=spec.model_copy(update={"id": cid}), rows=rows,
                           created_day=self.day)
        self.coupons.append(rec)
        if log:
            self._log(shop_id, spec.sku, "coupon.create", cid, None, spec.model_dump(mode="json"), key)
        return rec

    def _new_coupon_id(self, shop_id: str) -> str:
        taken = {r.id for r in self.coupons}
        n = len(self.coupons) + 1
        while f"cpn-{shop_id}-{n}" in taken:
            n += 1
        return f"cpn-{shop_id}-{n}"

    def _log(self, shop_id, sku, kind, target, before, after, key) -> None:
        self.changes.append(ChangeRecord(self.day, shop_id, sku, kind, target, before, after, key))

    # ---- derived platform facts -----------------------------------------------------------
    def bid_suggestion(self, row: int) -> dict:
        """What the platform tells the merchant to bid: volume first, doubled in stage 2 (seed 001)."""
        p, st = self.c.params, self.c.state
        stage1 = round(float(p.b50[row]) * 1.2, 2)
        stage2 = bool(in_stage2(p, st)[row])
        return {
            "sku": self.c.skus[row], "campaign_id": f"cmp-{self.c.skus[row]}", "stage": 2 if stage2 else 1,
            "suggested_bid": round(stage1 * 2, 2) if stage2 else stage1,
            "suggested_target_roi": round(float(p.tmin[row]), 2),
            "reason": "stage 2 precise audience: raise the bid to keep traffic" if stage2
            else "broad audience: bid for volume",
        }

    def segments_view(self, shop_id: str) -> list[dict]:
        return [{"name": s.name.value, "share": s.share, "avg_basket_units": s.basket_units}
                for s in self.shops[shop_id].segments]

    def settings_snapshot(self) -> Settings:
        return self.c.settings.copy()


SEGMENT_NAMES = [s.value for s in SEGMENTS]
__all__ = ["World", "NotFound", "InvalidWrite", "SOURCES", "SEGMENT_NAMES", "HISTORY_FIELDS"]
