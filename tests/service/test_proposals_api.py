"""The approval routes one by one: approve, reject, edit, and what they refuse (expired, answered, malformed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import update

from agent import storage
from agent.storage import Proposal

from .conftest import SHOP_A, Service
from .test_api import POLICY


@pytest.fixture
def queue(service: Service) -> Iterator[tuple[Service, dict[str, str], dict[str, dict[str, Any]]]]:
    """Shop A after a run that asks about every bid and budget: owner headers, pending proposals by kind."""
    token = service.create_shop(SHOP_A, policy=POLICY, label="amy")
    owner = service.bearer(token)
    assert service.http.post(f"/shops/{SHOP_A}/runs", headers=owner).status_code == 201
    pending = service.http.get(f"/shops/{SHOP_A}/proposals", params={"state": "pending"}, headers=owner).json()
    yield service, owner, {p["kind"]: p for p in pending}


def test_reject_then_approve_refused(queue: tuple[Service, dict[str, str], dict[str, Any]]) -> None:
    svc, owner, by_kind = queue
    bid = by_kind["set_bid"]
    rejected = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/reject", headers=owner)
    assert rejected.status_code == 200 and rejected.json()["proposals"][0]["state"] == "rejected"
    late = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/approve", headers=owner)
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_pending"
    assert svc.world.changes == []


def test_edit_is_guarded_again_and_executes_the_edited_value(queue: tuple[Service, dict[str, str], Any]) -> None:
    svc, owner, by_kind = queue
    bid = by_kind["set_bid"]
    too_high = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/edit", json={"bid": 50.0}, headers=owner)
    assert too_high.status_code == 200, too_high.text  # accepted as an answer, refused by the guard
    (edit,) = [p for p in too_high.json()["proposals"] if p["replaces"] == bid["id"]]
    assert edit["state"] == "denied" and edit["decision"]["decision"] == "deny" and edit["decision"]["limit"]
    assert svc.world.changes == []

    budget = by_kind["set_budget"]
    wrong_target = svc.http.post(f"/shops/{SHOP_A}/proposals/{budget['id']}/edit",
                                 json={"campaign_id": "cmp-elsewhere", "budget": 20}, headers=owner)
    assert wrong_target.status_code == 422 and wrong_target.json()["error"]["field"].endswith("campaign_id")
    empty = svc.http.post(f"/shops/{SHOP_A}/proposals/{budget['id']}/edit", json={}, headers=owner)
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "body"  # the body is the action
    value = round(budget["action"]["current_budget"] + 1, 2)
    fine = svc.http.post(f"/shops/{SHOP_A}/proposals/{budget['id']}/edit", json={"budget": value}, headers=owner)
    (edit,) = [p for p in fine.json()["proposals"] if p["replaces"] == budget["id"]]
    assert (edit["state"], edit["approved_by"]) == ("executed", "amy")
    assert [(c.target, c.after) for c in svc.world.changes] == [(budget["target"], value)]


def test_an_expired_proposal_answers_410_and_never_executes(queue: tuple[Service, dict[str, str], Any]) -> None:
    svc, owner, by_kind = queue
    bid = by_kind["set_bid"]
    with storage.session_scope(svc.engine) as session:
        session.exec(update(Proposal).where(Proposal.id == bid["id"])
                     .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    answer = svc.http.post(f"/shops/{SHOP_A}/proposals/{bid['id']}/approve", headers=owner)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == "expired"
    assert svc.world.changes == []


def test_decide_checks_every_answer_before_applying_any(queue: tuple[Service, dict[str, str], Any]) -> None:
    svc, owner, by_kind = queue
    bid, budget = by_kind["set_bid"], by_kind["set_budget"]
    cases = [
        ({budget["id"]: {"decision": "approve"}, "no-such-id": {"decision": "approve"}}, 404, "decisions.no-such-id"),
        ({bid["id"]: {"decision": "edit"}}, 422, f"decisions.{bid['id']}"),
        ({bid["id"]: {"decision": "approve", "action": {"bid": 1}}}, 422, f"decisions.{bid['id']}"),
        ({bid["id"]: {"decision": "maybe"}}, 422, f"decisions.{bid['id']}.decision"),
        ({}, 422, "decisions"),
    ]
    for decisions, status, field in cases:
        answer = svc.http.post(f"/shops/{SHOP_A}/proposals/decide", json={"decisions": decisions}, headers=owner)
        assert (answer.status_code, answer.json()["error"]["field"]) == (status, field), answer.text
    pending = svc.http.get(f"/shops/{SHOP_A}/proposals", params={"state": "pending"}, headers=owner).json()
    assert {p["id"] for p in pending} >= {bid["id"], budget["id"]} and svc.world.changes == []


def test_lists_filter_by_state_run_and_time(queue: tuple[Service, dict[str, str], Any]) -> None:
    svc, owner, by_kind = queue
    run_id = by_kind["set_bid"]["run_id"]
    everything = svc.http.get(f"/shops/{SHOP_A}/proposals", params={"run_id": run_id}, headers=owner).json()
    assert {p["state"] for p in everything} >= {"pending"} and len(everything) >= len(by_kind)
    assert svc.http.get(f"/shops/{SHOP_A}/proposals", params={"run_id": "other"}, headers=owner).json() == []
    one = svc.http.get(f"/shops/{SHOP_A}/proposals/{by_kind['set_bid']['id']}", headers=owner).json()
    assert one == by_kind["set_bid"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert svc.http.get(f"/shops/{SHOP_A}/audit", params={"since": future}, headers=owner).json() == []
    trail = svc.http.get(f"/shops/{SHOP_A}/audit", params={"run_id": run_id, "limit": 3}, headers=owner).json()
    assert len(trail) == 3 and all(e["run_id"] == run_id for e in trail)
