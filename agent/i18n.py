"""UI strings of the owner-facing texts (daily report), in English and Simplified Chinese."""

from __future__ import annotations

from typing import Literal, get_args

Locale = Literal["en", "zh-CN"]
LOCALES: tuple[Locale, ...] = get_args(Locale)

# key -> (en, zh-CN). Placeholders are str.format fields; callers pass them already formatted.
_STRINGS: dict[str, tuple[str, str]] = {
    # Page
    "report.title": ("Daily report", "每日经营报告"),
    "report.heading": ("Daily report · {shop}", "每日经营报告 · {shop}"),
    "report.subtitle": ("{date} · shop {shop_id}", "{date} · 店铺 {shop_id}"),
    "report.footer": ("Written by Xiaoer, your shop assistant.", "由店小二撰写。"),
    "report.summary": ("Summary", "今日概要"),
    "sep.colon": (": ", "："),
    # KPIs
    "kpi.heading": ("Key figures", "核心指标"),
    "kpi.metric": ("Metric", "指标"),
    "kpi.today": ("Today", "今日"),
    "kpi.vs_yesterday": ("vs yesterday", "较昨日"),
    "kpi.vs_last_week": ("vs last week", "较上周同日"),
    "kpi.profit": ("Profit after ad and coupon cost", "扣除广告和优惠券后的利润"),
    "kpi.gmv": ("GMV", "成交额（GMV）"),
    "kpi.orders": ("Orders", "订单数"),
    "kpi.ad_spend": ("Ad spend", "广告花费"),
    "kpi.coupon_cost": ("Coupon cost", "优惠券成本"),
    "kpi.roi": ("ROI (GMV ÷ ad spend)", "ROI（成交额 ÷ 广告花费）"),
    "kpi.gmv_per_yuan": ("GMV per ¥1 of ad and coupon spend", "每花 1 元（广告＋优惠券）带来的成交额"),
    "kpi.net_margin": ("Net margin", "净利率"),
    "kpi.trend_line": ("GMV, last {days} days: {spark}", "近 {days} 天成交额：{spark}"),
    # Charts
    "chart.trend": ("GMV, spend and profit by day", "每日成交额、花费与利润"),
    "chart.roi": ("ROI by SKU against break-even", "各商品 ROI 与保本 ROI"),
    "chart.gmv": ("GMV", "成交额"),
    "chart.spend": ("Ad + coupon spend", "广告＋优惠券花费"),
    "chart.profit": ("Profit", "利润"),
    "chart.break_even": ("Break-even ROI", "保本 ROI"),
    "chart.roi_axis": ("ROI", "ROI"),
    # ROI table
    "roi.heading": ("ROI by SKU", "各商品 ROI"),
    "roi.sku": ("SKU", "商品"),
    "roi.roi": ("ROI", "ROI"),
    "roi.break_even": ("Break-even ROI", "保本 ROI"),
    "roi.status": ("Status", "状态"),
    "roi.ok": ("above break-even", "高于保本"),
    "roi.below": ("below break-even", "低于保本"),
    "roi.none": ("No ROI by SKU today.", "今日没有分商品的 ROI 数据。"),
    # Actions
    "actions.heading": ("What I did and what waits for you", "我做了什么、什么在等你"),
    "actions.none": ("No actions today.", "今天没有任何操作。"),
    "group.executed": ("Executed", "已执行"),
    "group.failed": ("Failed", "执行失败"),
    "group.pending": ("Awaiting your approval", "等待你审批"),
    "group.denied": ("Blocked by your limits", "被你设的限额拦下"),
    "group.closed": ("Expired or rejected", "已过期或被拒绝"),
    "action.why": ("Why", "原因"),
    "action.expected": ("Expected effect", "预期效果"),
    "action.error": ("Error", "错误"),
    "action.limit": ("Limit", "限额"),
    "action.guard": ("Check", "校验"),
    "action.expires": ("Expires", "过期时间"),
    "status.expired": ("expired", "已过期"),
    "status.rejected": ("rejected by you", "已被你拒绝"),
    "kind.set_bid": ("Bid", "出价"),
    "kind.set_budget": ("Daily budget", "日预算"),
    "kind.set_campaign_status": ("Campaign status", "推广状态"),
    "kind.set_campaign_mode": ("Campaign mode", "推广模式"),
    "kind.create_coupon": ("New coupon", "新建优惠券"),
    "kind.stop_coupon": ("Stop coupon", "停用优惠券"),
    "limit.spend.daily_cap": ("Daily ad spend cap", "每日广告花费上限"),
    "limit.spend.monthly_cap": ("Monthly ad spend cap", "每月广告花费上限"),
    "limit.spend.sku_daily_budget_cap": ("Daily budget cap per SKU", "单品日预算上限"),
    "limit.spend.max_bid": ("Highest bid", "最高出价"),
    "limit.spend.max_bid_change_pct": ("Largest bid change per day", "单日最大调价幅度"),
    "limit.spend.min_roi": ("Lowest ROI", "最低 ROI"),
    "limit.discount.max_discount_pct": ("Largest coupon discount", "优惠券最大折扣"),
    "limit.discount.max_face_value": ("Largest coupon face value", "优惠券最大面额"),
    "limit.discount.daily_budget": ("Daily coupon budget", "每日优惠券预算"),
    "limit.discount.weekly_budget": ("Weekly coupon budget", "每周优惠券预算"),
    "limit.discount.allowed_types": ("Allowed coupon types", "允许的优惠券类型"),
    "limit.discount.lowest_price_floor": ("Lowest-price floor", "最低价底线"),
    "limit.profit.min_net_margin": ("Minimum net margin", "最低净利率"),
    "limit.autonomy.kill_switch": ("Kill switch", "总开关（停止执行）"),
    # Coupons
    "coupons.heading": ("Coupons", "优惠券"),
    "coupons.none": ("No coupons are live or scheduled.", "店铺目前没有生效中或待开始的优惠券。"),
    "coupons.coupon": ("Coupon", "优惠券"),
    "coupons.used_today": ("Used today", "今日使用"),
    "coupons.used": ("Used / issued", "已使用 / 发放量"),
    "coupons.cost_today": ("Cost today", "今日成本"),
    "coupons.cost": ("Cost so far", "累计成本"),
    "coupons.share": ("Share of orders", "用券订单占比"),
    "coupons.days_left": ("Days left", "剩余天数"),
    "coupons.lowest_price": ("30-day lowest price", "30 天最低价"),
    "coupons.counts": ("counts", "计入"),
    "coupons.not_counted": ("does not count", "不计入"),
    "coupons.days": ("{days}", "{days} 天"),
    "coupons.until": ("to {end}", "至 {end}"),
    "coupons.scheduled": ("starts {start}", "{start} 开始"),
    "coupons.stopped": ("stopped", "已停用"),
    "coupons.used_up": ("run out", "已用完"),
    "coupons.ended": ("ended", "已结束"),
    "coupons.estimated": ("Today's cost of a percent coupon (≈) is estimated from its average cost per use.",
                          "折扣券的今日成本（≈）按它平均每次使用的成本估算。"),
    "coupons.share_note": (
        "Share of orders: of today's orders on the coupon's product (all orders for a whole-shop coupon), "
        "the share that used it.",
        "用券订单占比：券所适用商品今日的订单（全店券按全店订单）中，用了这张券的比例。",
    ),
    "coupons.id": (" ({id})", "（{id}）"),
    "coupons.mostly_used": ("most orders use it; check it is not paying buyers who would buy anyway.",
                            "大部分订单都用了这张券，留意是不是在给本来就会买的顾客白白让利。"),
    "terms.threshold": ("¥{value} off ¥{threshold}", "满{threshold}减{value}"),
    "terms.percent": ("{off} off", "{off}折"),
    "terms.percent_over": ("{off} off orders of ¥{threshold}+", "满{threshold}享{off}折"),
    "terms.no_threshold": ("¥{value} off, no minimum", "无门槛减{value}"),
    "terms.share": ("¥{value} off for sharing", "分享券减{value}"),
    "terms.share_over": ("¥{value} off ¥{threshold} for sharing", "分享券满{threshold}减{value}"),
    "terms.follow": ("¥{value} off for following the shop", "关注店铺券减{value}"),
    "terms.follow_over": ("¥{value} off ¥{threshold} for following the shop", "关注店铺券满{threshold}减{value}"),
    "terms.whole_shop": ("whole shop", "全店"),
    "terms.everyone": ("everyone", "所有买家"),
    "terms.all_but": ("everyone but {segment}", "除{segment}外的所有买家"),
    "terms.join": (", ", "、"),
    "terms.days": ("{days} days", "{days} 天"),
    # Settings in words (campaign status and mode, a coupon's state)
    "value.active": ("running", "投放中"),
    "value.paused": ("paused", "已暂停"),
    "value.search": ("search ads", "搜索推广"),
    "value.whole_site": ("whole-site", "全站推广"),
    "value.whole_site_roi": ("whole-site, target ROI {roi}", "全站推广，目标 ROI {roi}"),
    "value.live": ("live", "生效中"),
    "value.stopped": ("stopped", "已停用"),
    "segment.new": ("new", "新客"),
    "segment.dormant": ("dormant", "沉睡客"),
    "segment.high_value": ("high-value", "高价值客"),
    "segment.churn_risk": ("churn-risk", "流失风险客"),
    "segment.price_sensitive": ("price-sensitive", "价格敏感客"),
    # Anomalies (fields are formatted by the report)
    "anomalies.heading": ("Anomalies", "异常提醒"),
    "anomalies.none": ("Nothing unusual today.", "今天没有发现异常。"),
    "anomaly.stage2_cutoff": (
        "traffic fell {traffic_drop} once stage 2 of the event began (stage-2 cut-off). "
        "A higher bid only pays while the cost per order stays inside the unit margin.",
        "活动进入二阶段后流量下降 {traffic_drop}（二阶段断流）。只有每单广告成本仍在单件利润之内，加价才划算。",
    ),
    "anomaly.roi_below_break_even": (
        "ROI {roi} is below the break-even ROI {break_even_roi}: orders from ads lose money.",
        "ROI {roi} 低于保本 ROI {break_even_roi}：广告带来的订单在亏钱。",
    ),
    "anomaly.stockout_risk": (
        "about {days_left} days of stock left at the current rate of sales.",
        "按当前销量，库存约还能卖 {days_left} 天。",
    ),
    "anomaly.lowest_price_risk": (
        "a price after coupons of {price} would set a 30-day lowest price below the floor {floor} "
        "before {event}; that can cost the event slot.",
        "券后价 {price} 会在「{event}」前把 30 天最低价拉到底线 {floor} 以下，可能因此失去活动资格。",
    ),
    "anomaly.other": ("{detail}", "{detail}"),
    # Narrative written when no LLM wrote one
    "narrative.day": (
        "Profit {profit} on GMV {gmv} from {orders} orders. Ads and coupons cost {spend}, "
        "so each ¥1 of spend brought {gmv_per_yuan} of GMV.",
        "今日成交额 {gmv}，共 {orders} 单，扣除广告和优惠券后利润 {profit}。"
        "广告和优惠券共花费 {spend}，每花 1 元带来 {gmv_per_yuan} 成交额。",
    ),
    "narrative.day_no_spend": (
        "Profit {profit} on GMV {gmv} from {orders} orders, with no ad or coupon spend.",
        "今日成交额 {gmv}，共 {orders} 单，利润 {profit}，没有广告和优惠券花费。",
    ),
    "narrative.vs_yesterday": ("Profit is {delta} on yesterday.", "利润较昨日 {delta}。"),
    "narrative.actions": (
        "Actions: {executed} executed, {pending} awaiting your approval, {denied} blocked by your limits.",
        "操作：已执行 {executed} 项，等待你审批 {pending} 项，被你设的限额拦下 {denied} 项。",
    ),
    "narrative.anomalies": ("Anomalies to look at: {count} (below).", "有 {count} 项异常值得留意（见下文）。"),
}


def t(key: str, locale: Locale, **kw: object) -> str:
    """The string `key` in `locale`, with `kw` filled in; an unknown key or locale raises KeyError."""
    if locale not in LOCALES:
        raise KeyError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
    text = _STRINGS[key][LOCALES.index(locale)]
    return text.format(**kw) if kw else text


def t_or(key: str, locale: Locale, default: str) -> str:
    """The string `key` in `locale`, or `default` when there is no such key (open vocabularies)."""
    return t(key, locale) if key in _STRINGS else default


def keys() -> list[str]:
    """Every key, for tests that check both locales are complete."""
    return list(_STRINGS)
