"""One wording for actions and coupons, in both languages, wherever the owner meets them."""

import pytest

from agent.wording import change_text, coupon_discount, coupon_terms, money

COUPON = {"kind": "create_coupon", "type": "threshold", "value": 5.0, "threshold": 60.0, "sku": "a1",
          "segments": ["price_sensitive", "dormant"], "start_day": 3, "end_day": 9}


@pytest.mark.parametrize(("action", "en", "zh"), [
    ({"kind": "set_bid", "bid": 0.8, "current_bid": 0.6}, "¥0.60 → ¥0.80", "¥0.60 → ¥0.80"),
    ({"kind": "set_budget", "budget": 1200.0, "current_budget": 900.0}, "¥900.00 → ¥1,200.00",
     "¥900.00 → ¥1,200.00"),
    ({"kind": "set_campaign_status", "status": "paused", "current_status": "active"}, "running → paused",
     "投放中 → 已暂停"),
    ({"kind": "set_campaign_mode", "mode": "whole_site", "target_roi": 4.5, "current_mode": "search"},
     "search ads → whole-site, target ROI 4.5", "搜索推广 → 全站推广，目标 ROI 4.5"),
    ({"kind": "stop_coupon", "coupon_id": "c-1"}, "live → stopped", "生效中 → 已停用"),
    (COUPON, "¥5 off ¥60 · price-sensitive, dormant · 7 days", "满60减5 · 价格敏感客、沉睡客 · 7 天"),
])
def test_every_action_kind_reads_as_words_in_both_languages(action: dict, en: str, zh: str) -> None:
    assert change_text(action, "en") == en
    assert change_text(action, "zh-CN") == zh


@pytest.mark.parametrize(("coupon", "en", "zh"), [
    (("percent", 15, 0), "15% off", "8.5折"),
    (("percent", 10, 99), "10% off orders of ¥99+", "满99享9折"),
    (("no_threshold", 3, 0), "¥3 off, no minimum", "无门槛减3"),
    (("threshold", 3, 0), "¥3 off, no minimum", "无门槛减3"),  # a threshold coupon without a threshold
    (("follow", 2, 30), "¥2 off ¥30 for following the shop", "关注店铺券满30减2"),
])
def test_a_coupon_discount_reads_as_owners_say_it(coupon: tuple, en: str, zh: str) -> None:
    assert coupon_discount(*coupon, "en") == en
    assert coupon_discount(*coupon, "zh-CN") == zh


def test_coupon_terms_name_the_sku_or_the_whole_shop_and_whom_it_targets() -> None:
    everyone = ["new", "dormant", "high_value", "churn_risk", "price_sensitive"]
    assert coupon_terms("threshold", 5, 60, None, everyone, "en") == "¥5 off ¥60 · whole shop · everyone"
    assert coupon_terms("threshold", 5, 60, "a1", [s for s in everyone if s != "high_value"], "zh-CN") == \
        "满60减5 · a1 · 除高价值客外的所有买家"
    assert money(-3.5) == "\u2212¥3.50" and money(None) == "—"
