"""The owner page's words in English and Simplified Chinese, and the policy told as sentences."""

from __future__ import annotations

from typing import Any

from agent.i18n import LOCALES, Locale, t_or
from policies.domain import ActionKind

# key -> (en, zh-CN); str.format placeholders.
_STRINGS: dict[str, tuple[str, str]] = {
    "app": ("Xiaoer", "店小二"),
    "lang.other": ("中文", "English"),
    "login.heading": ("Sign in to your shop", "登录你的店铺"),
    "login.hint": ("Paste the owner token issued for your shop.", "粘贴为你的店铺签发的店主令牌。"),
    "login.token": ("Owner token", "店主令牌"),
    "login.submit": ("Sign in", "登录"),
    "login.bad": ("That token does not open any shop.", "这个令牌打不开任何店铺。"),
    "logout": ("Sign out", "退出"),
    "nav.report": ("Report", "日报"),
    "nav.queue": ("Approvals", "审批"),
    "nav.policy": ("Limits", "限额"),
    "nav.chat": ("Chat", "对话"),
    "nav.runs": ("Runs", "运行"),
    "report.heading": ("Latest report", "最新日报"),
    "report.none": ("No report yet: the first run writes one.", "还没有日报：第一次运行后就会有。"),
    "report.open": ("Open on its own page", "在单独页面打开"),
    "report.earlier": ("Earlier reports", "往期日报"),
    "queue.heading": ("Waiting for your approval", "等待你审批"),
    "queue.empty": ("Nothing waits for you.", "没有等你审批的操作。"),
    "queue.change": ("Change", "变更"),
    "queue.why": ("Why", "原因"),
    "queue.guard": ("Guard", "校验"),
    "queue.limit": ("Limit", "限额"),
    "queue.numbers": ("Numbers", "数据"),
    "queue.expires": ("Expires", "过期时间"),
    "queue.by.owner-chat": ("you asked in chat", "你在对话中提出"),
    "queue.by.llm": ("suggested by the model", "大模型建议"),
    "queue.by.owner-edit": ("your edit", "你修改过"),
    "queue.approve": ("Approve", "批准"),
    "queue.reject": ("Reject", "拒绝"),
    "queue.edit": ("Edit", "修改"),
    "queue.approve_all": ("Approve all {n}", "全部批准（{n} 项）"),
    "queue.reject_all": ("Reject all {n}", "全部拒绝（{n} 项）"),
    "queue.all_note": ("Each is checked against your limits again as it runs, as when approved one by one.",
                       "每一项执行前仍会按你的限额再检查一次，和逐项批准一样。"),
    "queue.edit_submit": ("Approve with these values", "按修改后的数值批准"),
    "field.bid": ("New bid (¥ per click)", "新出价（元/次点击）"),
    "field.budget": ("New daily budget (¥)", "新日预算（元）"),
    "field.target_roi": ("Target ROI", "目标 ROI"),
    "field.value": ("Coupon value (¥, or % for percent coupons)", "优惠券面额（元；折扣券为 %）"),
    "field.threshold": ("Minimum order (¥)", "使用门槛（元）"),
    "chat.heading": ("Ask Xiaoer", "问店小二"),
    "chat.hint": ("Ask about yesterday's numbers, a SKU, your limits or what waits for you, or ask for a change "
                  "to a SKU's bid, budget, ads or coupons. Nothing changes from here: every change is checked "
                  "against your limits and waits in your approval queue.",
                  "可以问昨天的数据、某个商品、你的限额或待审批的操作，也可以直接要求调整某个商品的出价、预算、推广或优惠券。"
                  "这里不会直接改动任何东西：每项改动都先按你的限额检查，再进入你的审批队列。"),
    "chat.label": ("Your message", "你的问题"),
    "chat.placeholder": ("How did we do yesterday?", "昨天经营得怎么样？"),
    "chat.send": ("Send", "发送"),
    "chat.new": ("New conversation", "新对话"),
    "chat.noscript": ("The chat box needs JavaScript; everything else on this page works without it.",
                      "对话框需要 JavaScript；页面其他功能不需要。"),
    "chat.thinking": ("Thinking…", "思考中…"),
    "chat.looked_at": ("looked at: {name}", "查看了：{name}"),
    "chat.proposed": ("Suggested", "建议"),
    "chat.waits": ("Nothing suggested in a chat runs on its own: it waits in your approval queue.",
                   "对话里的建议不会自动执行：已放入你的审批队列。"),
    "chat.denied": ("Your limits block it: it will not run.", "超出你的限额，已拦下，不会执行。"),
    "chat.open_queue": ("Open the queue", "打开审批队列"),
    "chat.failed": ("No answer: {detail}", "没有回答：{detail}"),
    "chat.signed_out": ("You are signed out: reload the page and sign in again.", "你已退出登录：请刷新页面重新登录。"),
    "policy.heading": ("Your limits", "你设定的限额"),
    "policy.none": ("No policy yet: Xiaoer does nothing until you set one.", "还没有限额：设定之前店小二什么也不做。"),
    "policy.version": ("Version {version}, set by {by} on {at}.", "第 {version} 版，{by} 于 {at} 设定。"),
    "policy.paused": ("Xiaoer is paused: nothing will be executed until you resume.",
                      "店小二已暂停：在你恢复之前，任何操作都不会执行。"),
    "kill.pause": ("Pause Xiaoer", "暂停店小二"),
    "kill.resume": ("Resume", "恢复"),
    "limits.edit": ("Edit limits", "修改限额"),
    "limits.hint": ("Saved as a new version of your limits; every action from then on is checked against it.",
                    "保存为新版本的限额，此后的每个操作都按它校验。"),
    "limits.save": ("Save limits", "保存限额"),
    "limits.label": ("{name} ({unit})", "{name}（单位：{unit}）"),
    "limits.unit.hours": ("hours", "小时"),
    "limits.hours": ("{n} hours", "{n} 小时"),
    "limits.refused": ("Nothing was saved: {problems}.", "没有保存：{problems}。"),
    "limits.reason.empty": ("is empty; enter a number", "不能为空，请填写数字"),
    "limits.reason.not_number": ("“{value}” is not a number", "“{value}”不是数字"),
    "limits.reason.gt": ("must be more than {bound}", "必须大于 {bound}"),
    "limits.reason.ge": ("cannot be below {bound}", "不能低于 {bound}"),
    "limits.reason.negative": ("cannot be negative", "不能是负数"),
    "limits.reason.lt": ("must be below {bound}", "必须低于 {bound}"),
    "limits.reason.le": ("cannot be more than {bound}", "不能超过 {bound}"),
    "limits.reason.above": ("cannot be above {other} ({bound})", "不能高于{other}（{bound}）"),
    "limits.reason.finite": ("must be a finite number", "必须是有限的数字"),
    "limits.reason.other": ("is not accepted: {detail}", "不被接受：{detail}"),
    "policy.spend": ("Ad spend", "广告花费"),
    "policy.discount": ("Coupons", "优惠券"),
    "policy.profit": ("Profit", "利润"),
    "policy.autonomy": ("What runs on its own", "自动执行的范围"),
    "runs.heading": ("Run history", "运行记录"),
    "runs.none": ("No runs yet.", "还没有运行记录。"),
    "runs.date": ("Date", "日期"),
    "runs.status": ("Status", "状态"),
    "runs.executed": ("Done", "已执行"),
    "runs.pending": ("Waiting", "待审批"),
    "runs.denied": ("Blocked", "被拦下"),
    "runs.run_now": ("Run now", "立即运行"),
    "runs.run_now_hint": ("Starts today's run if it has not run yet (once a day).",
                          "今天还没运行时立即开始（每天一次）。"),
    "status.running": ("running", "运行中"),
    "status.waiting_approval": ("waiting for you", "等你审批"),
    "status.done": ("done", "已完成"),
    "status.failed": ("failed", "失败"),
    "notice.approved": ("Approved; the run carried on.", "已批准，运行已继续。"),
    "notice.approved_all": ("All approved; the runs carried on.", "已全部批准，运行已继续。"),
    "notice.rejected_all": ("All rejected; none of them will run.", "已全部拒绝，这些操作都不会执行。"),
    "notice.rejected": ("Rejected; it will not run.", "已拒绝，该操作不会执行。"),
    "notice.edited": ("Your edit was checked against your limits and the run carried on.",
                      "你的修改已按限额重新校验，运行已继续。"),
    "notice.paused": ("Paused: nothing will be executed until you resume.",
                      "已暂停：在你恢复之前，任何操作都不会执行。"),
    "notice.resumed": ("Resumed: actions inside your limits may run again.",
                       "已恢复：在你的限额内的操作可以再次执行。"),
    "notice.limits_saved": ("Your new limits are saved; every action from now on is checked against them.",
                            "新的限额已保存，此后的每个操作都按它校验。"),
    "notice.limits_unchanged": ("Nothing to save: the limits already say that.", "无需保存：限额本来就是这样。"),
    "notice.run_done": ("Today's run is done.", "今天的运行已完成。"),
    "notice.run_waiting_approval": ("Today's run is waiting for your approval.", "今天的运行正在等你审批。"),
    "notice.run_running": ("Today's run has started.", "今天的运行已开始。"),
    "notice.run_failed": ("Today's run failed; see the run history.", "今天的运行失败了，见运行记录。"),
    "error.run_exists": ("Today's run has already happened: once a day.", "今天已经运行过了：每天一次。"),
    "error.queue_down": ("The run queue (Redis) does not answer, so nothing was changed; try again in a minute.",
                         "运行队列（Redis）没有响应，什么都没有改动；请一分钟后再试。"),
    "error.busy": ("Xiaoer is working on this shop right now (a run is under way); try again in a minute.",
                   "店小二正在处理这家店（有一次运行正在进行），请一分钟后再试。"),
    "error.no_policy": ("Set your limits first: Xiaoer does nothing without them.",
                        "请先设定限额：没有限额店小二什么也不做。"),
    "limit.autonomy.rules": ("Your rule for what runs on its own", "你设定的自动执行规则"),
    "limit.autonomy.approval_expiry_hours": ("Approval expiry", "审批时限"),
    "error.run_failed": ("The run could not go on: {detail}", "运行无法继续：{detail}"),
    "error.not_found": ("That action is not in your queue.", "你的队列里没有这个操作。"),
    "error.not_pending": ("That action was already answered.", "这个操作已经处理过了。"),
    "error.expired": ("That action expired; it will not run.", "这个操作已过期，不会执行。"),
    "error.all_not_found": ("One of them is not in your queue, so none were answered.",
                            "其中有一项不在你的队列里，所以一项都没有处理。"),
    "error.all_not_pending": ("One of them was answered meanwhile, so none were; the queue below is as it is now.",
                              "其中有一项刚被处理过，所以这次一项都没有处理；下面是现在的队列。"),
    "error.all_expired": ("One of them expired meanwhile, so none were answered; the queue below is as it is now.",
                          "其中有一项刚过期，所以一项都没有处理；下面是现在的队列。"),
    "error.invalid": ("That value is not valid: {detail}", "数值无效：{detail}"),
    "error.csrf": ("The form was stale; please try again.", "表单已过期，请重试。"),
}

