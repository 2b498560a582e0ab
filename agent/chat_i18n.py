"""Chat strings, in English and Simplified Chinese, organised like `agent/i18n.py` (key -> (en, zh-CN)).

Names the daily report already has (KPIs, limits, action kinds) come from `agent.i18n`, so
the chat and the report call a figure by the same name.
"""

from __future__ import annotations

import re

from agent.i18n import LOCALES, Locale

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_STRINGS: dict[str, tuple[str, str]] = {
    "list.sep": ("; ", "；"),
    "chat.failed": ("Sorry, I could not finish that answer ({kind}); nothing was changed. Please try again.",
                    "抱歉，这次没能答完（{kind}），没有做任何改动，请再试一次。"),
    "chat.platform_down": ("The platform did not answer, so I could not read the shop's numbers; nothing was "
                           "changed. Please try again in a moment.",
                           "平台没有响应，读不到店铺数据，没有做任何改动，请稍后再试。"),
    "chat.platform_refused": ("The platform refused Xiaoer's access to this shop (it answered {status}), so I could "
                              "not read the shop's numbers; nothing was changed. Trying again will not help: the "
                              "shop's platform token (set by the admin) needs checking.",
                              "平台拒绝了店小二对本店的访问（返回 {status}），读不到店铺数据，没有做任何改动。"
                              "重试无济于事：请管理员检查本店的平台令牌。"),
    # KPIs
    "kpi.day_title": ("Yesterday ({date}) against the day before ({before}):",
                      "昨天（{date}）对比前一天（{before}）："),
    "kpi.week_title": ("Last {days} days ({start} to {end}) against the {days} days before:",
                       "近 {days} 天（{start} 至 {end}）对比之前 {days} 天："),
    "kpi.line": ("- {name}: {now} (before: {before}, {delta})", "- {name}：{now}（之前 {before}，{delta}）"),
    "kpi.line_alone": ("- {name}: {now}", "- {name}：{now}"),
    "kpi.no_day": ("No finished day yet, so there is nothing to report.", "还没有完整的一天，暂时没有数据可报。"),
    # One SKU
    "sku.which": ("Which SKU? This shop has: {skus}.", "请问是哪个商品？本店的 SKU 有：{skus}。"),
    "sku.no_drop": ("Orders of {sku} did not fall: {now} yesterday against {before} a day over the {days} days "
                    "before.", "{sku} 的订单并没有下降：昨天 {now} 单，之前 {days} 天日均 {before} 单。"),
    "sku.head": ("SKU {sku}, yesterday ({date}): {orders} orders, GMV {gmv}, ad spend {ad_spend}, "
                 "coupon cost {coupon_cost}, ad ROI {roi}, ad cost per ad order {cpo}.",
                 "商品 {sku} 昨天（{date}）：{orders} 单，成交额 {gmv}，广告花费 {ad_spend}，优惠券成本 {coupon_cost}，"
                 "广告 ROI {roi}，每个广告订单的广告成本 {cpo}。"),
    "sku.base": ("Average of the {days} days before: {orders} orders, GMV {gmv}, ad spend {ad_spend}, "
                 "coupon cost {coupon_cost}.",
                 "之前 {days} 天的日均：{orders} 单，成交额 {gmv}，广告花费 {ad_spend}，优惠券成本 {coupon_cost}。"),
    "sku.sources": ("Orders by source, yesterday against that average: {parts}.",
                    "各流量来源的订单（昨天 对比 日均）：{parts}。"),
    "sku.source_part": ("{source} {now} vs {before}", "{source} {now} 对 {before}"),
    "sku.driver": ("Biggest driver: {source}, {delta} orders a day ({before} → {now}); {detail}.",
                   "最大的变化来自{source}：每天 {delta} 单（{before} → {now}）；{detail}。"),
    "sku.flat": ("Orders moved by less than one a day against the average; nothing stands out.",
                 "订单与日均相比变化不到 1 单，没有明显异常。"),
    "sku.signals": ("Also: {items}.", "另外：{items}。"),
    "sku.no_day": ("SKU {sku} has no finished day yet.", "商品 {sku} 还没有完整一天的数据。"),
    "detail.visitors": ("visitors {before} → {now}", "访客 {before} → {now}"),
    "detail.clicks": ("clicks {before} → {now}", "点击 {before} → {now}"),
    "source.organic": ("organic", "自然流量"),
    "source.search": ("search ads", "搜索推广"),
    "source.whole_site": ("whole-site promotion", "全站推广"),
    "sig.stockout": ("stock is {stock}: the SKU is out of stock", "库存为 {stock}：已断货"),
    "sig.paused": ("campaign {campaign} is paused, so the ads bought no clicks",
                   "推广计划 {campaign} 已暂停，广告没有带来点击"),
    "sig.cpc": ("cost per click {before} → {now} ({delta}): the bid changed (now {bid})",
                "单次点击成本 {before} → {now}（{delta}）：出价有变化（当前 {bid}）"),
    "sig.budget": ("ad spend {spend} used up the daily budget {budget}: the budget capped the clicks",
                   "广告花费 {spend} 用完了日预算 {budget}：预算限制了点击量"),
    "sig.stage2": ("the campaign is in stage 2 and search clicks fell {drop} (the stage-2 cut-off); a higher bid "
                   "only pays while the ad cost per order stays under {max_cpo}",
                   "推广已进入二阶段，搜索点击下降 {drop}（二阶段断流）；只有每单广告成本低于 {max_cpo}，加价才划算"),
    "sig.coupon": ("coupon cost {before} → {now} a day (live coupons on this SKU: {live})",
                   "优惠券成本每天 {before} → {now}（该商品有 {live} 张生效中的券）"),
    "sig.event": ("it sells in event {event} at {price}", "正在参加活动 {event}，活动价 {price}"),
    # Pending approvals
    "done.none": ("I have not proposed anything in the shop's recent runs.", "最近几次运行里，我没有提出过任何操作。"),
    "done.none_sku": ("I have not proposed anything for {skus} in the recent runs.",
                      "最近几次运行里，我没有对 {skus} 提出过任何操作。"),
    "done.head": ("The run of {date}:", "{date} 的运行："),
    "done.item": ("- {state}: {kind} · {target}: {change}", "- {state}：{kind} · {target}：{change}"),
    "done.why": ("  Why: {rationale}", "  原因：{rationale}"),
    "done.limit": ("  Your limit: {message}", "  你的限额：{message}"),
    "done.error": ("  The platform: {error}", "  平台：{error}"),
    "done.more": ("- and {count} more (all of them: the run's page or the audit log)",
                  "- 还有 {count} 项（全部见该次运行或审计日志）"),
    "done.state.executed": ("done", "已执行"),
    "done.state.failed": ("failed on the platform", "平台执行失败"),
    "done.state.denied": ("not done, outside your limits", "未执行，超出你的限额"),
    "done.state.rejected": ("not done, you rejected it", "未执行，你已拒绝"),
    "done.state.expired": ("not done, your approval did not come in time", "未执行，审批已过期"),
    "pending.none": ("Nothing waits for your approval.", "目前没有等待你审批的操作。"),
    "pending.head": ("Waiting for your approval: {count}", "有 {count} 项操作等待你审批："),
    "pending.item": ("{n}. [{id}] {kind} · {target}: {change}", "{n}. [{id}] {kind} · {target}：{change}"),
    "pending.why": ("   Why: {rationale}", "   原因：{rationale}"),
    "pending.guard": ("   Guard: {message}", "   风控：{message}"),
    "pending.numbers": ("   Numbers: {numbers}", "   数字：{numbers}"),
    "pending.expires": ("   Expires: {expires}", "   过期时间：{expires}"),
    "pending.how": ("Answer here by number: \"approve 1\", \"reject 2\", \"approve all\".",
                    "可以直接按编号回复：「批准第1个」「拒绝第2个」「全部批准」。"),
    # Limits
    "limits.head": ("Your limits (policy version {version}):", "你设的限额（策略版本 {version}）："),
    "limits.line": ("- {name}: {value}", "- {name}：{value}"),
    "limits.derived_roi": ("derived from the margin floor", "由最低净利率推出"),
    "limits.floor_ratio": ("{ratio} of the list price unless set per SKU{explicit}",
                           "未单独设置的商品为标价的 {ratio}{explicit}"),
    "limits.room_head": ("Room left today (worst case, counted the way the guard counts it):",
                         "今天还剩的额度（按风控的最坏情况口径）："),
    "limits.room": ("- {name}: {room} left of {cap}", "- {name}：上限 {cap}，还剩 {room}"),
    "limits.room_over": ("- {name}: no room left: {used} already committed (worst case) against {cap}",
                         "- {name}：上限 {cap}，已承诺 {used}（最坏情况），没有余量"),
    "limits.autonomy_head": ("What runs on its own and what needs your approval:",
                             "哪些操作自动执行，哪些需要你审批："),
    "limits.auto_upto": ("runs on its own up to a {pct} change, larger ones need your approval",
                         "变动不超过 {pct} 自动执行，更大的需要你审批"),
    "limits.auto": ("runs on its own", "自动执行"),
    "limits.approval": ("needs your approval every time", "每次都需要你审批"),
    "limits.expiry": ("- Approvals expire after {hours} h; kill switch: {kill}.",
                      "- 待审批操作 {hours} 小时后过期；总开关（急停）：{kill}。"),
    "limits.on": ("on, nothing executes", "已打开，任何操作都不执行"),
    "limits.off": ("off", "关闭"),
    "limits.sku": ("For {sku} at {price} (after live coupons): unit margin {margin}, the most ad cost one order "
                   "may carry at your margin floor {cpo}, lowest ROI {roi}, lowest-price floor {floor}.",
                   "商品 {sku}（券后价 {price}）：单件毛利 {margin}，在最低净利率下每单最多可承担广告成本 {cpo}，"
                   "最低 ROI {roi}，最低价底线 {floor}。"),
    "limits.sku_bid": ("  The highest bid the guard allows {sku} today: {bid} (now {current}).",
                       "  今天风控允许 {sku} 的最高出价：{bid}（当前 {current}）。"),
    "limits.sku_bid_none": ("  The guard allows {sku} no bid above the current {current} today: {reason}",
                            "  今天风控不允许 {sku} 的出价高于当前的 {current}：{reason}"),
    "limits.change": ("Only you can change these, in your policy settings.", "这些限额只能由你在策略设置里修改。"),
    # Coupon ideas
    "coupon.ask": ("Tell me the coupon, e.g. \"5 off 50 on a1\", \"10% coupon\" or \"a 10-yuan coupon for a2\".",
                   "请告诉我券的内容，例如「a1 满50减5」「9折券」或「a2 10元无门槛券」。"),
    "coupon.head": ("{coupon} on {sku} (selling price {price}):", "{sku}（售价 {price}）用{coupon}："),
    "coupon.cost": ("- Cost per order that uses it: {cost}; the unit price falls to as low as {p_eff}.",
                    "- 每个用券订单的成本：{cost}；单件到手价最低 {p_eff}。"),
    "coupon.margin": ("- Margin after the coupon, before ads: {margin} a unit ({share} of the price); your margin "
                      "floor is {floor}, which leaves {cpo} for ads per order.",
                      "- 用券后、扣广告前的单件毛利：{margin}（占价格 {share}）；你的最低净利率是 {floor}，"
                      "每单最多还能承担 {cpo} 的广告成本。"),
    "coupon.with_ads": ("- At the last 7 days' ad cost per ad order ({ad_cpo}) the net margin would be {net}: "
                        "{verdict}.",
                        "- 按近 7 天每个广告订单的广告成本（{ad_cpo}），净利率将是 {net}：{verdict}。"),
    "coupon.above_floor": ("above your floor", "高于你的底线"),
    "coupon.below_floor": ("below your floor", "低于你的底线"),
    "coupon.price_floor": ("- Lowest-price floor {floor}: {verdict} (30-day lowest price now {lowest}).",
                           "- 最低价底线 {floor}：{verdict}（当前 30 天最低价 {lowest}）。"),
    "coupon.keeps_floor": ("the coupon keeps it", "不会跌破"),
    "coupon.breaks_floor": ("the coupon would break it", "会跌破"),
    "coupon.not_counted": ("this coupon type does not count toward the 30-day lowest price",
                           "这类券不计入 30 天最低价"),
    "coupon.worst_day": ("- If all of yesterday's {orders} orders used it: {cost} a day (your coupon budget: {budget} "
                         "a day).", "- 如果昨天的 {orders} 单都用券：每天 {cost}（你的每日券预算：{budget}）。"),
    "coupon.segment_day": ("- Only {who} buyers can use it: they are {share} of the shop's visitors, so about "
                           "{orders} of yesterday's orders if every one of theirs used it: {cost} a day (your coupon "
                           "budget: {budget} a day).",
                           "- 只有{who}能用：他们占本店访客的 {share}，如果他们昨天的订单都用券，约 {orders} 单，"
                           "每天 {cost}（你的每日券预算：{budget}）。"),
    "coupon.guard": ("- The guard would answer: {decision} — {message}", "- 风控的结论：{decision}——{message}"),
    "decision.allow": ("runs on its own", "可自动执行"),
    "decision.needs_approval": ("needs your approval", "需要你审批"),
    "decision.deny": ("refused", "会被拒绝"),
    # Policy changes and what needs an LLM
    "policy.owner_only": ("Only you can change your limits, in the policy settings (the owner's policy page or API). "
                          "Nothing said in chat changes them, and I have no way to change them myself.",
                          "限额只能由你在策略设置（掌柜的策略页面或 API）里修改。聊天里说的任何话都改变不了限额，"
                          "我自己也没有办法修改。"),
    "policy.current": ("Now: {items}.", "当前：{items}。"),
    "fallback": ("That needs an LLM, and none is configured (set XIAOER_LLM_BASE_URL, plus XIAOER_LLM_API_KEY "
                 "if your endpoint needs a key). Without one I can:\n{can}",
                 "这个问题需要大模型，但还没有配置（请设置 XIAOER_LLM_BASE_URL，如需密钥再设置 XIAOER_LLM_API_KEY）。"
                 "没有大模型时，我可以：\n{can}"),
    "help": ("Without an LLM I can:\n{can}\nWith one configured (XIAOER_LLM_BASE_URL) I also answer in my own words "
             "and suggest changes myself; every change still goes through your limits and your approval queue.",
             "不接大模型时，我可以：\n{can}\n配置大模型（XIAOER_LLM_BASE_URL）后，我还能自由回答、主动提出调整建议；"
             "任何改动都同样要过你的限额和审批队列。"),
    "can": ("- tell you yesterday's or the last 7 days' profit, GMV, orders, ad spend, coupon cost and ROI "
            "(\"how did we do yesterday?\")\n"
            "- show one SKU's numbers and why they moved (\"why did a1's orders drop?\")\n"
            "- say what I did and why (\"what did you do yesterday?\", \"why did you pause a1?\")\n"
            "- list what waits for your approval (\"what is pending?\") and take your answer (\"approve 1\", "
            "\"reject all\")\n"
            "- say what your limits allow (\"what is my max bid?\")\n"
            "- work out what a coupon idea costs (\"5 off 50 on a1\", \"10% coupon\")\n"
            "- check a change you ask for against your limits and put it in your approval queue "
            "(\"set a1's bid to 0.8\", "
            "\"raise all budgets by 20%\", \"pause a1's ads\", \"stop coupon cpn-1\", "
            "\"create a 5 off 50 coupon on a1 for dormant buyers\")",
            "- 告诉你昨天或近 7 天的利润、成交额、订单、广告花费、优惠券成本和 ROI（「昨天经营得怎么样？」）\n"
            "- 给出单个商品的数据及变化原因（「a1 的订单为什么下降了？」）\n"
            "- 说明我做了什么、为什么（「你昨天做了什么？」「为什么暂停了 a1 的推广？」）\n"
            "- 列出等你审批的操作（「有什么待审批的？」），并按你的回复审批（「批准第1个」「全部拒绝」）\n"
            "- 说明你的限额允许做什么（「最高出价是多少？」）\n"
            "- 算一个优惠券方案要花多少钱（「a1 满50减5」「9折券」）\n"
            "- 把你要求的调整交给限额检查并放进审批队列（「把 a1 的出价调到 0.8」「所有预算提高 20%」「暂停 a1 的推广」"
            "「停掉优惠券 cpn-1」「给沉睡客发一张 a1 满50减5 的券」）"),
    # A change the owner asks for in chat, without an LLM
    "cmd.which": ("Which campaign? Name a SKU (this shop has: {skus}), a campaign id, or say \"all\".",
                  "请问是哪个推广？写上商品（本店有：{skus}）、推广计划编号，或者说「全部」。"),
    "cmd.how_much": ("How much? For example \"to 0.8\", \"by 20%\" or \"by 0.2\" for the {what}.",
                     "调整多少？比如{what_zh}「调到 0.8」「提高 20%」或「降低 0.2」。"),
    "cmd.target_roi": ("Whole-site promotion needs a target ROI (GMV per ¥1 of spend), for example \"switch a1 to "
                       "whole-site at ROI 5\".", "全站推广需要一个目标 ROI（每花 1 元带来的成交额），比如「把 a1 切换为"
                       "全站推广，目标 ROI 5」。"),
    "cmd.queued": ("{what}: checked against your limits, it waits for your approval (proposal {id}). A change asked "
                   "for in chat never runs before you approve it in the queue.",
                   "{what}：已按你的限额检查，等你审批（提案 {id}）。"
                   "聊天里要求的改动，都要你在审批队列里批准后才执行。"),
    "cmd.queued_as": ("{what}: checked against your limits, it waits for your approval as #{n} in your queue; "
                      "say \"approve {n}\" to run it.",
                      "{what}：已按你的限额检查，在审批队列里排第 {n} 项，等你批准；回复「批准第{n}个」即可执行。"),
    "cmd.refused": ("{what}: refused by your limits — {why}. Only a change to your policy lifts a limit.",
                    "{what}：超出你的限额，不能执行——{why}。只有修改策略才能放宽限额。"),
    "cmd.nearest": ("The nearest your limits accept: {what}.", "限额内最接近的做法：{what}。"),
    "cmd.later": ("I can only ask for changes that start today: each runs as soon as you approve it. Ask again on "
                  "the day you want it.", "我只能提出从今天开始的改动：批准后立即执行。请在需要的那天再提。"),
    # The owner answering the approval queue in chat
    "decide.none_pending": ("Nothing waits for your approval right now.", "现在没有等你审批的操作。"),
    "decide.which": ("Which one? {count} wait for your approval: say \"approve 1\", \"reject 2\" or \"approve all\" "
                     "(\"what is pending?\" lists them with their numbers).",
                     "是哪一项？现在有 {count} 项等你审批：可以说「批准第1个」「拒绝第2个」或「全部批准」"
                     "（问「有什么待审批的？」可以看到编号）。"),
    "decide.no_such": ("There is no number {n}: {count} wait for your approval (\"what is pending?\" lists them).",
                       "没有第 {n} 项：现在有 {count} 项等你审批（问「有什么待审批的？」可以看到列表）。"),
    "decide.executed": ("Approved {what}: checked against your limits again and done on the platform.",
                        "已批准 {what}：再次按你的限额检查后，已在平台上执行。"),
    "decide.failed": ("Approved {what}, but it did not run: {why}", "已批准 {what}，但没有执行：{why}"),
    "decide.approved": ("Approved {what} (now {state}).", "已批准 {what}（当前状态：{state}）。"),
    "decide.rejected": ("Rejected {what}: it will not run.", "已拒绝 {what}：不会执行。"),
    "decide.failed_all": ("Nothing was decided: {why}", "没有做任何审批：{why}"),
    "decide.no_channel": ("I cannot answer the approval queue from here; use the owner page or the API.",
                          "这里没法处理审批，请在店主页面或通过 API 审批。"),
    "cmd.nothing": ("Nothing to change: that is already how it is set.", "不需要改动：现在已经是这样设置的。"),
    "cmd.daily_limit": (" · at most {daily} a day", " · 每天最多 {daily} 张"),
    "cmd.would_queue": ("{what}: within your limits; asked for, it would wait for your approval.",
                        "{what}：在你的限额之内；如果提出，会进入审批队列等你批准。"),
    "cmd.would_refuse": ("{what}: your limits would refuse it — {why}.", "{what}：会被你的限额拒绝——{why}。"),
    "cmd.how_to_ask": ("Nothing was queued. To ask for it, say it as a request rather than a question.",
                       "没有提交任何改动。要提出的话，直接说出要求（不用问句）即可。"),
    "cmd.not_queued": ("{what}: not queued — {why}", "{what}：没有进入审批队列——{why}"),
    "cmd.not_recorded": ("That change could not be asked for: {why}", "这项改动没能提交：{why}"),
    # The LLM path
    "proposal.not_submitted": ("not submitted: this chat has no approval channel, so nothing was queued",
                               "未提交：本次对话没有审批通道，没有任何操作进入队列"),
    "llm.max_rounds": ("I stopped after {rounds} rounds of tool calls without a final answer; please ask a narrower "
                       "question.", "我已调用工具 {rounds} 轮仍未得出结论，请把问题问得更具体一些。"),
}


def t(key: str, locale: Locale, **kw: object) -> str:
    """The chat string `key` in `locale`, with `kw` filled in; an unknown key or locale raises KeyError."""
    if locale not in LOCALES:
        raise KeyError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
    text = _STRINGS[key][LOCALES.index(locale)]
    return text.format(**kw) if kw else text


def keys() -> list[str]:
    """Every key, for tests that check both locales are complete."""
    return list(_STRINGS)


def message_locale(text: str, default: str = "zh-CN") -> Locale:
    """The language to answer `text` in: Chinese if it has Chinese characters, English if it has
    Latin letters, else `default` (any zh locale reads zh-CN, anything else en)."""
    if _CJK.search(text):
        return "zh-CN"
    if re.search(r"[A-Za-z]", text):
        return "en"
    return "zh-CN" if (default or "").lower().startswith("zh") else "en"
