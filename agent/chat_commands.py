"""Chat without an LLM: the owner's own change requests, read into the `propose_*` tool calls a model makes.

"Set P-FAN's bid to 0.8", "P-LAMP 预算提高 20%", "pause P-LAMP's ads", "停掉 cpn-3", "switch P-FAN to
whole-site at ROI 5", "给价格敏感客发一张 P-KETTLE 满50减5 的券": each becomes a call of the same propose
tool the model would call, so the request meets the guard and the approval queue by the one path
every proposal takes. Nothing here writes anywhere. A question ("should I raise…?", "…吗") is not a
request; it is left to the other answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langchain_core.messages import AIMessage

from agent import wording
from agent.chat_checks import CouponIdea, coupon_idea, named_segments
from agent.chat_i18n import t
from agent.chat_intents import PATTERNS, named_skus
from agent.guarding import fit_to_policy, shop_state
from agent.i18n import Locale
from agent.i18n import t as report_t
from agent.llm import run_tool_calls
from agent.observe import observe
from marketplace.client import PlatformClient
from policies.actions import Action, CreateCoupon
from policies.guard import check
from policies.ledger import Ledger
from policies.limits import Policy
from policies.state import ShopState
from tools import ProposalSink, propose_tools

_I = re.IGNORECASE
_N = r"(\d+(?:\.\d+)?)"
RATIONALE_CHARS = 300  # of the owner's message, quoted as the proposal's rationale

REQUEST = re.compile(r"\b(please|pls|can you|could you|would you)\b|请|帮我|帮忙|麻烦", _I)
QUESTION = re.compile(r"[?？]\s*$|吗\s*[?？]?\s*$|\b(should|what if|why|is it|would it|how much|how many|worth)\b|"
                      r"要不要|是否|会不会|该不该|为什么|值不值|多少", _I)
UP = re.compile(r"\b(raise|increase|lift|bump|boost|higher)\b|提高|调高|增加|上调|提升|加大|加", _I)
DOWN = re.compile(r"\b(lower|decrease|reduce|cut|trim)\b|降低|调低|减少|下调|压低|降|减", _I)
SET = re.compile(r"\b(set|change|make|put)\b|设|改|调", _I)
_SIGNED = r"(-?\d+(?:\.\d+)?)"  # a value asked for as such keeps its sign, so "to -3" is refused, not read as 3
TO = re.compile(rf"\b(?:to|at)\s*¥?\s*{_SIGNED}|(?:到|为|成|=)\s*¥?\s*{_SIGNED}", _I)
PERCENT = re.compile(rf"{_N}\s*%|百分之\s*{_N}", _I)
NUMBER = re.compile(_SIGNED)
BID = re.compile(r"\b(bids?|cpc|cost per click)\b|出价", _I)
BUDGET = re.compile(r"\bbudgets?\b|预算", _I)
PAUSE = re.compile(r"\b(pause|stop|halt|suspend|turn off|switch off)\b|暂停|停止|停掉|停投|关闭|关掉|下线", _I)
RESUME = re.compile(r"\b(resume|restart|unpause|reactivate|turn on|switch on|start)\b|恢复|重新开|开启|打开|重启|"
                    r"继续投放|上线", _I)
ADS = re.compile(r"\b(ads?|advert\w*|campaigns?|promotions?)\b|推广|广告|计划|投放", _I)
SWITCH = re.compile(r"\b(switch|change|move|go|back|put)\b|切换|改成|改为|换成|转为|转成|改用|换到|切到", _I)
WHOLE_SITE = re.compile(r"whole[- ]?site|全站", _I)
SEARCH_MODE = re.compile(r"\bsearch\b|搜索", _I)
TARGET_ROI = re.compile(rf"\broi\s*(?:of|to|at|=|为|到)?\s*{_N}|投产比?\s*(?:为|到|=)?\s*{_N}", _I)
LATER = re.compile(r"\b(tomorrow|weekend|next (week|month)|tonight|from (monday|tuesday|wednesday|thursday|friday|"
                   r"saturday|sunday)|on (monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b|"
                   r"明天|后天|周末|下周|下个月|今晚|从周|到周|星期[一二三四五六日天]", _I)
ALL = re.compile(r"\b(all|every|each)\b|所有|全部|每个", _I)
CREATE = re.compile(r"\b(create|issue|launch|add|make|start|set up|offer|give|send|run|new)\b|"
                    r"发|创建|新建|上|开|设|做|推出|新增|送", _I)
# A coupon idea whose cost is asked gets costed, whatever verb it comes with ("发…要花多少钱？").
COST = re.compile(r"\b(cost|costs|how much|expensive|pay off|worth it)\b|多少钱|花多少|要花|成本|贵不贵|划算|划不划算|"
                  r"值不值", _I)
FACTOR = ((re.compile(r"\b(double|twice)\b|翻倍|加倍|翻一番|两倍", _I), 2.0),
          (re.compile(r"\b(halve|half)\b|减半|砍半|一半", _I), 0.5))
STOP = re.compile(r"\b(stop|end|cancel|withdraw|remove|kill)\b|停|取消|结束|撤|下架|作废", _I)
VALID_DAYS = re.compile(rf"\bfor\s+{_N}\s+days?\b|\bvalid\s+(?:for\s+)?{_N}\s+days?\b|有效期?\s*{_N}\s*天|"
                        rf"{_N}\s*天\s*(?:内)?有效", _I)
DAILY = re.compile(rf"{_N}\s*(?:uses?|coupons?|redemptions?|times)?\s*(?:a|per|/)\s*day\b|"
                   rf"每(?:天|日)\s*(?:最多|至多)?\s*{_N}\s*(?:张|次|个)?", _I)


@dataclass(frozen=True)
class Call:
    """One propose-tool call the owner asked for; `unsaid` names arguments left to Xiaoer (within the limits)."""

    name: str
    args: dict[str, Any]
    unsaid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unclear:
    """A change request that misses something: the chat string that asks for it."""

    key: str
    kw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Shop:
    """What a request is read against: the shop's SKUs, campaigns and coupons, as the platform lists them."""

    products: list[dict]
    campaigns: list[dict]
    coupons: list[dict]

    @classmethod
    def read(cls, client: PlatformClient) -> Shop:
        return cls(client.products(), client.campaigns(), client.coupons())


