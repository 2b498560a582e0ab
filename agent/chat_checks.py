"""Chat without an LLM, the answers that need the owner's policy: limits, coupon ideas, policy changes.

They read the shop the way a run does (`observe`, `shop_state`) and ask the guard itself, so
what chat says a limit allows is what the guard would decide. Nothing here writes anywhere.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import ValidationError

from agent import wording
from agent.chat_answers import AD_SOURCES, WEEK, Asked, div, num, ratio, share
from agent.chat_i18n import t
from agent.guarding import shop_state
from agent.i18n import Locale
from agent.i18n import t as report_t
from agent.observe import observe
from agent.report import money
from policies import economics as econ
from policies.actions import CreateCoupon, SetBid
from policies.checks import paid_price
from policies.domain import ActionKind, CouponType, Segment
from policies.guard import check
from policies.ledger import Ledger
from policies.limits import Policy
from policies.state import ShopState

_I = re.IGNORECASE
_N = r"(\d+(?:\.\d+)?)"
COUPON_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 满50减5 · 5 off 50 · ¥5 off orders of ¥50 · spend 50 get 5 off
    ("threshold", re.compile(rf"满\s*{_N}\s*(?:元|块)?\s*减\s*{_N}", _I)),
    ("threshold_en", re.compile(rf"¥?{_N}\s*(?:yuan|rmb)?\s*off\s+(?:an?\s+)?(?:orders?\s+)?"
                                rf"(?:of|over|above|from|at\s+least)?\s*¥?{_N}", _I)),
    ("threshold_spend", re.compile(rf"spend\s*¥?{_N}\D{{0,12}}?¥?{_N}\s*(?:yuan\s*)?off", _I)),
    # 10% coupon · 10% off · 9折 · 8.5折
    ("percent", re.compile(rf"{_N}\s*%\s*(?:off|coupon|discount|折扣|优惠|券)?", _I)),
    ("zhe", re.compile(rf"{_N}\s*折", _I)),
    # 10元无门槛券 · 无门槛10元 · a 10-yuan coupon · ¥3 off
    ("no_threshold", re.compile(rf"无门槛\s*{_N}|{_N}\s*(?:元|块)\s*(?:的)?\s*(?:无门槛)?\s*(?:优惠)?券|"
                                rf"¥?{_N}\s*-?\s*(?:yuan|rmb)\s*(?:off\s*)?coupon|¥{_N}\s*(?:off|coupon)|"
                                rf"{_N}\s*(?:yuan\s*)?off\b", _I)),
)
SEGMENT_WORDS: dict[Segment, re.Pattern[str]] = {  # the buyers a coupon is for, as an owner names them
    Segment.NEW: re.compile(r"\bnew\s+(buyers?|customers?|users?|shoppers?|and|or|&)\b|新客|新用户|新买家|新顾客", _I),
    Segment.DORMANT: re.compile(r"\b(dormant|lapsed|sleeping|inactive)\b|沉睡|沉默|不活跃", _I),
    Segment.HIGH_VALUE: re.compile(r"\b(high[- ]value|loyal|vip)\b|高价值|老客|忠实|忠诚", _I),
    Segment.CHURN_RISK: re.compile(r"\bchurn\w*|\bat[- ]risk\b|流失", _I),
    Segment.PRICE_SENSITIVE: re.compile(r"price[- ]sensitive|bargain[- ]hunters?|deal[- ]seekers?|价格敏感|比价", _I),
}
COUPON_CONTEXT = re.compile(r"\bcoupons?\b|\boff\b|discount|券|折|优惠|满", _I)
POLICY_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("spend.max_bid", re.compile(r"max(imum)? bid|highest bid|\bbids?\b|最高出价|出价", _I)),
    ("spend.sku_daily_budget_cap", re.compile(r"budget cap|per[- ]sku|单品|日预算", _I)),
    ("spend.daily_cap", re.compile(r"daily (spend )?cap|daily limit|spend cap|每日|每天|日花费", _I)),
    ("spend.monthly_cap", re.compile(r"month|每月|月", _I)),
    ("discount.max_discount_pct", re.compile(r"discount|折扣", _I)),
    ("discount.max_face_value", re.compile(r"face value|面额", _I)),
    ("discount.daily_budget", re.compile(r"coupon budget|券预算|优惠券预算", _I)),
    ("discount.lowest_price_floor", re.compile(r"price floor|lowest price|最低价", _I)),
    ("profit.min_net_margin", re.compile(r"margin|净利率|利润率", _I)),
    ("autonomy.kill_switch", re.compile(r"kill switch|总开关|急停", _I)),
)


@dataclass(frozen=True)
class CouponIdea:
    """A coupon the owner described: yuan off (with or without a threshold), or percent off."""

    type: CouponType
    value: float
    threshold: float = 0.0


def named_segments(text: str) -> list[Segment]:
    """The buyer segments `text` names ("for dormant buyers", "给沉睡客"), in the platform's order; none: everyone."""
    return [segment for segment, words in SEGMENT_WORDS.items() if words.search(text)]


