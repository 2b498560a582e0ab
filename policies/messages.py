"""The guard's reasons in words, in English and Simplified Chinese, keyed by limit code (and rule)."""

from __future__ import annotations

import math
from collections.abc import Mapping

LOCALES = ("en", "zh-CN")

KIND_ZH = {
    "set_bid": "调整出价",
    "set_budget": "调整日预算",
    "set_campaign_status": "启停推广计划",
    "set_campaign_mode": "切换推广模式/目标投产比",
    "create_coupon": "创建优惠券",
    "stop_coupon": "停止优惠券",
}

TEMPLATES: dict[str, dict[str, str]] = {
    "autonomy.kill_switch": {
        "en": "autonomy.kill_switch: the owner's kill switch is on; nothing executes ({kind} {target})",
        "zh-CN": "autonomy.kill_switch：店主已打开总开关（急停），任何操作都不执行（{kind_zh} {target}）",
    },
    "autonomy.approval_expiry_hours": {
        "en": "autonomy.approval_expiry_hours {hours}: approved {waited} h after it was proposed; "
              "the proposal had expired",
        "zh-CN": "autonomy.approval_expiry_hours {hours}：提议 {waited} 小时后才批准，提议已过期",
    },
    "autonomy.rules/approval": {
        "en": "autonomy.rules.{kind}: the owner approves every {kind} ({target})",
        "zh-CN": "autonomy.rules.{kind}：店主要求每次「{kind_zh}」都经其批准（{target}）",
    },
    "autonomy.rules/max_change_pct": {
        "en": "autonomy.rules.{kind} {threshold}%: change {change}% today is above the auto threshold ({target})",
        "zh-CN": "autonomy.rules.{kind} {threshold}%：「{kind_zh}」今日累计变动 {change}% 超过自动执行上限，"
                 "需店主批准（{target}）",
    },
    "autonomy.rules/auto": {
        "en": "autonomy.rules.{kind} {threshold}%: change {change}% today is within the auto threshold ({target})",
        "zh-CN": "autonomy.rules.{kind} {threshold}%：「{kind_zh}」今日累计变动 {change}% 在自动执行范围内（{target}）",
    },
    "autonomy.rules/auto_any": {
        "en": "autonomy.rules.{kind}: runs on its own ({target})",
        "zh-CN": "autonomy.rules.{kind}：「{kind_zh}」可自动执行（{target}）",
    },
    "autonomy.rules/approved": {
        "en": "autonomy.rules.{kind}: approved by {by} ({target})",
        "zh-CN": "autonomy.rules.{kind}：「{kind_zh}」已由 {by} 批准（{target}）",
    },
    "action.target/unknown_campaign": {
        "en": "action.target: no campaign {target} for SKU {sku} in this shop",
        "zh-CN": "action.target：本店没有 SKU {sku} 的推广计划 {target}",
    },
    "action.target/unknown_sku": {
        "en": "action.target: no SKU {target} in this shop",
        "zh-CN": "action.target：本店没有 SKU {target}",
    },
    "action.target/unknown_coupon": {
        "en": "action.target: no live coupon {target} (unknown or already stopped)",
        "zh-CN": "action.target：没有生效中的优惠券 {target}（不存在或已停止）",
    },
    "action.target/wrong_mode": {
        "en": "action.target: campaign {target} runs in {mode} mode, which has no bid; switch the mode first",
        "zh-CN": "action.target：推广计划 {target} 为 {mode} 模式，没有出价；请先切换模式",
    },
    "spend.max_bid": {
        "en": "spend.max_bid {cap}: asked {asked} per click ({target})",
        "zh-CN": "spend.max_bid 单次点击出价上限 {cap}：本次出价 {asked}（{target}）",
    },
    "spend.max_bid_change_pct": {
        "en": "spend.max_bid_change_pct {cap}%: {start} at the start of today to {asked} is a {change}% change "
              "({target})",
        "zh-CN": "spend.max_bid_change_pct 每日出价变动上限 {cap}%：今日初始 {start} 改为 {asked}，"
                 "变动 {change}%（{target}）",
    },
    "spend.sku_daily_budget_cap": {
        "en": "spend.sku_daily_budget_cap {cap}: asked a daily budget of {asked} ({target})",
        "zh-CN": "spend.sku_daily_budget_cap 单品日预算上限 {cap}：本次预算 {asked}（{target}）",
    },
    "spend.daily_cap": {
        "en": "spend.daily_cap {cap}: {committed} already committed + {asked} asked = {total} "
              "(worst case: daily budgets × {overdelivery})",
        "zh-CN": "spend.daily_cap 全店日广告花费上限 {cap}：已承诺 {committed} + 本次 {asked} = {total}"
                 "（最坏情况：日预算 × {overdelivery}）",
    },
    "spend.monthly_cap/this_month": {
        "en": "spend.monthly_cap {cap}: {committed} already committed + {asked} asked = {total} this month "
              "(worst case: {spent} billed + {days} days at the budgets × {overdelivery})",
        "zh-CN": "spend.monthly_cap 月广告花费上限 {cap}：本月已承诺 {committed} + 本次 {asked} = {total}"
                 "（最坏情况：已扣费 {spent} + 剩余 {days} 天按预算 × {overdelivery}）",
    },
    "spend.monthly_cap/full_month": {
        "en": "spend.monthly_cap {cap}: daily budgets of {budgets} can bill {total} in a full month "
              "(× {days} days)",
        "zh-CN": "spend.monthly_cap 月广告花费上限 {cap}：日预算合计 {budgets}，整月最多扣费 {total}（× {days} 天）",
    },
    "spend.min_roi": {
        "en": "spend.min_roi {min_roi}: ROI {roi} at bid {bid} (ad cost {cost_per_order} per order on price {price}); "
              "at most {max_cost_per_order} per order ({target})",
        "zh-CN": "spend.min_roi 最低投产比 {min_roi}：出价 {bid} 时投产比 {roi}（每单广告费 {cost_per_order}，"
                 "成交价 {price}）；每单最多 {max_cost_per_order}（{target}）",
    },
    "spend.min_roi/target_roi": {
        "en": "spend.min_roi {min_roi}: target ROI {roi} is below it at price {price} ({target})",
        "zh-CN": "spend.min_roi 最低投产比 {min_roi}：目标投产比 {roi} 低于此值（成交价 {price}）（{target}）",
    },
    "profit.min_net_margin": {
        "en": "profit.min_net_margin {floor}%: net margin {margin}% at bid {bid} (price {price}, ad cost "
              "{cost_per_order} per order); at most {max_cost_per_order} per order keeps the floor, "
              "min ROI {min_roi} ({target})",
        "zh-CN": "profit.min_net_margin 最低净利率 {floor}%：出价 {bid} 时净利率 {margin}%（成交价 {price}，每单广告费 "
                 "{cost_per_order}）；每单最多 {max_cost_per_order} 才能守住底线，最低投产比 {min_roi}（{target}）",
    },
    "profit.min_net_margin/target_roi": {
        "en": "profit.min_net_margin {floor}%: target ROI {roi} leaves a net margin of {margin}% at price {price}; "
              "min ROI {min_roi} ({target})",
        "zh-CN": "profit.min_net_margin 最低净利率 {floor}%：目标投产比 {roi} 在成交价 {price} 下只剩净利率 {margin}%；"
                 "最低投产比 {min_roi}（{target}）",
    },
    "profit.min_net_margin/coupon": {
        "en": "profit.min_net_margin {floor}%: net margin {margin}% at the post-coupon price {price} with ad cost "
              "{cost_per_order} per order ({target})",
        "zh-CN": "profit.min_net_margin 最低净利率 {floor}%：券后价 {price}、每单广告费 {cost_per_order} 时净利率只有 "
                 "{margin}%（{target}）",
    },
    "profit.min_net_margin/event_entry": {
        "en": "profit.min_net_margin {floor}%: after this coupon the 30-day lowest price {lowest} sets the entry "
              "price of {event} at {entry_price}, below the margin-floor price {min_price} ({target})",
        "zh-CN": "profit.min_net_margin 最低净利率 {floor}%：此券会把 30 天最低价拉到 {lowest}，活动「{event}」报名价"
                 "变为 {entry_price}，低于保底利润价 {min_price}（{target}）",
    },
    "profit.min_net_margin/unverified": {
        "en": "profit.min_net_margin: no ad cost per order is known for bid {bid}, so the margin floor cannot be "
              "checked; the owner decides ({target})",
        "zh-CN": "profit.min_net_margin：出价 {bid} 的每单广告费未知，无法核对利润底线，需店主决定（{target}）",
    },
    "discount.allowed_types": {
        "en": "discount.allowed_types: {type} coupons are not allowed (allowed: {allowed})",
        "zh-CN": "discount.allowed_types：不允许 {type} 类型的优惠券（允许：{allowed}）",
    },
    "discount.max_face_value": {
        "en": "discount.max_face_value {cap}: asked a face value of {asked} ({target})",
        "zh-CN": "discount.max_face_value 券面额上限 {cap}：本次面额 {asked}（{target}）",
    },
    "discount.max_discount_pct": {
        "en": "discount.max_discount_pct {cap}%: the coupon takes {asked}% off price {price} ({target})",
        "zh-CN": "discount.max_discount_pct 最大折扣 {cap}%：此券在价格 {price} 上优惠 {asked}%（{target}）",
    },
    "discount.lowest_price_floor": {
        "en": "discount.lowest_price_floor {floor}: the coupon sets a counted price of {price} ({target})",
        "zh-CN": "discount.lowest_price_floor 最低价底线 {floor}：此券的券后价 {price} 会计入 30 天最低价（{target}）",
    },
    "discount.daily_budget": {
        "en": "discount.daily_budget {cap}: {committed} already committed + {asked} asked = {total} "
              "(worst case a day)",
        "zh-CN": "discount.daily_budget 每日券预算 {cap}：已承诺 {committed} + 本次 {asked} = {total}（每日最坏情况）",
    },
    "discount.weekly_budget/this_week": {
        "en": "discount.weekly_budget {cap}: {committed} already committed + {asked} asked = {total} this week "
              "(worst case, {spent} of it billed)",
        "zh-CN": "discount.weekly_budget 每周券预算 {cap}：本周已承诺 {committed} + 本次 {asked} = {total}"
                 "（最坏情况，其中已扣费 {spent}）",
    },
    "discount.weekly_budget/later_week": {
        "en": "discount.weekly_budget {cap}: {committed} already committed + {asked} asked = {total} "
              "in a later week (worst case)",
        "zh-CN": "discount.weekly_budget 每周券预算 {cap}：之后某周已承诺 {committed} + 本次 {asked} = {total}"
                 "（最坏情况）",
    },
}


def render(key: str, numbers: Mapping[str, float | str], locale: str = "en") -> str:
    """The message for a template key with its numbers; unknown locales fall back to English."""
    templates = TEMPLATES[key]
    template = templates.get(locale) or templates["en"]
    values = {name: _fmt(value) for name, value in numbers.items()}
    if "kind" in values:
        values["kind_zh"] = KIND_ZH.get(values["kind"], values["kind"])
    return template.format_map(values)


def _fmt(value: float | str) -> str:
    """Money and percentages as people write them: at most two decimals, no trailing zeros."""
    if isinstance(value, str):
        return value
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