_POLICY: dict[str, tuple[str, str]] = {
    "spend.daily_cap": ("The whole shop spends at most {money} a day on ads.", "全店每天广告花费不超过 {money}。"),
    "spend.monthly_cap": ("The whole shop spends at most {money} a calendar month on ads.",
                          "全店每个自然月广告花费不超过 {money}。"),
    "spend.sku_daily_budget_cap": ("No SKU's campaign gets a daily budget above {money}.",
                                   "单个商品的推广日预算不超过 {money}。"),
    "spend.max_bid": ("No bid above {money} per click.", "每次点击出价不超过 {money}。"),
    "spend.max_bid_change_pct": ("A bid moves at most {pct} in one day.", "一天之内出价最多调整 {pct}。"),
    "spend.min_roi": ("Ads must bring at least ¥{num} of sales per ¥1 spent (ROI ≥ {num}).",
                      "广告每花 1 元至少带来 {num} 元成交（ROI ≥ {num}）。"),
    "spend.min_roi.derived": ("No bid whose cost per order would eat into the profit floor below.",
                              "每单广告成本不能吃掉下面的利润底线。"),
    "discount.max_discount_pct": ("A coupon takes at most {pct} off the price.", "单张优惠券最多优惠价格的 {pct}。"),
    "discount.max_face_value": ("A coupon is worth at most {money}.", "单张优惠券面额不超过 {money}。"),
    "discount.daily_budget": ("Coupons cost at most {money} a day.", "优惠券每天成本不超过 {money}。"),
    "discount.weekly_budget": ("Coupons cost at most {money} a week (Monday to Sunday).",
                              "优惠券每周（周一到周日）成本不超过 {money}。"),
    "discount.allowed_types": ("Coupon types Xiaoer may create: {types}.", "店小二可以创建的优惠券类型：{types}。"),
    "discount.allowed_types.none": ("Xiaoer may not create coupons.", "店小二不能创建优惠券。"),
    "discount.floor_ratio": ("A SKU's 30-day lowest price never falls below {pct} of its list price.",
                             "商品 30 天最低价不低于标价的 {pct}。"),
    "discount.floors": ("Your own floors: {floors}.", "你单独设定的最低价：{floors}。"),
    "profit.min_net_margin": ("After ad and coupon cost, at least {pct} of what buyers pay stays as profit.",
                              "扣除广告和优惠券成本后，成交额中至少 {pct} 留作利润。"),
    "autonomy.auto": ("{kind}: runs on its own.", "{kind}：自动执行。"),
    "autonomy.auto_up_to": ("{kind}: changes up to {pct} run on their own; larger ones wait for you.",
                            "{kind}：{pct} 以内的调整自动执行，更大的调整等你审批。"),
    "autonomy.approval": ("{kind}: always waits for your approval.", "{kind}：每次都等你审批。"),
    "autonomy.expiry": ("An approval request expires after {hours} hours; an expired action never runs.",
                        "审批请求 {hours} 小时后过期，过期的操作不会执行。"),
    "autonomy.kill_on": ("The kill switch is ON: nothing executes.", "总开关已打开：任何操作都不执行。"),
    "autonomy.kill_off": ("The kill switch is off: actions inside these limits may run.",
                          "总开关关闭：在这些限额内的操作可以执行。"),
}