def read_request(text: str, shop: Shop) -> list[Call] | Unclear | None:
    """The propose calls `text` asks for, what is missing from it, or None when it asks for no change."""
    if PATTERNS["policy_change"].search(text):
        return None  # a limit is the owner's to change, in settings: chat_checks says so
    coupon_ids = named_skus(text, [c["id"] for c in shop.coupons])
    if coupon_ids and STOP.search(text):
        return [Call("propose_stop_coupon", {"coupon_id": cid, "rationale": _why(text)}) for cid in coupon_ids]
    skus = named_skus(text, [p["sku"] for p in shop.products])
    bare = _without(text, [*skus, *coupon_ids, *(c["id"] for c in shop.campaigns)])
    idea = coupon_idea(VALID_DAYS.sub(" ", DAILY.sub(" ", bare)), [])
    if idea is not None and CREATE.search(bare) and not COST.search(bare):
        return Unclear("cmd.later") if LATER.search(bare) else _coupons(text, bare, idea, skus)
    if idea is not None:
        return None  # a coupon idea to cost, not to create: chat_checks answers it
    change = _campaign_change(bare)
    if change is None:
        return None
    campaigns = _campaigns(text, skus, shop.campaigns, bare)
    if not campaigns:
        listed = ", ".join(p["sku"] for p in shop.products)
        return Unclear("cmd.which", {"skus": listed})
    if LATER.search(bare):
        return Unclear("cmd.later")  # a proposal is for today: one asked for a later day would run today
    calls = change(campaigns, text)
    return Unclear("cmd.nothing") if calls == [] else calls


def is_question(text: str) -> bool:
    """A question ("should I…?", "…吗") rather than a request: it gets an answer, never a proposal."""
    return bool(QUESTION.search(text)) and not REQUEST.search(text)


def what_if(calls: list[Call], client: PlatformClient, policy: Policy, locale: Locale) -> str:
    """What the guard would say to each change, were it asked for: a dry run that records nothing."""
    sink = ProposalSink()
    by_name = {tool.name: tool for tool in propose_tools(client, sink)}
    ai = AIMessage("", tool_calls=[{"name": c.name, "args": c.args, "id": f"what-if-{k}", "type": "tool_call"}
                                   for k, c in enumerate(calls)])
    errors = [str(m.content) for m in run_tool_calls(ai, by_name) if m.status == "error"]
    state = shop_state(observe(client))
    ledger = Ledger.open(state)
    lines = []
    for action in fill_unsaid(sink.proposals, calls, policy, lambda: state):
        verdict = check(action, policy, state, ledger)
        if verdict.denied:
            alt = verdict.alternative
            line = t("cmd.would_refuse", locale, what=describe(action, locale), why=verdict.text(locale))
            lines.append(line + (" " + t("cmd.nearest", locale, what=describe(alt, locale)) if alt else ""))
        else:
            ledger = ledger.commit(action)
            lines.append(t("cmd.would_queue", locale, what=describe(action, locale)))
    lines += [t("cmd.not_recorded", locale, why=e) for e in errors]
    return "\n".join(lines + [t("cmd.how_to_ask", locale)])


