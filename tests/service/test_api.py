"""End to end over HTTP, on SQLite and on PostgreSQL: the admin creates a shop, the owner sets the policy,
a run queues proposals with the guard's verdicts, the owner approves, edits and rejects them over the
API, the approved actions change the platform, and the report tells what was done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import SHOP_A, Service, ServiceFactory

# The scenario's own limits, with bids and budgets left to the owner so the run has something to ask.
POLICY = {
    "spend": {"daily_cap": 1500, "monthly_cap": 40000, "sku_daily_budget_cap": 500, "max_bid": 8.0,
              "max_bid_change_pct": 60},
    "autonomy": {"rules": {"set_bid": {"mode": "approval"}, "set_budget": {"mode": "approval"}}},
}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, make_service: ServiceFactory) -> Iterator[Service]:
    """The service on SQLite files, or on a fresh PostgreSQL database (app tables and checkpoints alike)."""
    if request.param == "sqlite":
        with make_service() as svc:
            yield svc
    else:
        url = request.getfixturevalue("pg_database")
        with make_service(database_url=url, checkpoints=url) as svc:
            yield svc


def test_owner_runs_the_shop_over_the_api(backend: Service) -> None:
    svc = backend
    token = svc.create_shop(SHOP_A, label="amy")
    owner = svc.bearer(token)

    policy = svc.http.put(f"/shops/{SHOP_A}/policy", json={"policy": POLICY, "note": "ask me about bids"},
                          headers=owner)
    assert policy.status_code == 200 and policy.json()["changed_by"] == "amy", policy.text

    started = svc.http.post(f"/shops/{SHOP_A}/runs", headers=owner)
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["status"] == "waiting_approval" and run["pending"]
    assert svc.http.post(f"/shops/{SHOP_A}/runs", headers=owner).json()["error"]["code"] == "run_exists"
    assert svc.world.changes == []  # everything waits for the owner

    queue = svc.http.get(f"/shops/{SHOP_A}/proposals", params={"state": "pending"}, headers=owner).json()
    assert {p["id"] for p in queue} == set(run["pending"])
    for p in queue:
        assert p["rationale"] and p["expected_effect"]
        verdict = p["decision"]
        assert verdict["decision"] == "needs_approval" and verdict["limit"] and verdict["message"]
        assert verdict["numbers"]["kind"] == p["kind"]
    denied = svc.http.get(f"/shops/{SHOP_A}/proposals", params={"state": "denied"}, headers=owner).json()
    for p in denied:
        assert p["decision"]["decision"] == "deny" and p["decision"]["limit"] and p["decision"]["numbers"]

    bid = next(p for p in queue if p["kind"] == "set_bid")
    approved = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/approve", headers=owner)
    assert approved.status_code == 200, approved.text
    (after,) = [p for p in approved.json()["proposals"] if p["id"] == bid["id"]]
    assert (after["state"], after["approved_by"]) == ("executed", "amy")
    (change,) = [c for c in svc.platform_admin.changes(SHOP_A) if c["target"] == bid["target"]]
    assert change["after"] == bid["action"]["bid"] and change["idempotency_key"]

    again = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/approve", headers=owner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_pending"

    budget = next(p for p in queue if p["kind"] == "set_budget")
    smaller = round(budget["action"]["current_budget"] + 5, 2)
    rest = {p["id"]: {"decision": "reject"} for p in queue if p["id"] not in (bid["id"], budget["id"])}
    bad = svc.http.post(f"/shops/{SHOP_A}/proposals/decide", headers=owner, json={"decisions": {
        **rest, budget["id"]: {"decision": "edit", "action": {"budget": -5}}}})
    assert bad.status_code == 422 and "budget" in bad.json()["error"]["field"], bad.text
    decided = svc.http.post(f"/shops/{SHOP_A}/proposals/decide", headers=owner, json={"decisions": {
        **rest, budget["id"]: {"decision": "edit", "action": {"budget": smaller}}}})
    assert decided.status_code == 200, decided.text
    assert [r["status"] for r in decided.json()["runs"]] == ["done"]
    states = {p["id"]: p["state"] for p in decided.json()["proposals"]}
    assert all(states[pid] == "rejected" for pid in rest) and states[budget["id"]] == "rejected"
    (edit,) = [p for p in decided.json()["proposals"] if p["replaces"] == budget["id"]]
    assert (edit["state"], edit["action"]["budget"], edit["proposed_by"]) == ("executed", smaller, "owner-edit")

    changes = {(c["target"], c["kind"]): c["after"] for c in svc.platform_admin.changes(SHOP_A)}
    assert changes == {(bid["target"], "campaign.bid"): bid["action"]["bid"],
                       (budget["target"], "campaign.budget"): smaller}

    detail = svc.http.get(f"/shops/{SHOP_A}/runs/{run['run_id']}", headers=owner).json()
    assert detail["status"] == "done" and {p["id"] for p in detail["proposals"]} >= set(run["pending"])
    trail = [(e["event"], e["actor"], e["proposal_id"]) for e in detail["audit"]]
    assert ("approved", "amy", bid["id"]) in trail and any(e == "executed" and p == bid["id"] for e, _, p in trail)
    assert svc.http.get(f"/shops/{SHOP_A}/runs", headers=owner).json()[0]["status"] == "done"

    _report_lists_what_was_done(svc, owner, bid, edit)
    metrics = svc.http.get("/metrics").text
    assert 'xiaoer_runs{status="done"} 1' in metrics
    assert 'xiaoer_proposals{kind="set_bid",state="executed"} 1' in metrics
    assert 'xiaoer_guard_decisions{decision="needs_approval",kind="set_bid"}' in metrics
    assert svc.world.token_for(SHOP_A) not in str([detail, queue, denied, decided.json()])


def _report_lists_what_was_done(svc: Service, owner: dict[str, str], bid: dict[str, Any],
                                edit: dict[str, Any]) -> None:
    (listed, *_) = svc.http.get(f"/shops/{SHOP_A}/reports", headers=owner).json()
    date = listed["date"]
    report = svc.http.get(f"/shops/{SHOP_A}/reports/{date}", params={"format": "json", "locale": "en"},
                          headers=owner).json()
    executed = {(a["kind"], a["target"], a["after"]) for a in report["data"]["actions"] if a["status"] == "executed"}
    assert executed == {("set_bid", bid["target"], bid["action"]["bid"]),
                        ("set_budget", edit["target"], edit["action"]["budget"])}
    markdown = svc.http.get(f"/shops/{SHOP_A}/reports/{date}", params={"locale": "en"}, headers=owner)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Executed (2)" in markdown.text and bid["target"] in markdown.text
    html = svc.http.get(f"/shops/{SHOP_A}/reports/{date}", params={"format": "html", "locale": "zh-CN"}, headers=owner)
    assert html.headers["content-type"].startswith("text/html") and bid["target"] in html.text
    missing = svc.http.get(f"/shops/{SHOP_A}/reports/1999-01-01", headers=owner)
    assert missing.status_code == 404 and "1999-01-01" in missing.json()["error"]["message"]
