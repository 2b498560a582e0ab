"""The report's coupons: which are listed, their numbers from the platform's coupon list and metrics,
their terms in words in both languages, the "most orders use it" flag, and stored reports without them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from agent.observe import observe
from agent.report import render_html, render_json, render_markdown
from agent.report_data import CouponLine, ReportData, sample_report
from agent.reporting import coupon_lines, report_data
from marketplace.client import AdminClient, PlatformClient, in_process
from marketplace.scenario import load_scenario
from marketplace.world import World

TODAY = 10  # the platform's day when the agent runs; the report is about day 9 (2026-03-11)
EVERYONE = ["new", "dormant", "high_value", "churn_risk", "price_sensitive"]
FLAG_EN = "most orders use it; check it is not paying buyers who would buy anyway."
FLAG_ZH = "大部分订单都用了这张券，留意是不是在给本来就会买的顾客白白让利。"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _coupon(id: str, **kw: Any) -> dict[str, Any]:
    """A coupon as the platform lists it: a live ¥5-off-¥60 coupon on A1 unless told otherwise."""
    return {"id": id, "type": "threshold", "value": 5.0, "threshold": 60.0, "sku": "A1",
            "segments": ["price_sensitive"], "start_day": 3, "end_day": 12, "quantity": 20000, "per_user_limit": 1,
            "daily_limit": None, "counts_toward_lowest_price": True, "status": "live", "created_day": 3,
            "stopped_day": None, "exhausted_day": None, "redeemed": 201.0, "cost": 1005.0, "redeemed_last_day": 6.0,
            "remaining": 19799.0, **kw}


def _used_up(id: str, day: int, **kw: Any) -> dict[str, Any]:
    """A coupon used up on `day` as the platform lists it: 6 uses on the report's day if it ran out then, else
    none."""
    return _coupon(id, status="exhausted", quantity=201, remaining=0.0, exhausted_day=day,
                   redeemed_last_day=6.0 if day == TODAY - 1 else 0.0, **kw)


def _metric(day: int, sku: str, source: str, orders: float, coupon_cost: float = 0.0) -> dict[str, Any]:
    return {"day": day, "date": (dt.date(2026, 3, 2) + dt.timedelta(days=day)).isoformat(), "sku": sku,
            "source": source, "orders": orders, "units": orders, "gmv": 60.0 * orders, "coupon_cost": coupon_cost,
            "ad_spend": 0.0, "refunds": 0.0, "refund_amount": 0.0}


def _state(coupons: list[dict[str, Any]], outcomes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Day 10 of a shop with two SKUs: yesterday A1 had 10 orders and B2 5; the day before, many more orders."""
    metrics = [_metric(9, "A1", "organic", 6), _metric(9, "A1", "search", 4),
               _metric(9, "B2", "organic", 5), _metric(8, "A1", "organic", 100, 40.0),
               _metric(8, "B2", "organic", 100)]
    return {
        "shop_id": "s1", "run_id": "r1",
        "observation": {"day": TODAY, "date": "2026-03-12", "coupons": coupons, "metrics": metrics,
                        "products": [{"sku": "A1", "title": "电热水壶"}, {"sku": "B2", "title": "台灯"}]},
        "analysis": {"kpis": [{"date": "2026-03-11", "profit": 300.0, "gmv": 900.0, "orders": 15, "ad_spend": 0.0,
                               "coupon_cost": 59.0}], "roi_by_sku": [], "anomalies": []},
        "outcomes": outcomes or [],
    }


def _by_id(lines: list[CouponLine]) -> dict[str, CouponLine]:
    return {c.id: c for c in lines}


def _report(coupons: list[CouponLine]) -> ReportData:
    return sample_report().model_copy(update={"coupons": coupons})


def _section(md: str, heading: str) -> str:
    return md.split(f"## {heading}\n")[1].split("\n## ")[0]


# --- Numbers from the platform -------------------------------------------------------------------