# ---- campaigns ------------------------------------------------------------------------------------
Change = Callable[[list[dict], str], "list[Call] | Unclear"]  # (campaigns, the owner's text) -> calls


def _campaign_change(bare: str) -> Change | None:
    """What the request changes on a campaign, by the first rule that matches; None for no change."""
    if SWITCH.search(bare) and WHOLE_SITE.search(bare):
        return lambda cs, text: _whole_site(cs, text, bare)
    if SWITCH.search(bare) and SEARCH_MODE.search(bare) and not BID.search(bare):
        return lambda cs, text: [Call("propose_campaign_mode", {"campaign_id": c["id"], "mode": "search",
                                                                "rationale": _why(text)})
                                 for c in cs if c["mode"] != "search"]
    for field_re, tool, key in ((BID, "propose_bid", "bid"), (BUDGET, "propose_budget", "budget")):
        if field_re.search(bare) and any(p.search(bare) for p in (UP, DOWN, TO, SET, *(f for f, _ in FACTOR))):
            return partial(_set_number, bare=bare, tool=tool, key=key)
    if PAUSE.search(bare) and (ADS.search(bare) or not RESUME.search(bare)):
        return lambda cs, text: _status(cs, text, "paused")
    if RESUME.search(bare):
        return lambda cs, text: _status(cs, text, "active")
    return None


def _set_number(campaigns: list[dict], text: str, bare: str, tool: str, key: str) -> list[Call] | Unclear:
    """A bid or budget: to a value ("to 0.8", "调到 0.8"), up or down by a share ("by 20%") or an amount, or
    doubled or halved ("翻倍", "halve")."""
    to, pct = TO.search(bare), PERCENT.search(bare)
    num = NUMBER.search(bare)
    sign = -1.0 if DOWN.search(bare) and not UP.search(bare) else 1.0
    factor = next((f for words, f in FACTOR if words.search(bare)), None)
    calls = []
    for c in campaigns:
        if factor is not None and to is None and pct is None:
            value = c[key] * factor  # "double the bids", "预算减半"
        elif to is not None and pct is None:
            value = _group(to)
        elif num is not None and pct is None and not (UP.search(bare) or DOWN.search(bare)):
            value = float(num.group(1))  # "set P-FAN's bid 0.8"
        elif pct is not None and (UP.search(bare) or DOWN.search(bare)):
            value = c[key] * (1 + sign * _group(pct) / 100)
        elif num is not None and (UP.search(bare) or DOWN.search(bare)):
            value = c[key] + sign * abs(float(num.group(1)))
        else:
            return Unclear("cmd.how_much", {"what": report_t(f"kind.set_{key}", "en").lower(),
                                            "what_zh": report_t(f"kind.set_{key}", "zh-CN")})
        if round(value, 2) != round(c[key], 2):
            calls.append(Call(tool, {"campaign_id": c["id"], key: round(value, 2), "rationale": _why(text)}))
    return calls


def _status(campaigns: list[dict], text: str, status: str) -> list[Call]:
    return [Call("propose_campaign_status", {"campaign_id": c["id"], "status": status, "rationale": _why(text)})
            for c in campaigns if c["status"] != status]


def _whole_site(campaigns: list[dict], text: str, bare: str) -> list[Call] | Unclear:
    m = TARGET_ROI.search(bare) or TO.search(bare)
    if m is None:
        return Unclear("cmd.target_roi")
    roi = _group(m)
    return [Call("propose_campaign_mode", {"campaign_id": c["id"], "mode": "whole_site", "target_roi": roi,
                                           "rationale": _why(text)})
            for c in campaigns if (c["mode"], c.get("target_roi")) != ("whole_site", roi)]


def _campaigns(text: str, skus: list[str], campaigns: list[dict], bare: str) -> list[dict]:
    """The campaigns a request names: by id, by SKU, or all of them when it says "all"."""
    ids = set(named_skus(text, [c["id"] for c in campaigns]))
    chosen = [c for c in campaigns if c["id"] in ids or c["sku"] in skus]
    return chosen or (list(campaigns) if ALL.search(bare) else [])


