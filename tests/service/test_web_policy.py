"""The owner page's policy forms over plain HTTP: the pause button (the kill switch) and the limits form save a new
policy version as the owner, a run while paused executes nothing, bad values are refused by field in the page's
language with nothing saved, and forms from elsewhere or another shop's owner change nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import SHOP_A, SHOP_B, Service
from .test_web_chat import sign_in

LIMITS = ("spend.daily_cap", "spend.monthly_cap", "spend.max_bid", "spend.sku_daily_budget_cap",
          "discount.max_face_value", "discount.max_discount_pct", "discount.daily_budget", "discount.weekly_budget",
          "profit.min_net_margin", "autonomy.approval_expiry_hours")


@pytest.fixture
def owner(service: Service) -> tuple[str, str]:
    """Shop A with the default policy, its owner "amy" signed in on the page: (owner token, form token)."""
    token = service.create_shop(SHOP_A, policy={})
    return token, sign_in(service, token)


def history(svc: Service, token: str, shop_id: str = SHOP_A) -> list[dict[str, Any]]:
    answer = svc.http.get(f"/shops/{shop_id}/policy/history", headers=svc.bearer(token))
    assert answer.status_code == 200, answer.text
    return answer.json()


def pause(svc: Service, csrf: str | None, value: str = "1", **headers: str) -> Any:
    form = {"pause": value, "lang": "en", **({"csrf": csrf} if csrf is not None else {})}
    return svc.http.post("/policy/kill", data=form, headers=headers)


def limits_form(svc: Service, token: str) -> dict[str, str]:
    """The limits form as the page fills it, read from the page."""
    page = svc.http.get("/?lang=en")
    form = re.search(r'<form method="post" action="/policy/limits".*?</form>', page.text, re.S)
    assert form, "the policy section has the limits form"
    fields = dict(re.findall(r'name="([\w.]+)" type="text"[^>]*value="([^"]*)"', form.group(0)))
    assert sorted(fields) == sorted(LIMITS)
    return {**fields, "csrf": re.search(r'name="csrf" value="(\w+)"', form.group(0)).group(1), "lang": "en"}


def test_pause_saves_a_version_with_the_kill_switch_on_and_a_run_then_executes_nothing(service: Service,
                                                                                         owner) -> None:
    token, csrf = owner
    assert "Pause Xiaoer" in service.http.get("/?lang=en").text
    page = pause(service, csrf)
    assert page.status_code == 200 and "Paused: nothing will be executed until you resume." in page.text
    assert 'id="paused-banner"' in page.text and ">Resume</button>" in page.text
    latest = history(service, token)[-1]
    assert latest["version"] == 2 and latest["policy"]["autonomy"]["kill_switch"] is True
    assert latest["changed_by"] == "amy" and latest["note"] == "kill switch from the owner page"
    assert "Version 2, set by amy" in page.text

    changes = service.platform_admin.changes()
    ran = service.http.post("/run", data={"csrf": csrf, "lang": "en"})
    assert ran.status_code == 200 and "Today&#39;s run is done." in ran.text, ran.text[:300]
    proposals = service.http.get(f"/shops/{SHOP_A}/proposals", headers=service.bearer(token)).json()
    assert proposals, "the run proposed something"
    assert {(p["state"], p["decision"]["limit"]) for p in proposals} == {("denied", "autonomy.kill_switch")}
    assert service.platform_admin.changes() == changes, "nothing reached the platform"

    resumed = pause(service, csrf, "0")
    assert "Resumed: actions inside your limits may run again." in resumed.text
    assert 'id="paused-banner"' not in resumed.text and "Pause Xiaoer" in resumed.text
    latest = history(service, token)[-1]
    assert latest["version"] == 3 and latest["policy"]["autonomy"]["kill_switch"] is False
    pause(service, csrf, "0")  # a second tap on a stale page: already running, nothing to save
    assert len(history(service, token)) == 3


def test_pause_says_so_in_chinese(service: Service, owner) -> None:
    _, csrf = owner
    page = service.http.post("/policy/kill", data={"csrf": csrf, "lang": "zh-CN", "pause": "1"})
    assert "店小二已暂停：在你恢复之前，任何操作都不会执行。" in page.text and ">恢复</button>" in page.text
    resumed = service.http.post("/policy/kill", data={"csrf": csrf, "lang": "zh-CN", "pause": "0"})
    assert "已恢复" in resumed.text and ">暂停店小二</button>" in resumed.text


@pytest.mark.parametrize("path", ["/policy/kill", "/policy/limits"])
@pytest.mark.parametrize("csrf, headers", [
    (None, {}),  # no form token
    ("0" * 64, {}),  # a wrong one
    ("right", {"Origin": "http://evil.test"}),  # the right one, from another site
], ids=["missing-token", "wrong-token", "cross-origin"])
def test_policy_forms_refuse_what_did_not_come_from_the_page(service: Service, owner, path, csrf, headers) -> None:
    token, right = owner
    form = {**limits_form(service, token), "pause": "1", "spend.daily_cap": "600"}
    form.pop("csrf")
    if csrf is not None:
        form["csrf"] = right if csrf == "right" else csrf
    answer = service.http.post(path, data=form, headers=headers)
    assert answer.status_code == 403 and "The form was stale" in answer.text
    assert len(history(service, token)) == 1, "nothing saved"


def test_policy_forms_without_the_cookie_go_to_sign_in(service: Service, owner) -> None:
    token, csrf = owner
    service.http.cookies.clear()
    answer = service.http.post("/policy/kill", data={"csrf": csrf, "pause": "1"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert len(history(service, token)) == 1


@pytest.mark.parametrize("path", ["/logout", "/decide", "/decide-all", "/run", "/policy/kill", "/policy/limits"])
def test_every_owner_form_checks_the_form_token_and_the_cookie_before_acting(service: Service, owner, path) -> None:
    token, csrf = owner
    form = {"lang": "zh-CN", "decision": "reject", "proposal_id": "p1", "pause": "1"}
    refused = service.http.post(path, data={**form, "csrf": "0" * 64})
    assert refused.status_code == 403 and "表单已过期，请重试。" in refused.text
    assert "chat-form" in service.http.get("/").text, "still signed in: logout refused too"
    service.http.cookies.clear()
    answer = service.http.post(path, data={**form, "csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/?lang=zh-CN"
    assert len(history(service, token)) == 1, "nothing saved"
    assert service.http.get(f"/shops/{SHOP_A}/runs", headers=service.bearer(token)).json() == [], "nothing ran"


def test_limits_form_saves_the_values_as_entered_as_the_next_version(service: Service, owner) -> None:
    token, _ = owner
    before = history(service, token)[-1]["policy"]
    form = limits_form(service, token)
    assert form["profit.min_net_margin"] == "10" and form["spend.daily_cap"] == "500"  # the margin as a percent
    form.update({"spend.daily_cap": "800", "spend.monthly_cap": "20000", "spend.max_bid": "3.5",
                 "discount.max_discount_pct": "25", "profit.min_net_margin": "12.5",
                 "autonomy.approval_expiry_hours": "48"})
    page = service.http.post("/policy/limits", data=form)
    assert page.status_code == 200 and "Your new limits are saved" in page.text
    latest = history(service, token)[-1]
    assert latest["version"] == 2 and latest["changed_by"] == "amy" and latest["note"] == "limits from the owner page"
    policy = latest["policy"]
    spend = policy["spend"]
    assert (spend["daily_cap"], spend["monthly_cap"], spend["max_bid"]) == (800, 20000, 3.5)
    assert policy["discount"]["max_discount_pct"] == 25 and policy["autonomy"]["approval_expiry_hours"] == 48
    assert policy["profit"]["min_net_margin"] == 0.125
    assert policy["discount"]["allowed_types"] == before["discount"]["allowed_types"]  # what the form lacks is kept
    assert policy["autonomy"]["rules"] == before["autonomy"]["rules"]
    assert "at most ¥800 a day on ads" in page.text and "at least 12.5% of what buyers pay" in page.text
    assert "Version 2, set by amy" in page.text
    assert limits_form(service, token)["profit.min_net_margin"] == "12.5"

    again = service.http.post("/policy/limits", data=limits_form(service, token))
    assert "Nothing to save" in again.text and len(history(service, token)) == 2


@pytest.mark.parametrize("changes, field, reason", [
    ({"spend.daily_cap": "-5"}, "spend.daily_cap", "Daily ad spend cap: must be more than ¥0"),
    ({"spend.daily_cap": "13000"}, "spend.daily_cap", "Daily ad spend cap: cannot be above Monthly ad spend cap "
                                                      "(¥12,000)"),
    ({"discount.max_discount_pct": "150"}, "discount.max_discount_pct",
     "Largest coupon discount: cannot be more than 100%"),
    ({"profit.min_net_margin": "120"}, "profit.min_net_margin", "Minimum net margin: must be below 100%"),
    ({"discount.max_face_value": "-1"}, "discount.max_face_value", "Largest coupon face value: cannot be negative"),
    ({"spend.max_bid": "abc"}, "spend.max_bid", "Highest bid: “abc” is not a number"),
    ({"autonomy.approval_expiry_hours": ""}, "autonomy.approval_expiry_hours",
     "Approval expiry: is empty; enter a number"),
    ({"spend.max_bid": "nan"}, "spend.max_bid", "Highest bid: must be a finite number"),
], ids=["negative", "daily-above-monthly", "pct-over-100", "margin-over-100", "negative-face-value", "not-a-number",
        "empty", "nan"])
def test_limits_form_refuses_a_bad_value_by_field_and_saves_nothing(service: Service, owner, changes, field,
                                                                    reason) -> None:
    token, _ = owner
    form = {**limits_form(service, token), "discount.daily_budget": "123", **changes}
    page = service.http.post("/policy/limits", data=form)
    assert page.status_code == 400
    assert re.search(r'role="alert">Nothing was saved: [^<]*' + re.escape(reason), page.text), page.text[:3000]
    field_id = "limit-" + field.replace(".", "-")
    assert re.search(rf'id="{field_id}" name="{re.escape(field)}" [^>]*value="{re.escape(form[field])}" '
                     rf'aria-invalid="true"', page.text), "the owner's value is kept and marked"
    assert f'id="{field_id}-problem">{reason}' in page.text
    assert 'name="discount.daily_budget" type="text" inputmode="decimal" autocomplete="off" value="123"' in page.text, \
        "the other values typed are kept too"
    assert 'id="edit-limits" open' in page.text
    assert len(history(service, token)) == 1, "nothing saved"


def test_limits_form_explains_in_chinese(service: Service, owner) -> None:
    token, _ = owner
    form = {**limits_form(service, token), "lang": "zh-CN", "spend.daily_cap": "-5", "profit.min_net_margin": "百"}
    page = service.http.post("/policy/limits", data=form)
    assert page.status_code == 400
    assert "没有保存：每日广告花费上限：必须大于 ¥0；最低净利率：“百”不是数字。" in page.text
    assert len(history(service, token)) == 1


def test_another_shops_owner_changes_only_their_own_policy(service: Service, owner) -> None:
    token_a, csrf_a = owner
    token_b = service.create_shop(SHOP_B, policy={}, label="bob")
    service.http.cookies.clear()
    csrf_b = sign_in(service, token_b)
    assert pause(service, csrf_a).status_code == 403, "shop A's form token does not work in B's browser"
    forged = service.http.post("/policy/kill", data={"csrf": csrf_b, "pause": "1", "shop_id": SHOP_A})
    assert forged.status_code == 200
    form = {**limits_form(service, token_b), "spend.daily_cap": "400", "shop_id": SHOP_A}
    assert service.http.post("/policy/limits", data=form).status_code == 200
    assert len(history(service, token_a)) == 1, "shop A's policy is untouched"
    b = history(service, token_b, SHOP_B)
    assert [v["changed_by"] for v in b[1:]] == ["bob", "bob"] and b[-1]["policy"]["spend"]["daily_cap"] == 400
    assert b[-1]["policy"]["autonomy"]["kill_switch"] is True
    cross = service.http.get(f"/shops/{SHOP_A}/policy/history", headers=service.bearer(token_b))
    assert cross.status_code in (403, 404)