def coupon_idea(text: str, skus: list[str]) -> CouponIdea | None:
    """The coupon described in `text`, or None; SKU ids are taken out first so `a1` is no number."""
    for sku in skus:
        text = re.sub(re.escape(sku), " ", text, flags=_I)
    if not COUPON_CONTEXT.search(text):
        return None
    for name, pattern in COUPON_PATTERNS:
        m = pattern.search(text)
        if m is None:
            continue
        a, b = (float(g) for g in [*[g for g in m.groups() if g is not None], "0"][:2])
        if name == "threshold":
            return CouponIdea(CouponType.THRESHOLD, value=b, threshold=a)
        if name in ("threshold_en", "threshold_spend"):
            value, threshold = (a, b) if name == "threshold_en" else (b, a)
            return CouponIdea(CouponType.THRESHOLD, value=value, threshold=threshold)
        if name in ("percent", "zhe"):
            off = a if name == "percent" else (100 - 10 * a if a < 10 else 100 - a)
            return CouponIdea(CouponType.PERCENT, value=off) if 0 < off < 100 else None
        return CouponIdea(CouponType.NO_THRESHOLD, value=a) if a > 0 else None
    return None


# ---- what a coupon idea costs ---------------------------------------------------------------------
def answer_coupon(a: Asked) -> str:
    """Per SKU named (or every SKU): cost per order, price after coupon, margins, floors, the guard's answer."""
    idea = coupon_idea(a.text, a.skus)
    if idea is None:
        return t("coupon.ask", a.locale)
    state = shop_state(observe(a.client))
    end = a.today - 1
    rows = a.client.metrics(start_day=max(0, end - WEEK + 1), end_day=end, group="source") if end >= 0 else []
    for_whom = Audience.of(named_segments(a.text), a.client.segments())
    return "\n\n".join(_coupon_on(a, idea, sku, state, rows, for_whom)
                       for sku in (a.skus or [p["sku"] for p in a.products]))


@dataclass(frozen=True)
class Audience:
    """Whom a coupon idea is for: the segments named (none: everyone) and their share of the shop's visitors."""

    segments: tuple[Segment, ...] = ()
    share: float = 1.0

    @classmethod
    def of(cls, segments: list[Segment], platform_segments: list[dict]) -> Audience:
        if not segments or set(segments) == set(Segment):
            return cls()
        shares = {row["name"]: float(row["share"]) for row in platform_segments}
        total = sum(shares.values()) or 1.0
        return cls(tuple(segments), sum(shares.get(s.value, 0.0) for s in segments) / total)


