"""Why the planner proposes each action, in numbers and in the owner's words (English and Chinese).

Every text here is stored on the action (`rationale`, `rationale_zh`) and read by the owner in the report, on the
approval page and in chat, so it says what the plan expects and what it is weighed against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marketplace.model import MONTH_BUDGET_DAYS, next_restock_day
from marketplace.rollout import RolloutResult
from marketplace.strategies.oracle import BUDGET_HEADROOM
from marketplace.strategies.oracle_coupons import OverBudget
from marketplace.world import World
from policies.economics import break_even_roi

SEGMENT_ZH = {"new": "新客", "dormant": "沉睡客", "high_value": "高价值客", "churn_risk": "流失风险客",
              "price_sensitive": "价格敏感客"}


@dataclass(frozen=True)
class Outlook:
    """What the planner weighed, per SKU row of the belief: one expected day before and after the plan, and the
    `days` ahead with today's settings kept against the plan's."""

    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    keep: RolloutResult
    planned: RolloutResult
    days: int


def ad_reason(world: World, row: int, outlook: Outlook) -> dict[str, str]:
    """A campaign change: the day it expects, today's profit change and the change over the days planned."""
    p, before, after = world.c.params, outlook.before, outlook.after
    be = float(break_even_roi(p.price[row], p.cost[row], p.commission[row], p.shipping[row]))
    spend, gmv = float(after["ad_spend"][row]), float(after["ad_gmv"][row])
    orders, today = float(after["orders"][row]), float(after["profit"][row] - before["profit"][row])
    ahead = float(outlook.planned.profit[row] - outlook.keep.profit[row])
    if spend > 0.5:
        day = f"ad spend ¥{spend:.0f}/day, ad ROI {gmv / spend:.1f} vs break-even {be:.1f}"
        day_zh = f"广告费每天 ¥{spend:.0f}，广告 ROI {gmv / spend:.1f}，保本 ROI {be:.1f}"
    else:
        day, day_zh = "no ad spend", "不花广告费"
    stock, stock_zh = _stock_reason(world, row, outlook)
    days = outlook.days
    return {
        "rationale": f"{stock}expected {orders:.1f} orders/day, {day}; against keeping the "
                     f"current settings: profit today {_signed(today)}, over the next {days} days {_signed(ahead)}",
        "rationale_zh": f"{stock_zh}预计每天 {orders:.1f} 单，{day_zh}；与维持现状相比："
                        f"今天利润 {_signed(today)}，未来 {days} 天 {_signed(ahead)}",
    }


def _stock_reason(world: World, row: int, outlook: Outlook) -> tuple[str, str]:
    """When the plan spends less because the stock will sell out anyway: say so first, or the owner reads only that
    today's profit falls.

    The SKU's stock runs out within the days planned at the current settings and no restock is due by then, so
    more ads would sell the same units sooner rather than more of them.
    """
    p, c = world.c.params, world.c
    spends_less = outlook.after["ad_spend"][row] < outlook.before["ad_spend"][row] - 0.5
    restock = next_restock_day(world.day, int(p.restock_every[row]))
    sells_out = outlook.keep.end_stock[row] < 1.0 and (restock >= world.day + outlook.days or p.restock_qty[row] <= 0)
    if not (spends_less and sells_out):
        return "", ""
    units, days = f"{c.state.stock[row]:,.0f}", outlook.days
    return (f"the {units} in stock sell out within {days} days even at the current settings and no restock is due, "
            "so more ad spend would sell the same units sooner, not more of them; ",
            f"现有库存 {units} 件，按现状 {days} 天内就会卖完，且没有补货计划："
            "多花广告费只会让这些货卖得更快，不会多卖；")


def budget_reason(spend: float, budget: float) -> dict[str, str]:
    """A budget that only follows the expected spend: say so, rather than a profit change of ¥0."""
    room = f"{BUDGET_HEADROOM:g}"
    if budget > BUDGET_HEADROOM * spend + 2:
        return {
            "rationale": f"a campaign bills at most {MONTH_BUDGET_DAYS:g}× its daily budget in a month: ¥{budget:.2f} "
                         f"keeps room this month for the expected ad spend of ¥{spend:.0f}/day",
            "rationale_zh": f"每个计划一个月最多按日预算的 {MONTH_BUDGET_DAYS:g} 倍计费：¥{budget:.2f} 让本月仍能花出"
                            f"预计的每天 ¥{spend:.0f} 广告费",
        }
    return {
        "rationale": f"the budget follows the expected ad spend of ¥{spend:.0f}/day: ¥{budget:.2f} (about ×{room}) "
                     "leaves room for a busy day without tying up more of your daily spend cap",
        "rationale_zh": f"预算跟随预计广告花费（每天 ¥{spend:.0f}）：¥{budget:.2f}（约 ×{room}）给旺日留出余量，"
                        "又不多占每日花费上限",
    }


def coupon_reason(body: dict) -> dict[str, str]:
    """A new coupon: its terms, whom it is for and why they pay for it."""
    who, who_zh = ", ".join(body["segments"]), "、".join(SEGMENT_ZH.get(s, s) for s in body["segments"])
    value, threshold = f"{body['value']:g}", body.get("threshold")
    off = f"{value}% off" if body["type"] == "percent" else f"¥{value} off"
    off_zh = f"打 {(100 - body['value']) / 10:g} 折" if body["type"] == "percent" else f"减 ¥{value}"  # 10% off: 9 折
    over, over_zh = (f" over ¥{threshold:g}", f"满 ¥{threshold:g} ") if threshold else ("", "")
    return {
        "rationale": f"{off}{over} on {body['sku']} for {who}: these buyers respond to price, so the extra orders "
                     f"pay for the discount; at most {body['daily_limit']} uses a day",
        "rationale_zh": f"{body['sku']} {over_zh}{off_zh}，发给{who_zh}：这些买家对价格敏感，多出来的订单能覆盖折扣；"
                        f"每天最多用 {body['daily_limit']} 张",
    }


def over_budget_reason(coupon_id: str, why: OverBudget) -> dict[str, str]:
    """A live coupon stopped because, at its worst, the live coupons could cost more than the coupon budgets."""
    worst, live, daily, weekly = (f"¥{v:,.0f}" for v in (why.worst, why.live, why.daily, why.weekly))
    return {
        "rationale": f"coupon {coupon_id} may cost up to {worst} a day (its daily cap × its largest discount); the "
                     f"live coupons together could cost {live} a day, more than your coupon budgets allow ({daily} a "
                     f"day, {weekly} a week)",
        "rationale_zh": f"优惠券 {coupon_id} 每天最多可能花费 {worst}（每日上限 × 最大优惠）；现有优惠券合计"
                        f"每天可能花费 {live}，超过您的优惠券预算（每天 {daily}，每周 {weekly}）",
    }


def losing_coupon_reason(coupon: dict) -> dict[str, str]:
    """A live coupon stopped because it costs more than the orders it adds."""
    used, cost = f"{coupon['redeemed']:.0f}", f"¥{coupon['cost']:.0f}"
    return {
        "rationale": f"coupon {coupon['id']} costs more than the orders it adds: {used} used for {cost} so far",
        "rationale_zh": f"优惠券 {coupon['id']} 的成本高于它带来的订单：已使用 {used} 张，花费 {cost}",
    }


def _signed(x: float) -> str:
    return f"{'+' if x >= 0 else '−'}¥{abs(x):,.0f}"
