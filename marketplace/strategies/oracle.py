"""The oracle: knows the true market, and each day picks the settings with the most expected
profit over the rest of the horizon, inside the owner's policy. The ceiling for every other
strategy.

Each day it rolls every candidate setting forward in expected-value mode (so stage 2, stock,
rank lift, the lowest price and event entry all count), shares the shop's spend caps across
SKUs by a Lagrange multiplier, then adds the coupons that pay for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from marketplace import bounds
from marketplace.client import PlatformClient, idempotency_key
from marketplace.model import Settings
from marketplace.rollout import ramp_cents, rollout
from marketplace.strategies.base import register
from marketplace.strategies.oracle_coupons import Op, plan_coupons
from marketplace.world import ROI_RANGE, World

BID_GRID = 18
WS_TARGET_STEPS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
BUDGET_HEADROOM = 1.3  # budget = expected spend × this, so noisy days rarely hit it


@register("oracle")
@dataclass
class Oracle:
    world: World
    name: str = "oracle"
    lookahead: int = 35
    # Share of a SKU's best value in its current mode that the other mode must beat it by before the plan
    # switches (search ⇄ whole-site). 0 for the oracle, which knows the market; an estimate needs a margin,
    # or noise flips a campaign back and forth and neither mode gathers the days it needs. inf: never switch.
    switch_margin: float = 0.0
    _plan_day: int = field(default=-1, init=False)
    _ops: dict[str, list[Op]] = field(default_factory=dict, init=False)

    def act(self, client: PlatformClient, day: int) -> None:
        if self._plan_day != day:
            self._ops = self.plan()
            self._plan_day = day
        for op in self._ops.get(client.shop_id, []):
            key = idempotency_key(self.name, client.shop_id, day, op.kind, op.target, op.value)
            _apply(client, op, key)

    # ---- planning -----------------------------------------------------------------------
    def plan(self) -> dict[str, list[Op]]:
        w, n = self.world, self.world.c.params.n
        days = min(self.lookahead, w.scenario.horizon_days - w.day)
        cands, budgets_cap = self._ad_candidates()
        k = len(cands)
        rows = np.tile(np.arange(n), k)
        target = _stack(cands)
        res = rollout(w, rows, target, days, max_bid_change=np.tile(bounds.bid_change_limit(w), k))
        value = res.profit.reshape(k, n)
        need = np.where(target.active.reshape(k, n),
                        np.minimum(budgets_cap, BUDGET_HEADROOM * res.first_spend.reshape(k, n) + 1.0), 0.0)
        value = np.where(self._feasible.reshape(k, n), value, -np.inf)
        if self.switch_margin:
            value = self._hold_mode(value, target.active.reshape(k, n), target.whole_site.reshape(k, n))
        choice = self._allocate(value, need)
        chosen = target.take(choice * n + np.arange(n))
        chosen.budget = np.round(need[choice, np.arange(n)], 2)
        limit = bounds.bid_change_limit(w)
        ops = plan_coupons(w, chosen, days, limit)
        chosen.bid = ramp_cents(w.c.settings.bid, chosen.bid, limit)  # today's step toward it
        for shop in w.c.shop_ids:
            ops[shop][:0] = self._campaign_ops(chosen, w.c.shop_rows[shop])
        return ops

    def _ad_candidates(self) -> tuple[list[Settings], np.ndarray]:
        """Paused, search at a grid of bids, whole-site at a grid of target ROIs; all per SKU."""
        w = self.world
        p, n = w.c.params, w.c.params.n
        max_bid = np.array([x.spend.max_bid for x in bounds.row_policies(w)])
        sku_cap, cap = bounds.sku_budget_cap(w), bounds.bid_cap(w)
        off = _settings(n, active=False, whole_site=False, bid=np.zeros(n), budget=np.zeros(n), roi=np.full(n, 3.0))
        cands, feasible = [off], [np.ones(n, bool)]
        grid = np.geomspace(0.05, 1.0, BID_GRID)[:, None] * max_bid[None, :]
        special = np.stack([p.r2, 1.05 * p.r2, p.b50, 2 * p.b50, cap, 0.8 * cap])
        for bid in np.concatenate([grid, special]):
            ok = (bid >= 0.05) & (bid <= cap + 1e-9)
            cands.append(_settings(n, active=True, whole_site=False, bid=np.round(bid, 2), budget=sku_cap,
                                   roi=np.full(n, 3.0)))
            feasible.append(ok)
        low_t = np.maximum(p.tmin, bounds.min_roi(w))
        low_t = np.where(np.isfinite(low_t), low_t, ROI_RANGE[1] + 1)  # unreachable floors: never feasible
        for step in WS_TARGET_STEPS:
            cands.append(_settings(n, active=True, whole_site=True, bid=np.zeros(n), budget=sku_cap,
                                   roi=np.round(low_t * step, 2)))
            feasible.append(low_t * step <= ROI_RANGE[1])
        self._feasible = np.concatenate(feasible)
        return cands, sku_cap[None, :]

    def _hold_mode(self, value: np.ndarray, active: np.ndarray, whole_site: np.ndarray) -> np.ndarray:
        """`value` with the candidates that switch an active campaign's mode marked down by `switch_margin`
        of the best value that keeps it."""
        cur = self.world.c.settings
        running = cur.active & cur.has_campaign
        switching = running[None, :] & active & (whole_site != cur.whole_site[None, :])
        if np.isinf(self.switch_margin):  # no switching at all
            return np.where(switching, -np.inf, value)
        stay = np.max(np.where(switching, -np.inf, value), axis=0)
        penalty = self.switch_margin * np.abs(np.where(np.isfinite(stay), stay, 0.0))
        return np.where(switching, value - penalty[None, :], value)

    def _allocate(self, value: np.ndarray, need: np.ndarray) -> np.ndarray:
        """Per SKU the candidate with the most value, the shop's worst-case spend inside its caps."""
        w = self.world
        choice = np.argmax(value, axis=0)
        for shop in w.c.shop_ids:
            rows = w.c.shop_rows[shop]
            cap = bounds.shop_budget_room(w, shop)
            choice[rows] = bounds.pick_within_cap(value[:, rows], need[:, rows], cap)
        return choice

    def _campaign_ops(self, chosen: Settings, rows: np.ndarray) -> list[Op]:
        cur, skus = self.world.c.settings, self.world.c.skus
        ops: list[Op] = []
        for i in rows:
            cid = f"cmp-{skus[i]}"
            if not chosen.active[i]:
                if cur.active[i]:
                    ops.append(Op("status", cid, "paused"))
                continue
            if chosen.whole_site[i] and (not cur.whole_site[i] or cur.target_roi[i] != chosen.target_roi[i]):
                ops.append(Op("mode", cid, ("whole_site", float(chosen.target_roi[i]))))
            if not chosen.whole_site[i]:
                if cur.whole_site[i]:
                    ops.append(Op("mode", cid, ("search", None)))
                if cur.bid[i] != chosen.bid[i]:
                    ops.append(Op("bid", cid, float(chosen.bid[i])))
            if abs(cur.budget[i] - chosen.budget[i]) > 0.5:
                ops.append(Op("budget", cid, float(chosen.budget[i])))
            if not cur.active[i]:
                ops.append(Op("status", cid, "active"))
        return ops


def _settings(n, *, active, whole_site, bid, budget, roi) -> Settings:
    return Settings(has_campaign=np.ones(n, bool), active=np.full(n, active), whole_site=np.full(n, whole_site),
                    bid=np.asarray(bid, float), budget=np.asarray(budget, float) * np.ones(n),
                    target_roi=np.asarray(roi, float))


def _stack(cands: list[Settings]) -> Settings:
    return Settings(**{name: np.concatenate([getattr(c, name) for c in cands])
                       for name in ("has_campaign", "active", "whole_site", "bid", "budget", "target_roi")})


def _apply(client: PlatformClient, op: Op, key: str) -> None:
    if op.kind == "status":
        client.set_status(op.target, op.value, key=key)
    elif op.kind == "mode":
        mode, roi = op.value
        client.set_mode(op.target, mode, roi, key=key)
    elif op.kind == "bid":
        client.set_bid(op.target, op.value, key=key)
    elif op.kind == "budget":
        client.set_budget(op.target, op.value, key=key)
    elif op.kind == "stop_coupon":
        client.stop_coupon(op.target, key=key)
    elif op.kind == "create_coupon":
        client.create_coupon(op.value, key=key)
    else:
        raise ValueError(f"unknown oracle op {op.kind!r}")