def test_coupon_numbers_come_from_the_coupon_list_and_yesterdays_orders():
    lines = _by_id(coupon_lines(_state([
        _coupon("on-A1"),
        _coupon("shop", type="no_threshold", value=8.0, threshold=0.0, sku=None, segments=EVERYONE,
                redeemed=50.0, cost=400.0, redeemed_last_day=3.0),
        _coupon("pct-B2", type="percent", value=10.0, threshold=0.0, sku="B2", redeemed=4.0, cost=10.0,
                redeemed_last_day=2.0),
    ])))
    a1 = lines["on-A1"]
    assert (a1.used_today, a1.used, a1.quantity, a1.cost, a1.cost_today) == (6, 201, 20000, 1005.0, 30.0)
    assert a1.orders_today == 10 and a1.order_share == pytest.approx(0.6)  # A1's orders yesterday, every source
    assert a1.days_left == 3 and a1.end == dt.date(2026, 3, 14)  # days 10, 11 and 12
    assert a1.start == dt.date(2026, 3, 5) and a1.counts_toward_lowest_price
    whole_shop = lines["shop"]
    assert whole_shop.orders_today == 15 and whole_shop.order_share == pytest.approx(0.2)  # all of yesterday's
    assert whole_shop.cost_today == 24.0
    assert lines["pct-B2"].cost_today == 5.0  # at its average cost per use: ¥10 over 4 uses
    assert lines["pct-B2"].order_share == pytest.approx(0.4)


def test_lists_live_scheduled_and_just_stopped_used_up_or_ended_coupons_in_that_order():
    lines = coupon_lines(_state([
        _coupon("stopped-today", status="stopped", stopped_day=TODAY),
        _coupon("stopped-before", status="stopped", stopped_day=TODAY - 3),
        _coupon("ended-yesterday", status="expired", end_day=TODAY - 1),
        _coupon("ended-before", status="expired", end_day=TODAY - 4, redeemed_last_day=0.0),
        _used_up("used-up-yesterday", TODAY - 1),
        _used_up("used-up-before", TODAY - 3),
        _used_up("used-up-and-ended-before", TODAY - 3, end_day=TODAY - 3),
        _coupon("scheduled", status="scheduled", start_day=12, end_day=18, redeemed=0.0, cost=0.0,
                redeemed_last_day=0.0),
        _coupon("live"),
    ]))
    assert [(c.id, c.status) for c in lines] == [
        ("live", "live"), ("scheduled", "scheduled"), ("stopped-today", "stopped"),
        ("used-up-yesterday", "used_up"), ("ended-yesterday", "ended")]
    by_id = _by_id(lines)
    assert by_id["scheduled"].days_left == 9 and by_id["scheduled"].start == dt.date(2026, 3, 14)
    assert by_id["scheduled"].order_share is None  # it did not run yesterday
    assert by_id["stopped-today"].days_left is None and by_id["ended-yesterday"].days_left is None
    assert by_id["ended-yesterday"].used_today == 6  # its last day was the report's day
    used_up = by_id["used-up-yesterday"]
    assert (used_up.used_today, used_up.used, used_up.quantity, used_up.cost_today) == (6, 201, 201, 30.0)
    assert used_up.days_left is None and used_up.orders_today == 10 and not used_up.mostly_used


def test_a_used_up_coupon_is_listed_only_on_the_day_it_ran_out():
    # The platform says on which day a coupon ran out; the report is about yesterday, TODAY - 1.
    assert [(c.id, c.status) for c in coupon_lines(_state([_used_up("c", TODAY - 1)]))] == [("c", "used_up")]
    assert coupon_lines(_state([_used_up("c", TODAY - 2)])) == []
    assert coupon_lines(_state([_used_up("c", TODAY - 2) | {"redeemed_last_day": 9.0}])) == [], \
        "the day it ran out decides, not whether it shows uses"
    last_day = _used_up("c", TODAY - 1, end_day=TODAY - 1)
    assert [(c.id, c.status) for c in coupon_lines(_state([last_day]))] == [("c", "used_up")], "listed once"
    stored = {k: v for k, v in _used_up("c", TODAY - 1).items() if k != "exhausted_day"}
    assert coupon_lines(_state([stored])) == [], "an observation stored before the platform told the day"