_COUPON_TYPES = {"threshold": ("spend-and-save", "满减券"), "percent": ("percent off", "折扣券"),
                 "no_threshold": ("no minimum", "无门槛券"), "share": ("share", "分享券"),
                 "follow": ("follow", "关注券")}


def text(key: str, locale: Locale, default: str | None = None, **kw: Any) -> str:
    """The page string `key` in `locale`, else the report's (kind.*, limit.*), else `default` (or the key)."""
    pair = _STRINGS.get(key) or _POLICY.get(key)
    if pair is None:
        return t_or(key, locale, key if default is None else default)
    out = pair[LOCALES.index(locale)]
    return out.format(**kw) if kw else out


def number(x: float) -> str:
    """12 → "12", 12.5 → "12.5", 1200 → "1,200"."""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def money(x: float) -> str:
    return f"¥{number(x)}"


def policy_sentences(body: dict[str, Any], locale: Locale) -> list[tuple[str, list[str]]]:
    """The policy as (group heading, sentences), one sentence per limit."""
    spend, disc, profit, auto = body["spend"], body["discount"], body["profit"], body["autonomy"]

    def say(key: str, **kw: Any) -> str:
        return text(key, locale, **kw)

    spend_lines = [say(f"spend.{k}", money=money(spend[k])) for k in ("daily_cap", "monthly_cap",
                                                                      "sku_daily_budget_cap", "max_bid")]
    spend_lines.append(say("spend.max_bid_change_pct", pct=f"{number(spend['max_bid_change_pct'])}%"))
    spend_lines.append(say("spend.min_roi", num=number(spend["min_roi"])) if spend.get("min_roi")
                       else say("spend.min_roi.derived"))
    types = [_COUPON_TYPES.get(c, (c, c))[LOCALES.index(locale)] for c in disc["allowed_types"]]
    sep = "、" if locale == "zh-CN" else ", "
    disc_lines = [
        say("discount.max_discount_pct", pct=f"{number(disc['max_discount_pct'])}%"),
        say("discount.max_face_value", money=money(disc["max_face_value"])),
        say("discount.daily_budget", money=money(disc["daily_budget"])),
        say("discount.weekly_budget", money=money(disc["weekly_budget"])),
        say("discount.allowed_types", types=sep.join(types)) if types else say("discount.allowed_types.none"),
        say("discount.floor_ratio", pct=f"{number(disc['lowest_price_floor_ratio'] * 100)}%"),
    ]
    if disc.get("lowest_price_floor"):
        floors = sep.join(f"{sku} {money(v)}" for sku, v in sorted(disc["lowest_price_floor"].items()))
        disc_lines.append(say("discount.floors", floors=floors))
    auto_lines = [_rule(kind, rule, locale) for kind, rule in auto["rules"].items()]
    auto_lines.append(say("autonomy.expiry", hours=number(auto["approval_expiry_hours"])))
    auto_lines.append(say("autonomy.kill_on" if auto["kill_switch"] else "autonomy.kill_off"))
    return [
        (say("policy.spend"), spend_lines),
        (say("policy.discount"), disc_lines),
        (say("policy.profit"), [say("profit.min_net_margin", pct=f"{number(profit['min_net_margin'] * 100)}%")]),
        (say("policy.autonomy"), auto_lines),
    ]


def _rule(kind: str, rule: dict[str, Any], locale: Locale) -> str:
    label = text(f"kind.{kind}", locale)
    if rule["mode"] == "approval":
        return text("autonomy.approval", locale, kind=label)
    if rule.get("max_change_pct") is None:
        return text("autonomy.auto", locale, kind=label)
    return text("autonomy.auto_up_to", locale, kind=label, pct=f"{number(rule['max_change_pct'])}%")


def chat_strings(locale: Locale) -> dict[str, Any]:
    """What the chat box's script writes, in `locale`: the chat.* strings (placeholders left for the script to
    fill), the refusals it may meet, and the action kinds' names."""
    out: dict[str, Any] = {key.removeprefix("chat."): text(key, locale) for key in _STRINGS if key.startswith("chat.")}
    out.update(stale=text("error.csrf", locale), no_policy=text("error.no_policy", locale),
               kinds={kind.value: text(f"kind.{kind.value}", locale) for kind in ActionKind})
    return out


def keys() -> list[str]:
    """Every key, for tests that check both locales are complete."""
    return [*_STRINGS, *_POLICY]
