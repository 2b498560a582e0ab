"""The policy over the API: bad policies are refused naming the field, versions only go up, who changed it is kept."""

from __future__ import annotations

import pytest

from .conftest import SHOP_A, Service


@pytest.mark.parametrize(("policy", "field", "words"), [
    ({"spend": {"daily_cap": -1}}, "policy.spend.daily_cap", "greater than 0"),
    ({"spend": {"daily_cap": 100, "sku_daily_budget_cap": 200}}, "policy.spend", "sku_daily_budget_cap"),
    ({"spend": {"max_bid": "lots"}}, "policy.spend.max_bid", "number"),
    ({"spend": {"dialy_cap": 100}}, "policy.spend.dialy_cap", "not permitted"),
    ({"discount": {"allowed_types": ["bogus"]}}, "policy.discount.allowed_types.0", "threshold"),
    ({"autonomy": {"rules": {"set_bid": {"mode": "yolo"}}}}, "policy.autonomy.rules.set_bid.mode", "auto"),
    ({"profit": {"min_net_margin": 1.5}}, "policy.profit.min_net_margin", "less than 1"),
])
def test_put_policy_refuses_a_bad_policy_naming_the_field(service: Service, policy: dict, field: str,
                                                          words: str) -> None:
    token = service.create_shop(SHOP_A, policy={})
    answer = service.http.put(f"/shops/{SHOP_A}/policy", json={"policy": policy}, headers=service.bearer(token))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid" and error["field"] == field
    assert field in error["message"] and words in error["message"]
    current = service.http.get(f"/shops/{SHOP_A}/policy", headers=service.bearer(token)).json()
    assert current["version"] == 1  # nothing stored


def test_put_policy_refuses_nan_and_bad_json_with_a_message(service: Service) -> None:
    token = service.create_shop(SHOP_A)
    headers = {**service.bearer(token), "Content-Type": "application/json"}
    nan = service.http.put(f"/shops/{SHOP_A}/policy", content='{"policy": {"spend": {"max_bid": NaN}}}',
                           headers=headers)
    assert nan.status_code == 422 and nan.json()["error"]["field"] == "policy.spend.max_bid"
    broken = service.http.put(f"/shops/{SHOP_A}/policy", content='{"policy": {', headers=headers)
    assert broken.status_code == 400
    error = broken.json()["error"]
    assert (error["code"], error["field"]) == ("bad_json", "body") and "not valid JSON" in error["message"]
    missing = service.http.put(f"/shops/{SHOP_A}/policy", json={"note": "no policy"}, headers=headers)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "policy"


def test_policy_versions_increase_and_record_who_changed_it(service: Service) -> None:
    token = service.create_shop(SHOP_A, policy={"spend": {"daily_cap": 800}}, label="amy")
    headers = service.bearer(token)
    first = service.http.get(f"/shops/{SHOP_A}/policy", headers=headers).json()
    assert (first["version"], first["changed_by"], first["policy"]["spend"]["daily_cap"]) == (1, "admin", 800)

    for cap in (900, 1000):
        body = {"policy": {"spend": {"daily_cap": cap}, "version": 99, "changed_by": "the agent"}, "note": f"cap {cap}"}
        answer = service.http.put(f"/shops/{SHOP_A}/policy", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    current = answer.json()
    assert (current["version"], current["changed_by"], current["note"]) == (3, "amy", "cap 1000")
    assert current["policy"]["spend"]["daily_cap"] == 1000 and current["policy"]["version"] == 3

    history = service.http.get(f"/shops/{SHOP_A}/policy/history", headers=headers).json()
    assert [(v["version"], v["changed_by"]) for v in history] == [(1, "admin"), (2, "amy"), (3, "amy")]
    stamps = [v["changed_at"] for v in history]
    assert stamps == sorted(stamps)

    audit = service.http.get(f"/shops/{SHOP_A}/audit", params={"event": "policy_changed"}, headers=headers).json()
    assert [(e["actor"], e["detail"]["version"]) for e in audit] == [("admin", 1), ("amy", 2), ("amy", 3)]
    assert audit[-1]["detail"]["changes"]["spend.daily_cap"] == [900, 1000]


def test_a_shop_without_a_policy_says_so(service: Service) -> None:
    token = service.create_shop(SHOP_A)
    answer = service.http.get(f"/shops/{SHOP_A}/policy", headers=service.bearer(token))
    assert answer.status_code == 404 and "PUT" in answer.json()["error"]["message"]
    run = service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token))
    assert run.status_code == 409 and run.json()["error"]["code"] == "no_policy"


def test_only_an_owner_token_changes_the_policy(service: Service) -> None:
    token = service.create_shop(SHOP_A, policy={})
    body = {"policy": {"spend": {"daily_cap": 99999, "monthly_cap": 999999}}}
    for headers in ({}, service.admin(), service.bearer("xo_not-a-token"), {"Authorization": token}):
        answer = service.http.put(f"/shops/{SHOP_A}/policy", json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    history = service.http.get(f"/shops/{SHOP_A}/policy/history", headers=service.bearer(token)).json()
    assert [v["version"] for v in history] == [1]
