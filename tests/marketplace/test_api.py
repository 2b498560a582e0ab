"""The platform API: token isolation, idempotent writes, fault injection and bad input."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from marketplace.client import PlatformClient, PlatformError, RetryPolicy

ROOT = Path(__file__).parents[2]
ALPHA = {"Authorization": "Bearer tok-alpha"}


def keyed(key: str) -> dict:
    return {**ALPHA, "Idempotency-Key": key}


# ---- tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/shops/beta"), ("GET", "/v1/shops/beta/products"), ("GET", "/v1/shops/beta/products/b1"),
    ("GET", "/v1/shops/beta/metrics"), ("GET", "/v1/shops/beta/campaigns"), ("GET", "/v1/shops/beta/coupons"),
    ("GET", "/v1/shops/beta/segments"), ("GET", "/v1/shops/beta/calendar"),
    ("GET", "/v1/shops/beta/bid-suggestions"), ("GET", "/v1/shops/beta/products/b1/price-history"),
    ("PUT", "/v1/shops/beta/campaigns/cmp-b1/bid"), ("POST", "/v1/shops/beta/coupons/cpn-beta/stop"),
])
def test_a_shop_token_sees_other_shops_as_missing(http, world, method, path) -> None:
    resp = http.request(method, path, headers=keyed("k1"), json={"bid": 2.0})
    assert resp.status_code == 404
    assert world.changes == []


def test_a_shop_cannot_reach_another_shops_sku_through_its_own_path(http) -> None:
    assert http.get("/v1/shops/alpha/products/b1", headers=ALPHA).status_code == 404
    resp = http.put("/v1/shops/alpha/campaigns/cmp-b1/bid", headers=keyed("k2"), json={"bid": 2.0})
    assert resp.status_code == 404


def test_missing_or_unknown_token_is_401_and_shop_token_is_not_admin(http) -> None:
    assert http.get("/v1/shops/alpha/products").status_code == 401
    assert http.get("/v1/shops/alpha/products", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert http.post("/v1/admin/advance", headers=ALPHA, json={"days": 1}).status_code == 403


def test_shop_list_shows_only_the_callers_shop(http) -> None:
    assert [s["id"] for s in http.get("/v1/shops", headers=ALPHA).json()] == ["alpha"]


# ---- idempotency ---------------------------------------------------------------------------

def test_a_repeated_key_returns_the_first_result_and_applies_once(http, world) -> None:
    first = http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=keyed("same"), json={"bid": 2.5})
    again = http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=keyed("same"), json={"bid": 2.5})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert [c.kind for c in world.changes] == ["campaign.bid"]
    assert world.changes[0].idempotency_key == "same"


def test_a_key_reused_for_a_different_write_is_a_conflict(http, world) -> None:
    http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=keyed("k"), json={"bid": 2.5})
    resp = http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=keyed("k"), json={"bid": 3.0})
    assert resp.status_code == 409
    assert "different request" in resp.json()["detail"]
    assert world.campaign_view(world.row("alpha", "a1"))["bid"] == 2.5


def test_a_write_that_breaks_keeps_its_500_under_its_key_and_is_never_applied_twice(world, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from marketplace.api import create_app

    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(world, "set_bid", broken)
    path, body = "/v1/shops/alpha/campaigns/cmp-a1/bid", {"bid": 2.5}
    with TestClient(create_app(world, admin_token="adm"), raise_server_exceptions=False) as http:
        first = http.put(path, headers=keyed("k-broken"), json=body)
        again = http.put(path, headers=keyed("k-broken"), json=body)  # not 409 "still in progress"
    assert first.status_code == again.status_code == 500
    assert first.json() == again.json() and "same Idempotency-Key returns this answer" in first.json()["detail"]
    assert len(calls) == 1 and world.changes == []


def test_keys_are_scoped_per_shop(http, world) -> None:
    beta = {"Authorization": "Bearer tok-beta", "Idempotency-Key": "shared"}
    assert http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=keyed("shared"), json={"bid": 2}).is_success
    assert http.put("/v1/shops/beta/campaigns/cmp-b1/bid", headers=beta, json={"bid": 2}).is_success
    assert len(world.changes) == 2


def test_writes_without_a_key_are_refused(http, world) -> None:
    resp = http.put("/v1/shops/alpha/campaigns/cmp-a1/bid", headers=ALPHA, json={"bid": 2.5})
    assert resp.status_code == 400
    assert "Idempotency-Key" in resp.json()["detail"]
    assert world.changes == []


def test_a_coupon_created_twice_with_one_key_exists_once(alpha, world) -> None:
    body = {"type": "threshold", "value": 5, "threshold": 59, "sku": "a2", "valid_days": 3}
    one, two = alpha.create_coupon(body, key="c1"), alpha.create_coupon(body, key="c1")
    assert one == two
    assert [c["id"] for c in alpha.coupons()] == [one["id"]]
    assert one["end_day"] == 2 and one["counts_toward_lowest_price"] is True


# ---- faults ----------------------------------------------------------------------------------

def test_lost_responses_are_retried_under_the_same_key_and_apply_once(alpha, admin, world) -> None:
    # Seed 3 loses 6 of the responses, never 4 in a row, so every write lands within 4 attempts.
    admin.set_faults(lost_response_rate=0.4, seed=3)
    for k, bid in enumerate([1.1, 1.2, 1.3, 1.4, 1.5]):
        assert alpha.set_bid("cmp-a1", bid, key=f"lost-{k}")["bid"] == bid
    injected = admin._s.request("GET", "/v1/admin/faults")["injected"]
    assert injected["lost_response"] > 0, "the plan must actually lose some responses"
    assert alpha.retries_made >= injected["lost_response"]
    assert [c.after for c in world.changes] == [1.1, 1.2, 1.3, 1.4, 1.5]


def test_429_waits_at_least_retry_after(alpha, admin, sleeps) -> None:
    admin.set_faults(rate_limit_rate=0.5, retry_after_s=1.5, seed=1)
    for _ in range(6):
        alpha.products()
    assert sleeps.waits, "some requests were rate limited"
    assert all(w >= 1.5 for w in sleeps.waits)


def test_errors_are_retried_then_reported_with_nothing_applied(alpha, admin, world, sleeps) -> None:
    admin.set_faults(error_rate=1.0)
    with pytest.raises(PlatformError) as err:
        alpha.set_bid("cmp-a1", 2.0, key="doomed")
    assert err.value.status == 503 and err.value.attempts == 4
    assert len(sleeps.waits) == 3 and sleeps.waits == sorted(sleeps.waits), "backoff grows"
    assert world.changes == []
    admin.clear_faults()
    assert alpha.set_bid("cmp-a1", 2.0, key="doomed")["bid"] == 2.0


def test_latency_is_added(alpha, admin) -> None:
    admin.set_faults(latency_ms=30)
    start = time.perf_counter()
    alpha.segments()
    assert time.perf_counter() - start >= 0.03


def test_fault_plans_are_validated(http) -> None:
    resp = http.put("/v1/admin/faults", headers={"Authorization": "Bearer test-admin"}, json={"error_rate": 2})
    assert resp.status_code == 422
    assert "error_rate" in resp.json()["detail"]


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("path,body,field", [
    ("/campaigns/cmp-a1/bid", {"bid": -1}, "bid"),
    ("/campaigns/cmp-a1/bid", {"bid": "high"}, "bid"),
    ("/campaigns/cmp-a1/bid", {"bid": 1, "extra": 2}, "extra"),
    ("/campaigns/cmp-a1/budget", {"budget": -5}, "budget"),
    ("/campaigns/cmp-a1/status", {"status": "on"}, "status"),
    ("/campaigns/cmp-a1/mode", {"mode": "search", "target_roi": 3}, "target_roi"),
    ("/campaigns/cmp-a1/mode", {"mode": "whole_site", "target_roi": 0.1}, "target_roi"),
])
def test_invalid_writes_get_422_naming_the_field_and_change_nothing(http, world, path, body, field) -> None:
    before = world.campaign_view(world.row("alpha", "a1"))
    resp = http.put(f"/v1/shops/alpha{path}", headers=keyed(f"bad-{path}-{body}"), json=body)
    assert resp.status_code == 422
    assert field in resp.json()["detail"]
    assert world.campaign_view(world.row("alpha", "a1")) == before
    assert world.changes == []


@pytest.mark.parametrize("body,words", [
    ({"type": "percent", "value": 150}, "less than 100"),
    ({"type": "threshold", "value": 10, "threshold": 5}, "threshold"),
    ({"type": "gift", "value": 3}, "type"),
    ({"type": "no_threshold", "value": 3, "sku": "zz"}, "zz"),
    ({"type": "no_threshold", "value": 3, "segments": ["martians"]}, "segments"),
    ({"type": "no_threshold", "value": 3, "start_day": 0, "valid_days": 0}, "valid_days"),
])
def test_invalid_coupons_are_refused_with_a_reason(http, world, body, words) -> None:
    resp = http.post("/v1/shops/alpha/coupons", headers=keyed(f"c-{body}"), json=body)
    assert resp.status_code in (404, 422)
    assert words in str(resp.json()["detail"])
    assert len(world.coupons) == 1  # only beta's scenario coupon


# ---- reads and the clock ----------------------------------------------------------------------

def test_metrics_by_source_add_up_to_metrics_by_sku(alpha, admin) -> None:
    admin.advance(3)
    by_sku = alpha.metrics(start_day=0, end_day=2)
    by_source = alpha.metrics(start_day=0, end_day=2, group="source")
    assert len(by_sku) == 3 * 2 and len(by_source) == 3 * 2 * 3
    for row in by_sku:
        parts = [r for r in by_source if r["day"] == row["day"] and r["sku"] == row["sku"]]
        assert sum(r["gmv"] for r in parts) == pytest.approx(row["gmv"], abs=0.05)
        assert sum(r["ad_spend"] for r in parts) == pytest.approx(row["ad_spend"], abs=0.05)
    assert "profit" not in by_sku[0], "profit is the merchant's sum, not something the platform reports"
    assert alpha.metrics()[-1]["day"] == 2, "default window ends yesterday"


def test_a_used_up_coupon_tells_the_day_it_ran_out_and_no_uses_after(alpha, admin) -> None:
    made = alpha.create_coupon({"type": "no_threshold", "value": 3, "quantity": 20, "valid_days": 9}, key="few")
    seen = []  # seen[d]: the coupon as listed the morning after day d
    for _ in range(5):
        admin.advance(1)
        seen.append(next(c for c in alpha.coupons() if c["id"] == made["id"]))
    ran_out = next(d for d, c in enumerate(seen) if c["status"] == "exhausted")
    assert 0 < ran_out < 4, "20 coupons last a day or more and run out within the window"
    assert [c["exhausted_day"] for c in seen] == [None] * ran_out + [ran_out] * (5 - ran_out)
    uses = [c["redeemed"] - before["redeemed"] for c, before in zip(seen, [made, *seen[:-1]], strict=True)]
    assert all(u > 0 for u in uses[:ran_out + 1])
    assert [c["redeemed_last_day"] for c in seen] == pytest.approx(uses[:ran_out + 1] + [0.0] * (4 - ran_out))


def test_the_clock_stops_at_the_horizon(admin) -> None:
    assert admin.advance(10)["finished"] is True
    with pytest.raises(PlatformError) as err:
        admin.advance(1)
    assert err.value.status == 409


def test_change_log_records_day_shop_sku_kind_before_after_key(alpha, admin) -> None:
    admin.advance(2)
    alpha.set_budget("cmp-a2", 120, key="bud")
    (change,) = admin.changes("alpha")
    assert change == {"day": 2, "date": "2026-03-04", "shop_id": "alpha", "sku": "a2", "kind": "campaign.budget",
                      "target": "cmp-a2", "before": 80.0, "after": 120.0, "idempotency_key": "bud"}
    assert admin.changes("beta") == []


# ---- as its own server ------------------------------------------------------------------------

def test_platform_serve_answers_over_a_real_socket() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XIAOER_PLATFORM_ADMIN_TOKEN": "srv-admin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xiaoer_cli", "platform", "serve", "--scenario", "scenarios/stockout.yaml",
         "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/docs", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=5) as http:
            clock = http.get("/v1/admin/clock", headers={"Authorization": "Bearer srv-admin"}).json()
            assert clock["day"] == 0
            shops = http.get("/v1/shops", headers={"Authorization": "Bearer srv-admin"}).json()
            from marketplace.scenario import load_scenario
            from marketplace.world import World
            token = World(load_scenario(ROOT / "scenarios/stockout.yaml")).token_for(shops[0]["id"])
            client = PlatformClient(http, shops[0]["id"], token, retry=RetryPolicy(attempts=1))
            assert client.products()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