def test_a_coupon_that_ran_out_on_the_platform_is_listed_that_day_only():
    # A whole-shop coupon of 50 runs out within days; another starts on day 2 and runs on after it.
    scenario = load_scenario(Path(__file__).parents[2] / "scenarios/loyal_buyers.yaml")
    shop = scenario.shops[0]
    shop = shop.model_copy(update={"coupons": [shop.coupons[0].model_copy(update={"quantity": 50})]})
    world = World(scenario.model_copy(update={"shops": [shop]}))
    with in_process(world, admin_token="adm") as http:
        client = PlatformClient(http, shop.id, world.token_for(shop.id))
        client.create_coupon({"type": "no_threshold", "value": 5, "start_day": 2, "quantity": 5000,
                              "valid_days": 20}, key="later")
        reports = []
        for _ in range(8):
            AdminClient(http, "adm").advance(1)
            obs = observe(client)
            reports.append((obs, _by_id(coupon_lines({"observation": obs}))))
    run_out = [(obs, lines) for obs, lines in reports if "broad-8" in lines and lines["broad-8"].status == "used_up"]
    assert len(run_out) == 1, [sorted(lines) for _, lines in reports]
    obs, lines = run_out[0]
    assert obs["day"] - 1 == world.coupon(shop.id, "broad-8").exhausted_day, "listed on the day it ran out"
    before = [lines for o, lines in reports if o["day"] < obs["day"]]
    assert before and all(lines["broad-8"].status == "live" for lines in before)
    day = world.shop_days[shop.id][obs["day"] - 1]
    line = lines["broad-8"]
    assert line.used == line.quantity == 50 and line.used_today > 0
    others = sum(c.cost_today for c in lines.values() if c is not line)
    assert line.cost_today == pytest.approx(day.coupon_cost - others, abs=0.05)
    assert line.orders_today == pytest.approx(day.orders, abs=0.05)  # a whole-shop coupon: all the day's orders
    later = [lines for o, lines in reports if o["day"] > obs["day"]]
    assert later and all("broad-8" not in lines for lines in later)
    assert any(c.used_today > 0 for lines in later for c in lines.values()), "the other coupon's cost came in"


def test_no_orders_yesterday_on_its_sku_shows_a_dash():
    (line,) = coupon_lines(_state([_coupon("c", sku="C3")]))
    assert line.orders_today == 0 and line.order_share is None
    assert "| — |" in render_markdown(_report([line]), "en")


def test_this_mornings_coupon_actions_show_in_the_list():
    created = _coupon("new", start_day=TODAY, end_day=TODAY + 6, redeemed=0.0, cost=0.0, redeemed_last_day=0.0,
                      created_day=TODAY)
    stopped = _coupon("old", status="stopped", stopped_day=TODAY)
    outcomes = [
        {"status": "executed", "action": {"kind": "create_coupon"}, "result": created},
        {"status": "executed", "action": {"kind": "stop_coupon", "coupon_id": "old"}, "result": stopped},
        {"status": "denied", "action": {"kind": "stop_coupon", "coupon_id": "kept"}},
    ]
    lines = _by_id(coupon_lines(_state([_coupon("old"), _coupon("kept")], outcomes)))
    assert lines["old"].status == "stopped" and lines["kept"].status == "live"
    assert lines["new"].status == "live" and lines["new"].days_left == 7
    assert lines["new"].order_share is None  # it starts today: no orders of yesterday to share


def test_report_data_carries_the_coupons():
    data = report_data(_state([_coupon("on-A1")]), "Shop", "en")
    assert data is not None and [c.id for c in data.coupons] == ["on-A1"]
    assert data.coupons[0].order_share == pytest.approx(0.6)


def test_numbers_match_the_platform():
    # Against the real coupon list and metrics: on the first day the broad coupon paid for most orders.
    scenario = load_scenario(Path(__file__).parents[2] / "scenarios/loyal_buyers.yaml")
    world = World(scenario)
    shop = scenario.shops[0]
    with in_process(world, admin_token="adm") as http:
        AdminClient(http, "adm").advance(1)
        obs = observe(PlatformClient(http, shop.id, world.token_for(shop.id)))
    (line,) = coupon_lines({"observation": obs})
    day = world.shop_days[shop.id][0]
    assert line.id == "broad-8" and line.sku is None and line.status == "live"
    assert line.orders_today == pytest.approx(day.orders, abs=0.05)
    assert line.cost_today == pytest.approx(day.coupon_cost, abs=0.05)
    assert line.days_left == 27 and line.order_share is not None and line.order_share > 0.5