# ---- coupons --------------------------------------------------------------------------------------
def _coupons(text: str, bare: str, idea: CouponIdea, skus: list[str]) -> list[Call]:
    """One coupon per SKU named (or one for the whole shop), for the segments named (or everyone)."""
    segments = [s.value for s in named_segments(bare)]
    args: dict[str, Any] = {"type": idea.type.value, "value": idea.value, "threshold": idea.threshold,
                            "rationale": _why(text)}
    if segments:
        args["segments"] = segments
    if (days := VALID_DAYS.search(bare)) is not None:
        args["valid_days"] = max(1, int(_group(days)))
    daily = DAILY.search(bare)
    if daily is not None:
        args["daily_limit"] = max(1, int(_group(daily)))
    unsaid = ("quantity",) if daily is not None else ("quantity", "daily_limit")
    targets: list[str | None] = [*skus] or [None]
    return [Call("propose_coupon", {**args, "sku": sku}, unsaid) for sku in targets]


def fill_unsaid(actions: list[Action], calls: list[Call], policy: Policy,
                state: Callable[[], ShopState]) -> list[Action]:
    """Where the owner left a coupon's daily limit and quantity unsaid, the most the coupon budgets allow (the
    guard's own clamp). Only unsaid numbers move: whatever the owner said goes to the guard as said. `state` is
    read only when something was left unsaid."""
    unsaid = {name for c in calls for name in c.unsaid}
    if not unsaid:
        return actions
    fitted = fit_to_policy(actions, policy, state())
    return [_with_unsaid(a, fit, unsaid) for a, fit in zip(actions, fitted, strict=True)]


def _with_unsaid(asked: Action, fit: Action, unsaid: set[str]) -> Action:
    if not (isinstance(asked, CreateCoupon) and isinstance(fit, CreateCoupon)):
        return asked
    free = unsaid | {"rationale", "rationale_zh"}
    if fit.model_dump(exclude=free) != asked.model_dump(exclude=free):
        return asked  # the clamp moved something the owner said: the guard answers the request as asked
    return asked.model_copy(update={name: getattr(fit, name) for name in unsaid})


# ---- the answer -----------------------------------------------------------------------------------
def describe(action: Action | dict[str, Any], locale: Locale) -> str:
    """One line a person reads: kind · SKU · target: before → after."""
    a = action if isinstance(action, dict) else action.model_dump(mode="json")
    target = a.get("campaign_id") or a.get("coupon_id") or ""
    where = " · ".join(x for x in (a.get("sku"), target) if x)
    head = report_t(f"kind.{a['kind']}", locale) + (f" · {where}" if where else "")
    text = f"{head}: {wording.change_text(a, locale)}"
    if a["kind"] == "create_coupon" and a.get("daily_limit"):
        text += t("cmd.daily_limit", locale, daily=a["daily_limit"])
    return text


def outcome_line(action: dict[str, Any], outcome: dict[str, Any], locale: Locale, number: int | None = None) -> str:
    """What became of one requested change: queued for approval (as `number` in the queue, when known), refused
    (and the nearest it allows), or kept."""
    what = describe(action, locale)
    message = outcome.get("message_zh") if locale == "zh-CN" else outcome.get("message")
    decision = outcome.get("decision")
    if decision == "needs_approval" and number is not None:
        return t("cmd.queued_as", locale, what=what, n=number)
    if decision == "needs_approval":
        return t("cmd.queued", locale, what=what, id=outcome.get("id"))
    if decision == "deny":
        line = t("cmd.refused", locale, what=what, why=message or outcome.get("limit") or "")
        alt = outcome.get("alternative")
        return line + (" " + t("cmd.nearest", locale, what=describe(alt, locale)) if alt else "")
    return t("cmd.not_queued", locale, what=what, why=message or "")


# ---- text -----------------------------------------------------------------------------------------
def _why(text: str) -> str:
    quoted = " ".join(text.split())[:RATIONALE_CHARS]
    return f"The owner asked in chat / 店主在对话中要求: «{quoted}»"


def _without(text: str, ids: list[str]) -> str:
    """`text` with the named ids taken out, so the digits in "SKU-12" or "cpn-3" are not read as numbers."""
    for name in sorted(ids, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])", " ", text, flags=_I)
    return text


def _group(m: re.Match[str]) -> float:
    """The first number a pattern with alternatives caught."""
    value = float(next(g for g in m.groups() if g is not None))
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {m.group(0)!r}")
    return value
