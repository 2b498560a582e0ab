"""Synthetic catalogues: large, varied, realistic scenarios for load tests and benchmarks.

Every number is drawn as one numpy array over a shop's SKUs, within the ranges SPEC.md section 3
takes from the marketing literature, and rounded to a few significant digits so a written file
stays small and reads like a hand-made one. The whole scenario is validated once at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import yaml

from marketplace.scenario import Scenario, default_segments
from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment

PRICE_RANGE = (9.0, 300.0)  # list prices, yuan, log-uniform between
COST_SHARE = (0.35, 0.75)  # unit cost as a share of the list price
MAX_COST_AND_SHIPPING = 0.9  # cost + shipping stays below 90% of the price: every SKU is sellable
CAMPAIGN_SHARE = 0.6
WHOLE_SITE_SHARE = 0.2  # of the campaigns
PAUSED_SHARE = 0.15  # of the campaigns
RESTOCK_SHARE = 0.4
SKU_BUDGET_CAP = 200.0  # the policy's largest daily budget per SKU; initial budgets stay below it
MAX_COUPON_VALUE = 20.0

_NOUNS = ("毛巾", "保温杯", "数据线", "手机壳", "收纳盒", "拖鞋", "台灯", "坚果礼盒", "纸巾", "洗衣液", "枕头",
          "床单", "电热水壶", "小风扇", "蓝牙耳机", "瑜伽垫", "雨伞", "袜子", "围巾", "茶叶", "面膜", "牙刷",
          "衣架", "保鲜袋")
_MODIFIERS = ("纯棉", "加厚", "便携", "北欧风", "家用", "大容量", "静音", "原味", "经典", "轻薄", "可折叠", "高端")
_VARIANTS = ("", " 两件装", " 礼盒装", " 升级款", " 加大款", " 三色可选")
_SHOP_NAMES = ("小杨日用百货", "阿梅家纺", "老周坚果铺", "省心小家电", "山茶小铺", "优选生活馆")


def generate(skus: int, shops: int = 1, seed: int = 0, days: int = 28, name: str | None = None) -> Scenario:
    """A validated scenario of `skus` SKUs split over `shops` shops; the same seed gives the same one."""
    if shops < 1 or skus < shops:
        raise ValueError(f"skus ({skus}) must be at least shops ({shops}), and shops at least 1")
    rng = np.random.default_rng(seed)
    sizes = [len(part) for part in np.array_split(np.arange(skus), shops)]
    return Scenario.model_validate({
        "name": name or f"catalogue_{skus}",
        "description": f"Synthetic catalogue of {skus} SKUs in {shops} shop{'s' if shops > 1 else ''}: varied "
                       f"prices, margins, stock and ad response (seed {seed}).",
        "description_zh": f"合成商品目录：{shops} 家店铺共 {skus} 个 SKU，价格、毛利、库存与广告响应各不相同"
                          f"（种子 {seed}）。",
        "seed": seed,
        "horizon_days": days,
        "shops": [_shop(rng, number, n, days) for number, n in enumerate(sizes, start=1)],
    })


def _shop(rng: np.random.Generator, number: int, n: int, days: int) -> dict[str, Any]:
    """One shop: its catalogue, campaigns, coupons, events and a policy scaled to its size."""
    cols = _catalogue(rng, n)
    skus = [f"S{number}-{i:0{max(4, len(str(n)))}d}" for i in range(1, n + 1)]
    campaigns = _campaigns(rng, cols, skus)
    return {
        "id": f"shop-{number}",
        "name": _SHOP_NAMES[(number - 1) % len(_SHOP_NAMES)] + (f" {number}" if number > len(_SHOP_NAMES) else ""),
        "segments": _segments(rng),
        "products": _products(rng, cols, skus),
        "campaigns": campaigns,
        "coupons": _coupons(rng, cols, skus, days, prefix=f"S{number}"),
        "events": _events(rng, skus, days, number),
        "policy": _policy(campaigns, n),
    }


def _catalogue(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Prices, costs and the hidden market response of n SKUs, as arrays.

    Cheap goods get more visitors and convert better. The bid that buys half the clicks is a
    fifth to a half of the GMV a click brings (price × conversion), as in the hand-made
    scenarios: rivals bid up to what a click is worth to them.
    """
    low, high = np.log(PRICE_RANGE)
    raw = np.exp(rng.uniform(low, high, n))
    price = np.where(raw < 100, np.ceil(raw) - 0.1, np.ceil(raw / 10) * 10 - 1)  # 39.9, 129: shop-style prices
    cost = np.round(price * rng.uniform(*COST_SHARE, n), 1)
    ship_room = MAX_COST_AND_SHIPPING * price - cost
    shipping = np.floor(np.minimum(rng.uniform(1.5, 4.0, n) + 0.02 * price, ship_room) * 10) / 10
    rel = price / 40.0
    v0 = np.clip(np.rint(np.exp(rng.normal(np.log(60) - 0.4 * np.log(rel), 0.8))), 3, 3000)
    base_cr = np.clip(np.round(np.exp(rng.normal(np.log(0.05) - 0.25 * np.log(rel), 0.35)), 4), 0.005, 0.25)
    daily_units = v0 * base_cr * 1.3
    cmax = np.maximum(np.rint(v0 * rng.uniform(1.0, 5.0, n)), 10)
    b50 = np.maximum(np.round(price * base_cr * rng.uniform(0.18, 0.45, n), 2), 0.05)
    return {
        "price": price, "cost": cost, "shipping": shipping,
        "commission": rng.choice([0.03, 0.05, 0.08], n, p=[0.3, 0.5, 0.2]),
        "stock": np.ceil(daily_units * np.exp(rng.uniform(np.log(7), np.log(120), n))).astype(int),  # days of cover
        "restock_every": np.where(rng.random(n) < RESTOCK_SHARE, rng.integers(5, 15, n), 0),
        "restock_scale": rng.uniform(0.7, 1.5, n) * daily_units,
        "v0": v0,
        "rho": np.round(rng.uniform(0.2, 1.2, n), 2),
        "s_ref": np.maximum(np.rint(7 * daily_units * rng.uniform(0.5, 2.0, n)), 3),
        "base_cr": base_cr,
        "cmax": cmax,
        "b50": b50,
        "h": np.round(rng.uniform(0.8, 2.6, n), 2),
        "kappa": np.round(rng.uniform(0.78, 0.92, n), 2),
        "n1": rng.integers(10, 81, n),
        "r2": np.maximum(np.round(b50 * rng.uniform(0.8, 2.2, n), 2), 0.05),  # mostly 1.3–2.2× b50, sometimes below
        "smax": np.maximum(np.rint(cmax * b50 * rng.uniform(0.15, 0.5, n)), 5),
        "tmin": np.round(rng.uniform(1.8, 5.0, n), 2),
        "gamma": np.round(rng.uniform(1.0, 2.5, n), 2),
        "smart_coupon_share": np.round(rng.uniform(0.1, 0.3, n), 2),
        "refund_rate": np.round(rng.uniform(0.005, 0.06, n), 3),
    }


