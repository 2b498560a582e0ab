"""Chat without an LLM: recognise what the owner asks, in English or Chinese, and pick the answer.

Intents are keywords and patterns checked in a fixed order (a request to change a limit comes
first, so it is never mistaken for a question about one); SKU ids are matched against the
shop's own product list. Anything not recognised gets a plain note of what needs an LLM.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from agent import chat_answers, chat_checks
from agent.chat_answers import Asked
from agent.chat_i18n import t
from agent.i18n import Locale
from marketplace.client import PlatformClient
from policies.limits import Policy

Intent = Literal["done", "policy_change", "coupon", "limits", "pending", "sku", "kpi", "which_sku", "coupon_ask",
                 "help", "fallback"]

_I = re.IGNORECASE
PATTERNS: dict[str, re.Pattern[str]] = {
    # What Xiaoer did and why: its own past actions, not the shop's numbers ("why did orders drop?" is an SKU's).
    "done": re.compile(
        r"\bwhy (did|have) (you|xiaoer)\b|\bwhat (did|have) (you|xiaoer) (do|done|change|changed|execute|"
        r"executed)\b|\bwhat (have you been doing|did you do)\b|\bwhy (is|was|are|were) .*\b(paused|raised|lowered|"
        r"stopped|cut|changed|switched)\b"
        r"|(你|店小二)(昨天|今天|最近|这几天)?(都)?(做|干|改|调|动|执行)了(什么|啥|哪些)"
        r"|(为什么|为啥).*(你|店小二|广告|推广|出价|预算|券|计划).*(暂停|停|调|降|提高|加|减|改|发|关|开|切换)"
        r"|(为什么|为啥).*(暂停|停|调|降|提高|加|减|改|发|关|开|切换).*(广告|推广|出价|预算|券|计划)", _I),
    "policy_change": re.compile(
        r"\b(raise|increase|lift|bump|loosen|relax|change|double|remove|disable|turn off|set)\b.*"
        r"\b(limits?|caps?|max(imum)? bid|floors?|policy|kill switch|permissions?|max(imum)? discount)\b"
        r"|(提高|调高|放宽|提升|修改|改成|改为|加大|取消|关掉|关闭|上调|调到|提到).*"
        r"(限额|上限|底线|策略|权限|最高出价|总开关|最低净利率|最大折扣)"
        r"|(限额|上限|底线|策略|权限|最高出价|总开关|最低净利率|最大折扣).*"
        r"(提高|调高|放宽|提升|修改|改成|改为|加大|取消|关掉|关闭|上调|调到|提到)", _I),
    "limits": re.compile(r"\b(limits?|caps?|max(imum)?|allowed|allows?|policy|floors?|may i|permissions?|room|"
                         r"auto(matic(ally)?)?)\b|\b(can|may) (you|xiaoer|it) (spend|bid|discount)\b|"
                         r"\bhow much (can|may) (you|xiaoer|it|i)\b|限额|上限|允许|最高|底线|策略|权限|额度|还能|自动|"
                         r"(能|可以)(花|投|出价)多少|最多(花|投)", _I),
    "pending": re.compile(r"\b(pending|approv\w*|queue[sd]?|waiting|awaiting)\b"
                          r"|审批|待批|待审|批准|等待|队列|审核", _I),
    "kpi": re.compile(r"\b(profit|gmv|sales|revenue|orders?|spend|spent|roi|kpis?|yesterday|week|days|how did|"
                      r"how are|how is|performance|numbers)\b|利润|成交|销售|销量|营业|订单|花费|花了|投产|"
                      r"昨天|昨日|上周|周|天|经营|业绩|数据|赚", _I),
    "sku_word": re.compile(r"\bsku\b|商品|单品", _I),
    "coupon": re.compile(r"\bcoupons?\b|券|优惠", _I),
    "help": re.compile(r"^\W*(help|hi|hello|hey)\W*$|what (can|do) you do|what can I ask|how do I use|\bhelp me\b|"
                       r"你(能|会|可以)(做|干)(什么|啥)|能做什么|怎么用|帮助|^\W*(你好|在吗)\W*$", _I),
}


def answer_offline(client: PlatformClient, policy: Policy, pending: Callable[[], list[dict]], text: str,
                   locale: Locale, done: Callable[[], list[dict]] = lambda: []) -> str:
    """The answer to `text` in `locale`, from the platform through `client` and the shop's records (reads only)."""
    products = client.products()
    skus = named_skus(text, [p["sku"] for p in products])
    asked = Asked(text, locale, client, policy, pending, products, int(client.shop()["day"]), skus, done)
    return ANSWERS[intent_of(text, bool(skus), chat_checks.coupon_idea(text, skus) is not None)](asked)


def asks_what_was_done(text: str) -> bool:
    """Whether `text` asks what Xiaoer did or why ("why did you pause a1?", "你昨天做了什么？")."""
    return bool(PATTERNS["done"].search(text))


ANSWERS: dict[Intent, Callable[[Asked], str]] = {
    "done": chat_answers.answer_done,
    "policy_change": chat_checks.answer_policy_change,
    "coupon": chat_checks.answer_coupon,
    "limits": chat_checks.answer_limits,
    "pending": chat_answers.answer_pending,
    "sku": chat_answers.answer_sku,
    "kpi": chat_answers.answer_kpis,
    "which_sku": chat_answers.answer_which_sku,
    "coupon_ask": lambda a: t("coupon.ask", a.locale),
    "help": lambda a: t("help", a.locale, can=t("can", a.locale)),
    "fallback": lambda a: t("fallback", a.locale, can=t("can", a.locale)),
}


def intent_of(text: str, names_sku: bool, has_coupon_idea: bool) -> Intent:
    """What the owner asks, by the first rule that matches."""
    p = PATTERNS
    if p["done"].search(text):
        return "done"
    if p["policy_change"].search(text):
        return "policy_change"
    if has_coupon_idea:
        return "coupon"
    if p["limits"].search(text):
        return "limits"
    if p["pending"].search(text):
        return "pending"
    if names_sku:
        return "sku"
    if p["kpi"].search(text):
        return "kpi"
    if p["sku_word"].search(text):
        return "which_sku"
    if p["coupon"].search(text):
        return "coupon_ask"
    return "help" if p["help"].search(text) else "fallback"


def named_skus(text: str, skus: list[str]) -> list[str]:
    """The SKUs of `skus` that `text` names as whole words (case-insensitive), in order of appearance."""
    found = []
    for sku in skus:
        m = re.search(rf"(?<![A-Za-z0-9_-]){re.escape(sku)}(?![A-Za-z0-9_-])", text, _I)
        if m:
            found.append((m.start(), sku))
    return [sku for _, sku in sorted(found)]