# --- Rendering ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("coupon", "en", "zh"), [
    ({}, "¥5 off ¥60 · A1 · price-sensitive", "满60减5 · A1 · 价格敏感客"),
    ({"type": "percent", "value": 10.0, "threshold": 0.0}, "10% off · A1", "9折 · A1"),
    ({"type": "percent", "value": 15.0, "threshold": 99.0}, "15% off orders of ¥99+", "满99享8.5折"),
    ({"type": "no_threshold", "value": 8.0, "threshold": 0.0, "sku": None, "segments": EVERYONE},
     "¥8 off, no minimum · whole shop · everyone", "无门槛减8 · 全店 · 所有买家"),
    ({"type": "share", "value": 3.0, "threshold": 0.0}, "¥3 off for sharing", "分享券减3"),
    ({"segments": [s for s in EVERYONE if s != "high_value"]}, "A1 · everyone but high-value",
     "A1 · 除高价值客外的所有买家"),
    ({"type": "follow", "value": 2.0, "threshold": 30.0, "segments": ["new", "dormant"]},
     "¥2 off ¥30 for following the shop · A1 · new, dormant", "关注店铺券满30减2 · A1 · 新客、沉睡客"),
])
def test_terms_in_words_in_both_languages(coupon, en, zh):
    lines = coupon_lines(_state([_coupon("c", **coupon)]))
    for render in (render_markdown, render_html):
        assert en in render(_report(lines), "en")
        assert zh in render(_report(lines), "zh-CN")


def test_section_shows_every_figure_after_roi_by_sku():
    lines = coupon_lines(_state([_coupon("on-A1"), _coupon("soon", status="scheduled", start_day=12)]))
    md = render_markdown(_report(lines), "en")
    assert md.index("## ROI by SKU") < md.index("## Coupons") < md.index("## What I did")
    row = next(line for line in _section(md, "Coupons").splitlines() if "(on-A1)" in line)
    assert row.split(" | ")[1:] == ["6", "201 / 20,000", "¥30.00", "¥1,005.00", "60.0%", "3 · to 03-14", "counts |"]
    assert "starts 03-14" in md
    zh = render_markdown(_report(lines), "zh-CN")
    assert zh.index("## 各商品 ROI") < zh.index("## 优惠券") < zh.index("## 我做了什么")
    assert "3 天 · 至 03-14" in zh and "03-14 开始" in zh and "| 计入 |" in zh


def test_a_coupon_that_ran_out_is_marked_so_with_its_cost_and_orders():
    data = _report(coupon_lines(_state([_used_up("gone", TODAY - 1)])))
    for locale, mark in (("en", "run out"), ("zh-CN", "已用完")):
        md = render_markdown(data, locale)
        (row,) = [line for line in md.splitlines() if "gone" in line]
        assert f"A1 · {'price-sensitive' if locale == 'en' else '价格敏感客'} · **{mark}**" in row
        assert row.split(" | ")[1:] == ["6", "201 / 201", "¥30.00", "¥1,005.00", "60.0%", "—",
                                        "counts |" if locale == "en" else "计入 |"]
        html = render_html(data, locale)
        cells = html.split('<table class="coupons">')[1].split("</table>")[0]
        assert f'<span class="tag">{mark}</span>' in cells and "¥30.00" in cells and "60.0%" in cells
    (stored,) = render_json(data)["coupons"]
    assert (stored["status"], stored["cost_today"], stored["orders_today"], stored["used_today"]) == \
        ("used_up", 30.0, 10.0, 6.0)
    assert ReportData.model_validate(render_json(data)) == data


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_every_coupon_string_is_translated(render):
    coupons = [_coupon("c1", type=kind, value=value, threshold=threshold, status=status, stopped_day=TODAY,
                       exhausted_day=TODAY - 1, start_day=12 if status == "scheduled" else 3,
                       end_day=TODAY - 1 if status == "expired" else 12, segments=segments,
                       counts_toward_lowest_price=counts, redeemed_last_day=9.0)
               for kind, value, threshold, status, segments, counts in (
                   ("threshold", 5.0, 60.0, "live", ["price_sensitive", "high_value"], True),
                   ("percent", 10.0, 0.0, "live", ["new", "dormant", "churn_risk"], True),
                   ("percent", 10.0, 50.0, "scheduled", EVERYONE, True),
                   ("no_threshold", 8.0, 0.0, "stopped", EVERYONE, True),
                   ("share", 3.0, 0.0, "expired", EVERYONE[:2] + EVERYONE[3:], False),
                   ("threshold", 5.0, 60.0, "exhausted", ["dormant"], True),
                   ("share", 3.0, 40.0, "live", ["new"], False),
                   ("follow", 2.0, 0.0, "live", ["new"], False),
                   ("follow", 2.0, 30.0, "live", ["new"], False))]
    for i, c in enumerate(coupons):
        c["id"] = f"Q{i}"
    lines = coupon_lines(_state(coupons))  # every coupon listed
    assert {c.status for c in lines} == {"live", "scheduled", "stopped", "used_up", "ended"}
    zh, en = render(_report(lines), "zh-CN"), render(_report(lines), "en")
    section = (lambda text, heading: _section(text, heading)) if render is render_markdown else \
        (lambda text, _: text.split('<table class="coupons">')[1].split("</section>")[0])
    zh_section, en_section = section(zh, "优惠券"), section(en, "Coupons")
    words = re.sub(r"<[^>]+>|&[a-z]+;|\bQ\d\b|\bA1\b|\d\d-\d\d", " ", zh_section)
    assert not re.search(r"[A-Za-z]{2,}", words), words  # nothing left in English
    assert not CJK.search(en_section)
    assert FLAG_ZH in zh and "≈" in zh  # a flagged coupon and an estimated cost, in Chinese