_PRODUCT = ("price", "cost", "shipping", "commission", "stock")
_MARKET = ("v0", "rho", "s_ref", "base_cr", "cmax", "b50", "h", "kappa", "n1", "r2", "smax", "tmin", "gamma",
           "smart_coupon_share", "refund_rate")


def _products(rng: np.random.Generator, cols: dict[str, np.ndarray], skus: list[str]) -> list[dict[str, Any]]:
    """Product mappings, columns turned into Python lists once (faster than per-element numpy access)."""
    n = len(skus)
    titles = [f"{_MODIFIERS[m]}{_NOUNS[k]}{_VARIANTS[v]}" for m, k, v in zip(
        rng.integers(0, len(_MODIFIERS), n).tolist(), rng.integers(0, len(_NOUNS), n).tolist(),
        rng.integers(0, len(_VARIANTS), n).tolist(), strict=True)]
    every = cols["restock_every"]
    restock_qty = (np.ceil(every * cols["restock_scale"] / 10) * 10).astype(int).tolist()
    product = {k: cols[k].tolist() for k in _PRODUCT}
    market = {k: cols[k].tolist() for k in _MARKET}
    rows = []
    for i, (sku, title, every_days) in enumerate(zip(skus, titles, every.tolist(), strict=True)):
        row = {"sku": sku, "title": title, **{k: v[i] for k, v in product.items()}}
        if every_days:
            row["restock"] = {"every_days": every_days, "quantity": restock_qty[i]}
        row["market"] = {k: v[i] for k, v in market.items()}
        rows.append(row)
    return rows


