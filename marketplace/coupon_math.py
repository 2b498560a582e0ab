"""Coupons in the market model: the live coupon book as arrays, each buyer's best coupon, redemption caps,
and the lowest post-coupon price on offer. Split from `marketplace.model`, which steps the day."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from marketplace.model import SkuParams

THRESHOLD_REACH = 0.5  # buyers top up to a threshold up to 50% above their basket, fewer further


@dataclass
class CouponBook:
    """Live coupons as arrays over C coupons; `applies` is (C, N), `segments` is (C, S).

    `value` and `threshold` are (C,), or (C, N) when one coupon row carries a different face
    value per SKU (the oracle scores such per-SKU ideas in one pass).
    """

    applies: np.ndarray
    segments: np.ndarray
    is_percent: np.ndarray
    value: np.ndarray
    threshold: np.ndarray
    counts: np.ndarray
    cap_today: np.ndarray  # redemptions still possible today (min of daily limit and remaining)

    @property
    def size(self) -> int:
        return len(self.value)

    @staticmethod
    def empty(n: int, s: int) -> CouponBook:
        z = np.zeros(0)
        return CouponBook(
            applies=np.zeros((0, n), bool), segments=np.zeros((0, s), bool),
            is_percent=np.zeros(0, bool), value=z, threshold=z, counts=np.zeros(0, bool),
            cap_today=z,
        )

    def take(self, index: np.ndarray) -> CouponBook:
        n = self.applies.shape[1]
        return replace(self, applies=self.applies[:, index], value=per_sku(self.value, n)[:, index],
                       threshold=per_sku(self.threshold, n)[:, index])


def per_sku(a: np.ndarray, n: int) -> np.ndarray:
    """A per-coupon array as (C, N)."""
    return np.broadcast_to(a if a.ndim == 2 else a[:, None], (len(a), n))


@dataclass
class CouponPairs:
    """Every (coupon, SKU) pair where a live coupon applies, with its terms per segment (P, S)."""

    coupon: np.ndarray  # (P,)
    row: np.ndarray  # (P,)
    basket: np.ndarray  # basket after topping up to the threshold
    discount: np.ndarray  # yuan off one order
    reach: np.ndarray  # share of buyers who use it (0 when the threshold is out of reach)
    usable: np.ndarray  # bool: targeted segment, reachable threshold


def coupon_pairs(params: SkuParams, book: CouponBook, price: np.ndarray) -> CouponPairs:
    """Coupons apply to few SKUs each (or one shop), so work on the applying pairs only."""
    n = params.n
    coupon, row = np.nonzero(book.applies & (book.cap_today > 0)[:, None])
    basket0 = price[row, None] * params.seg_units[row]  # (P, S) usual basket value
    thr = per_sku(book.threshold, n)[coupon, row][:, None]
    value = per_sku(book.value, n)[coupon, row][:, None]
    basket = np.maximum(basket0, thr)
    discount = np.where(book.is_percent[coupon, None], value / 100 * basket, np.minimum(value, basket))
    over = thr / basket0 - 1.0
    reach = np.where(over <= 0, 1.0, np.clip(1.0 - over / THRESHOLD_REACH, 0.0, 1.0))
    usable = book.segments[coupon] & (reach > 0) & (params.seg_share[row] > 0)
    return CouponPairs(coupon, row, basket, discount, reach, usable)


def best_coupons(params: SkuParams, book: CouponBook, price: np.ndarray):
    """For each (SKU, segment) the buyer's best coupon: index, reach share, discount share, basket, discount.

    One store coupon per order: same-type coupons never stack (seed 003) and this model goes
    further and lets the buyer use only the best one.
    """
    n, s = params.seg_share.shape
    basket = price[:, None] * params.seg_units  # (N, S) basket value
    best = np.full((n, s), -1)
    out = [np.zeros((n, s)), np.zeros((n, s)), basket.copy(), np.zeros((n, s))]
    if book.size == 0:
        return best, *out
    pr = coupon_pairs(params, book, price)
    score = np.where(pr.usable, pr.reach * pr.discount / pr.basket, 0.0)
    for k in range(s):
        order = np.lexsort((score[:, k], pr.row))  # by row, then score: each row's best comes last
        last = order[np.r_[pr.row[order][1:] != pr.row[order][:-1], True]] if len(order) else order
        last = last[score[last, k] > 0]
        rows = pr.row[last]
        best[rows, k] = pr.coupon[last]
        for arr, src in zip(out, (pr.reach, pr.discount / pr.basket, pr.basket, pr.discount), strict=True):
            arr[rows, k] = src[last, k]
    return best, *out


def offered_lowest(params: SkuParams, book: CouponBook, price: np.ndarray) -> np.ndarray:
    """Lowest post-coupon unit price any buyer can get today from coupons that count."""
    low = price.astype(float).copy()
    if book.size == 0:
        return low
    pr = coupon_pairs(params, book, price)
    unit = np.where(pr.usable & book.counts[pr.coupon, None], price[pr.row, None] * (1 - pr.discount / pr.basket),
                    np.inf).min(axis=1, initial=np.inf)
    np.minimum.at(low, pr.row, unit)
    return low


def coupon_totals(book: CouponBook, best: np.ndarray, per_seg: np.ndarray) -> np.ndarray:
    """Sum an (…, N, S) quantity per coupon using each (SKU, segment)'s chosen coupon."""
    flat = per_seg.reshape(-1, *best.shape).sum(axis=0)
    mask = best >= 0
    return np.bincount(best[mask], weights=flat[mask], minlength=book.size)


def cap_redemptions(book, best, reach, expected_red) -> np.ndarray:
    """Scale each coupon's reach so expected redemptions stay within today's cap."""
    if book.size == 0:
        return reach
    want = coupon_totals(book, best, expected_red * reach)
    factor = np.where(want > book.cap_today, book.cap_today / np.maximum(want, 1e-9), 1.0)
    return reach * np.where(best >= 0, factor[np.maximum(best, 0)], 1.0)


def exact_cap(book, best, red, rng) -> np.ndarray:
    """Drawn redemptions never pass a coupon's cap (quantity left, daily limit)."""
    if book.size == 0 or rng is None:
        return red
    got = coupon_totals(book, best, red)
    over = got > book.cap_today
    if not over.any():
        return red
    factor = np.where(over, book.cap_today / np.maximum(got, 1e-9), 1.0)
    return np.floor(red * np.where(best >= 0, factor[np.maximum(best, 0)], 1.0)[None])


def per_coupon(book, best, red, cost) -> tuple[np.ndarray, np.ndarray]:
    if book.size == 0:
        return np.zeros(0), np.zeros(0)
    return coupon_totals(book, best, red), coupon_totals(book, best, cost)