def _coupon_on(a: Asked, idea: CouponIdea, sku: str, state: ShopState, rows: list[dict],
               for_whom: Audience = Audience()) -> str:
    loc, p, policy = a.locale, a.product(sku), a.policy
    price, cost, commission, shipping = p["selling_price"], p["cost"], p["commission"], p["shipping"]
    percent = idea.type is CouponType.PERCENT
    p_eff = float(econ.lowest_unit_price(price, idea.value, idea.threshold, percent=percent))
    per_order = price * idea.value / 100 if percent else idea.value
    margin = float(econ.unit_margin(p_eff, cost, commission, shipping))
    floor = policy.profit.min_net_margin
    coupon = wording.coupon_discount(idea.type, idea.value, idea.threshold, loc)
    if for_whom.segments:
        coupon = f"{coupon} · {wording.audience([s.value for s in for_whom.segments], loc)}"
    lines = [t("coupon.head", loc, coupon=coupon, sku=sku, price=money(price)),
             t("coupon.cost", loc, cost=money(per_order), p_eff=money(p_eff)),
             t("coupon.margin", loc, margin=money(margin), share=share(div(margin, p_eff)), floor=share(floor),
               cpo=money(float(econ.max_cost_per_order(p_eff, cost, commission, shipping, floor))))]
    ads = [r for r in rows if r["sku"] == sku and r["source"] in AD_SOURCES]
    ad_cpo = div(sum(r["ad_spend"] for r in ads), sum(r["orders"] for r in ads))
    if ad_cpo is not None:
        net = float(econ.net_margin(p_eff, cost, commission, shipping, ad_cpo))
        lines.append(t("coupon.with_ads", loc, ad_cpo=money(ad_cpo), net=share(net),
                       verdict=t("coupon.above_floor" if net >= floor else "coupon.below_floor", loc)))
    price_floor = policy.floor_for(sku, p["price"])
    verdict = t("coupon.not_counted", loc) if not idea.type.counts_toward_lowest_price else \
        t("coupon.keeps_floor" if p_eff >= price_floor - 1e-9 else "coupon.breaks_floor", loc)
    lines.append(t("coupon.price_floor", loc, floor=money(price_floor), verdict=verdict,
                   lowest=money(p["lowest_price_30d"])))
    orders = sum(r["orders"] for r in rows if r["sku"] == sku and r["day"] == a.today - 1)
    if for_whom.segments:  # only their orders can use it; the platform gives their share of visitors
        orders *= for_whom.share
        who = report_t("terms.join", loc).join(report_t(f"segment.{s.value}", loc) for s in for_whom.segments)
        lines.append(t("coupon.segment_day", loc, who=who,
                       share=share(for_whom.share), orders=num(orders), cost=money(orders * per_order),
                       budget=money(policy.discount.daily_budget)))
    else:
        lines.append(t("coupon.worst_day", loc, orders=num(orders), cost=money(orders * per_order),
                       budget=money(policy.discount.daily_budget)))
    lines.append(_guard_line(a, idea, sku, state, max(math.ceil(orders), 1), for_whom.segments))
    return "\n".join(lines)


def _guard_line(a: Asked, idea: CouponIdea, sku: str, state: ShopState, daily: int,
                segments: tuple[Segment, ...] = ()) -> str:
    """The guard's verdict on the coupon as a week-long proposal, at most yesterday's orders a day."""
    try:
        action = CreateCoupon(type=idea.type, value=idea.value, threshold=idea.threshold, sku=sku,
                              segments=segments or tuple(Segment), start_day=state.day, end_day=state.day + WEEK - 1,
                              quantity=daily * WEEK, daily_limit=daily)
    except ValidationError as exc:
        return t("coupon.guard", a.locale, decision=t("decision.deny", a.locale),
                 message=exc.errors()[0]["msg"].removeprefix("Value error, "))
    verdict = check(action, a.policy, state)
    return t("coupon.guard", a.locale, decision=t(f"decision.{verdict.decision.value}", a.locale),
             message=verdict.text(a.locale))


# ---- what the limits allow ------------------------------------------------------------------------
def answer_limits(a: Asked) -> str:
    """Every limit, the room left today counted as the guard counts it, autonomy, and per named SKU."""
    loc, policy = a.locale, a.policy
    state = shop_state(observe(a.client))
    ledger = Ledger.open(state)
    lines = [t("limits.head", loc, version=policy.version)]
    lines += [t("limits.line", loc, name=report_t(f"limit.{key}", loc), value=value)
              for key, value in limit_values(policy, loc).items() if key != "autonomy.kill_switch"]
    lines.append(t("limits.room_head", loc))
    s, d = policy.spend, policy.discount
    for key, cap, used in (("spend.daily_cap", s.daily_cap, ledger.ad_spend_today),
                           ("spend.monthly_cap", s.monthly_cap, ledger.ad_spend_month),
                           ("discount.daily_budget", d.daily_budget, ledger.coupon_daily),
                           ("discount.weekly_budget", d.weekly_budget, ledger.coupon_cost_week)):
        name = report_t(f"limit.{key}", loc)
        lines.append(t("limits.room", loc, name=name, room=money(cap - used), cap=money(cap)) if used <= cap
                     else t("limits.room_over", loc, name=name, used=money(used), cap=money(cap)))
    lines.append(t("limits.autonomy_head", loc))
    for kind in ActionKind:
        rule = policy.autonomy.rules[kind]
        text = t("limits.approval", loc) if rule.mode == "approval" else (
            t("limits.auto", loc) if rule.max_change_pct is None
            else t("limits.auto_upto", loc, pct=f"{rule.max_change_pct:g}%"))
        lines.append(t("limits.line", loc, name=report_t(f"kind.{kind.value}", loc), value=text))
    lines.append(t("limits.expiry", loc, hours=f"{policy.autonomy.approval_expiry_hours:g}",
                   kill=t("limits.on" if policy.autonomy.kill_switch else "limits.off", loc)))
    lines += [_sku_limits(a, sku, state, ledger) for sku in a.skus]
    lines.append(t("limits.change", loc))
    return "\n".join(lines)