def _segments(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The default buyer mix, perturbed per shop; elasticities within the published ranges."""
    base = default_segments()
    shares = np.round(rng.dirichlet([s.share * 60 for s in base]), 3)
    shares[-1] = round(1.0 - shares[:-1].sum(), 3)  # rounded shares must still add up to 1
    eps_range = {Segment.HIGH_VALUE: (0.3, 1.0), Segment.PRICE_SENSITIVE: (2.5, 4.0)}
    return [{
        "name": s.name.value, "share": float(share),
        "conv_mult": round(s.conv_mult * rng.uniform(0.85, 1.15), 2),
        "elasticity": round(rng.uniform(*eps_range.get(s.name, (1.5, 3.0))), 2),
        "basket_units": round(max(1.0, s.basket_units * rng.uniform(0.95, 1.1)), 2),
    } for s, share in zip(base, shares, strict=True)]


def _campaigns(rng: np.random.Generator, cols: dict[str, np.ndarray], skus: list[str]) -> list[dict[str, Any]]:
    """About 60% of SKUs advertise: mostly search bids near b50, some whole-site, some paused."""
    n = len(skus)
    rows = np.flatnonzero(rng.random(n) < CAMPAIGN_SHARE)
    whole_site = (rng.random(len(rows)) < WHOLE_SITE_SHARE).tolist()
    paused = (rng.random(len(rows)) < PAUSED_SHARE).tolist()
    bid = np.clip(np.round(cols["b50"][rows] * rng.uniform(0.5, 1.6, len(rows)), 2), 0.05, 99).tolist()
    budget = np.rint(rng.uniform(20, 150, len(rows))).tolist()
    roi = np.clip(np.round(cols["tmin"][rows] * rng.uniform(1.0, 2.5, len(rows)), 1), 0.5, 50).tolist()
    out = []
    for k, row in enumerate(rows.tolist()):
        camp: dict[str, Any] = {"sku": skus[row]}
        if whole_site[k]:
            camp |= {"mode": CampaignMode.WHOLE_SITE.value, "target_roi": roi[k]}
        else:
            camp["bid"] = bid[k]
        camp["budget"] = budget[k]
        if paused[k]:
            camp["status"] = CampaignStatus.PAUSED.value
        out.append(camp)
    return out


def _coupons(rng: np.random.Generator, cols: dict[str, np.ndarray], skus: list[str], days: int,
             prefix: str) -> list[dict]:
    """Two or three shop-wide coupons (ids start with `prefix`, the shop's, as coupon ids are the platform's
    and must differ between shops) and about one SKU coupon per 50 SKUs (at most 40)."""
    median = float(np.median(cols["price"]))
    threshold = float(np.ceil(median * 1.2 / 10) * 10)  # 满减 a little above the typical basket
    out: list[dict[str, Any]] = [
        {"id": f"{prefix}-shop-threshold", "type": CouponType.THRESHOLD.value, "threshold": threshold,
         "value": float(min(MAX_COUPON_VALUE, max(2, round(threshold * rng.uniform(0.05, 0.1))))),
         "segments": [Segment.PRICE_SENSITIVE.value, Segment.NEW.value], "quantity": 5000, "daily_limit": 300},
        {"id": f"{prefix}-shop-follow", "type": CouponType.FOLLOW.value, "value": float(rng.integers(2, 6)),
         "quantity": 3000, "daily_limit": 100},
    ]
    if rng.random() < 0.5:
        start = int(rng.integers(0, max(1, days // 2)))
        out.append({"id": f"{prefix}-shop-percent", "type": CouponType.PERCENT.value,
                    "value": float(rng.integers(5, 11)), "start_day": start, "end_day": min(days - 1, start + 6),
                    "quantity": 2000, "daily_limit": 150})
    picks = rng.choice(len(skus), size=min(40, max(1, len(skus) // 50)), replace=False)
    return out + [_sku_coupon(rng, f"{prefix}-sku-{k}", skus[row], float(cols["price"][row]), days)
                  for k, row in enumerate(sorted(picks.tolist()), start=1)]


def _sku_coupon(rng: np.random.Generator, cid: str, sku: str, price: float, days: int) -> dict[str, Any]:
    """One SKU coupon of a random type, worth a few percent of the price, for a week or two."""
    kind = CouponType(rng.choice([t.value for t in (CouponType.NO_THRESHOLD, CouponType.PERCENT,
                                                     CouponType.THRESHOLD, CouponType.SHARE)]))
    face = float(np.clip(round(price * rng.uniform(0.03, 0.1)), 1, MAX_COUPON_VALUE))
    start = int(rng.integers(0, days))
    coupon: dict[str, Any] = {"id": cid, "type": kind.value, "sku": sku, "value": face,
                              "start_day": start, "end_day": min(days - 1, start + int(rng.integers(3, 15))),
                              "quantity": int(rng.integers(1, 21)) * 100}
    if kind is CouponType.PERCENT:
        coupon["value"] = float(rng.integers(5, 16))
    elif kind is CouponType.THRESHOLD:
        coupon["threshold"] = float(np.ceil(price * 1.1))
        coupon["value"] = min(face, coupon["threshold"] - 1)
    return coupon


def _events(rng: np.random.Generator, skus: list[str], days: int, number: int) -> list[dict[str, Any]]:
    """A flash sale for about a third of the SKUs, and half the time a shop-wide subsidy event."""
    def window(length: int) -> tuple[int, int]:
        start = int(rng.integers(days // 3, max(days // 3 + 1, days - length)))
        return start, min(days - 1, start + length - 1)

    start, end = window(3)
    invited = np.flatnonzero(rng.random(len(skus)) < 0.3).tolist() or [0]
    events = [{"id": f"flash-{number}", "name": "Flash sale", "name_zh": "限时秒杀", "start_day": start,
               "end_day": end, "entry_ratio": float(rng.choice([0.9, 0.95])),
               "traffic_mult": round(rng.uniform(2.5, 4.0), 1), "skus": [skus[i] for i in invited]}]
    if rng.random() < 0.5:
        start, end = window(int(rng.integers(2, 5)))
        events.append({"id": f"subsidy-{number}", "name": "Subsidy days", "name_zh": "百亿补贴",
                       "start_day": start, "end_day": end, "entry_ratio": round(rng.uniform(0.85, 0.9), 2),
                       "traffic_mult": round(rng.uniform(2.0, 3.0), 1)})
    return events


def _policy(campaigns: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Caps that fit the initial campaigns' worst-case over-delivery, scaled to the catalogue."""
    active = sum(c["budget"] for c in campaigns if c.get("status") != CampaignStatus.PAUSED.value)
    daily = max(SKU_BUDGET_CAP, float(np.ceil(active * 1.3 / 100) * 100))
    bids = [c["bid"] for c in campaigns if "bid" in c]
    coupon_daily = float(np.ceil((200 + 2 * n) / 100) * 100)
    return {
        "spend": {"daily_cap": daily, "monthly_cap": daily * 25, "sku_daily_budget_cap": SKU_BUDGET_CAP,
                  "max_bid": float(max(5, np.ceil(1.5 * max(bids, default=0))))},
        "discount": {"daily_budget": coupon_daily, "weekly_budget": coupon_daily * 5},
    }


def write_scenario(scenario: Scenario, path: str | Path, header: str | None = None) -> None:
    """Write YAML that `load_scenario` reads back equal; fields never set are left out to keep it short."""
    shops = scenario.model_dump(mode="json", exclude_unset=True)["shops"]
    data = {**scenario.model_dump(mode="json", exclude={"shops"}), "shops": _integral_floats_as_ints(shops)}
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml, where built in, is ~2× faster
    text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
    prefix = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    Path(path).write_text(prefix + text, encoding="utf-8")


def _integral_floats_as_ints(node: Any) -> Any:
    """`v0: 120` rather than `v0: 120.0`, as a person writes it; pydantic reads both as the same float."""
    if isinstance(node, dict):
        return {k: _integral_floats_as_ints(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_integral_floats_as_ints(v) for v in node]
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node


app = typer.Typer(help="Synthetic scenario catalogues. 合成场景目录。")


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option(help="Scenario YAML file to write.", dir_okay=False)],
    skus: Annotated[int, typer.Option(min=1, help="SKUs in all.")] = 200,
    shops: Annotated[int, typer.Option(min=1, help="Shops to split them over.")] = 1,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same file.")] = 0,
    days: Annotated[int, typer.Option(min=1, max=366, help="Horizon in days.")] = 28,
) -> None:
    """Generate a large synthetic catalogue scenario. 生成大型合成商品目录场景。"""
    if skus < shops:
        raise typer.BadParameter(f"must be at least --shops ({shops}), got {skus}", param_hint="--skus")
    scenario = generate(skus, shops=shops, seed=seed, days=days)
    write_scenario(scenario, out, header=f"Generated by `xiaoer scenario generate --skus {skus} --shops {shops} "
                                         f"--seed {seed} --days {days}`.")
    coupons = sum(len(s.coupons) for s in scenario.shops)
    campaigns = sum(len(s.campaigns) for s in scenario.shops)
    typer.echo(f"wrote {out}: {skus} SKUs in {shops} shop(s), {campaigns} campaigns, {coupons} coupons, "
               f"{days} days, seed {seed}")