def test_most_orders_use_it_is_flagged_only_above_one_half():
    at_half, above = (_coupon("half", redeemed_last_day=5.0), _coupon("above", redeemed_last_day=5.1))
    lines = _by_id(coupon_lines(_state([at_half, above])))
    assert not lines["half"].mostly_used and lines["above"].mostly_used
    data = _report(list(lines.values()))
    md, zh, html = render_markdown(data, "en"), render_markdown(data, "zh-CN"), render_html(data, "en")
    assert md.count(FLAG_EN) == 1 and zh.count(FLAG_ZH) == 1 and html.count(FLAG_EN) == 1
    assert f"**¥5 off ¥60 · A1 · price-sensitive** (above): {FLAG_EN}" in md
    quiet = _report([lines["half"]])
    assert FLAG_EN not in render_markdown(quiet, "en") + render_html(quiet, "en")
    assert FLAG_ZH not in render_markdown(quiet, "zh-CN") + render_html(quiet, "zh-CN")


def test_a_stopped_coupon_is_not_flagged():
    (line,) = coupon_lines(_state([_coupon("c", status="stopped", stopped_day=TODAY, redeemed_last_day=9.0)]))
    assert line.order_share == pytest.approx(0.9) and not line.mostly_used
    assert FLAG_EN not in render_markdown(_report([line]), "en")


def test_percent_coupon_cost_today_is_marked_as_estimated():
    lines = coupon_lines(_state([_coupon("pct", type="percent", value=10.0, threshold=0.0, redeemed=4.0, cost=10.0,
                                         redeemed_last_day=2.0)]))
    md = render_markdown(_report(lines), "en")
    assert "≈¥5.00" in md and "estimated from its average cost per use" in md
    fixed = render_markdown(_report(coupon_lines(_state([_coupon("c")]))), "en")
    assert "≈" not in fixed and "estimated" not in fixed


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_a_shop_without_coupons_says_so(render):
    data = _report([])
    assert "No coupons are live or scheduled." in render(data, "en")
    assert "店铺目前没有生效中或待开始的优惠券。" in render(data, "zh-CN")
    assert "Share of orders" not in render(data, "en")


def test_coupon_ids_and_skus_are_rendered_as_text():
    data = _report(coupon_lines(_state([_coupon("<b>x</b> | y", sku="<i>z</i>", redeemed_last_day=0.0)])))
    html = render_html(data, "en")
    table = html.split('<table class="coupons">')[1].split("</table>")[0]
    assert "<b>" not in table and "&lt;b&gt;x&lt;/b&gt;" in table and "&lt;i&gt;z&lt;/i&gt;" in table
    assert html.count('<div class="table-wrap">') == 2 and 'class="num' in table  # styled like the ROI table
    section = _section(render_markdown(data, "en"), "Coupons")
    assert not re.search(r"(?<!\\)[<>]", section)
    row = next(line for line in section.splitlines() if "x" in line)
    assert row.count(" | ") == 7  # the "|" in the id adds no cell


# --- Stored reports -----------------------------------------------------------------------------

def test_a_report_stored_before_coupons_still_loads_and_renders():
    payload = render_json(sample_report())
    del payload["coupons"]
    old = ReportData.model_validate(payload)
    assert old.coupons == []
    assert "No coupons are live or scheduled." in render_markdown(old, "en")


def test_a_stored_report_with_coupons_reads_back_the_same():
    data = sample_report()
    payload = render_json(data)
    assert payload["coupons"][0]["order_share"] == pytest.approx(22 / 30)  # derived, for readers of the JSON
    assert ReportData.model_validate(payload) == data