def limit_values(policy: Policy, loc: Locale) -> dict[str, str]:
    """Each limit of the policy, formatted, keyed like the guard's limit codes."""
    s, d = policy.spend, policy.discount
    explicit = "".join(f", {sku} {money(v)}" for sku, v in d.lowest_price_floor.items())
    return {
        "spend.daily_cap": money(s.daily_cap), "spend.monthly_cap": money(s.monthly_cap),
        "spend.sku_daily_budget_cap": money(s.sku_daily_budget_cap), "spend.max_bid": money(s.max_bid),
        "spend.max_bid_change_pct": f"{s.max_bid_change_pct:g}%",
        "spend.min_roi": ratio(s.min_roi) if s.min_roi else t("limits.derived_roi", loc),
        "discount.max_discount_pct": f"{d.max_discount_pct:g}%", "discount.max_face_value": money(d.max_face_value),
        "discount.daily_budget": money(d.daily_budget), "discount.weekly_budget": money(d.weekly_budget),
        "discount.allowed_types": ", ".join(str(ct) for ct in d.allowed_types),
        "discount.lowest_price_floor": t("limits.floor_ratio", loc, ratio=f"{d.lowest_price_floor_ratio:.0%}",
                                         explicit=explicit),
        "profit.min_net_margin": share(policy.profit.min_net_margin),
        "autonomy.kill_switch": t("limits.on" if policy.autonomy.kill_switch else "limits.off", loc),
    }


def _sku_limits(a: Asked, sku: str, state: ShopState, ledger: Ledger) -> str:
    """A SKU's margin-bound numbers, and the highest bid the guard would accept today."""
    p, policy = a.product(sku), a.policy
    # The price buyers pay after the deepest live coupon, as the guard prices a bid.
    price, cost, commission, shipping = paid_price(ledger, sku), p["cost"], p["commission"], p["shipping"]
    floor = policy.profit.min_net_margin
    roi = float(econ.min_roi_at_floor(price, cost, commission, shipping, floor))
    text = t("limits.sku", a.locale, sku=sku, price=money(price),
             margin=money(float(econ.unit_margin(price, cost, commission, shipping))),
             cpo=money(float(econ.max_cost_per_order(price, cost, commission, shipping, floor))),
             roi=ratio(roi if math.isfinite(roi) else None), floor=money(policy.floor_for(sku, p["price"])))
    cid = next((cid for cid, c in state.campaigns.items() if c.sku == sku), None)
    return text if cid is None else text + "\n" + _highest_bid(a, sku, cid, state, ledger)


def _highest_bid(a: Asked, sku: str, cid: str, state: ShopState, ledger: Ledger) -> str:
    """Ask the guard about the policy's highest bid; a deny comes with the largest bid it accepts, if any."""
    current, top = state.campaigns[cid].bid, a.policy.spend.max_bid
    verdict = check(SetBid(sku=sku, campaign_id=cid, bid=top, current_bid=current), a.policy, state, ledger)
    alt = verdict.alternative if verdict.denied else None
    if verdict.denied and not isinstance(alt, SetBid):
        # Name the limit that stops even the smallest raise, not merely the first one in the way.
        smallest = check(SetBid(sku=sku, campaign_id=cid, bid=round(current + 0.01, 2), current_bid=current),
                         a.policy, state, ledger)
        reason = (smallest if smallest.denied else verdict).text(a.locale)
        return t("limits.sku_bid_none", a.locale, sku=sku, current=money(current), reason=reason)
    bid = alt.bid if isinstance(alt, SetBid) else top
    return t("limits.sku_bid", a.locale, sku=sku, bid=money(bid), current=money(current))


# ---- a request to change a limit -----------------------------------------------------------------
def answer_policy_change(a: Asked) -> str:
    """Only the owner changes the policy, in settings; chat cannot. Names the limit's current value."""
    values = limit_values(a.policy, a.locale)
    named = [key for key, pattern in POLICY_WORDS if pattern.search(a.text)]
    text = t("policy.owner_only", a.locale)
    if named:
        items = t("list.sep", a.locale).join(f"{report_t(f'limit.{k}', a.locale)} {values[k]}" for k in named)
        text += "\n" + t("policy.current", a.locale, items=items)
    return text
