"""The owner page's "approve all" and "reject all": they answer exactly the proposals the page showed, all or nothing,
through the same path as one-by-one answers (guarded again, the run resumed, the platform written once)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import SHOP_A, SHOP_B, Service
from .test_api import POLICY
from .test_web_chat import sign_in


def pending(svc: Service, owner: dict[str, str], shop_id: str = SHOP_A) -> list[dict[str, Any]]:
    answer = svc.http.get(f"/shops/{shop_id}/proposals", params={"state": "pending"}, headers=owner)
    assert answer.status_code == 200, answer.text
    return answer.json()


def bulk_form(page: str, choice: str) -> dict[str, str]:
    """The page's bulk form for `choice`, as the browser would send it."""
    form = re.search(rf'<form method="post" action="/decide-all">(.*?value="{choice}".*?)</form>', page, re.S)
    assert form, f"the queue shows a {choice}-all button"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    return {k: fields[k] for k in ("csrf", "lang", "proposal_ids", "decision")}


@pytest.fixture
def queue(service: Service) -> tuple[Service, dict[str, str], list[dict[str, Any]]]:
    """Shop A after a run that asks about every bid and budget, its owner signed in on the page."""
    token = service.create_shop(SHOP_A, policy=POLICY, label="amy")
    owner = service.bearer(token)
    assert service.http.post(f"/shops/{SHOP_A}/runs", headers=owner).status_code == 201
    sign_in(service, token)
    waiting = pending(service, owner)
    assert len(waiting) > 1, "the bulk buttons show from two waiting proposals"
    return service, owner, waiting


def test_approve_all_executes_every_proposal_the_page_showed_once(queue) -> None:
    svc, owner, waiting = queue
    form = bulk_form(svc.http.get("/?lang=en").text, "approve")
    assert form["proposal_ids"].split(",") == [p["id"] for p in waiting]
    before = len(svc.world.changes)  # what the run did on its own
    answer = svc.http.post("/decide-all", data=form)
    assert answer.status_code == 200 and "All approved; the runs carried on." in answer.text
    assert pending(svc, owner) == [] and 'id="queue-all"' not in answer.text
    answered = {p["id"]: p for p in svc.http.get(f"/shops/{SHOP_A}/proposals", headers=owner).json()}
    assert {(answered[p["id"]]["state"], answered[p["id"]]["approved_by"]) for p in waiting} == {("executed", "amy")}
    written = svc.world.changes[before:]
    assert len(written) == len(waiting), "each written once, nothing else"
    assert len({c.idempotency_key for c in written}) == len(waiting)
    again = svc.http.post("/decide-all", data=form)  # the same form sent twice: refused, nothing written twice
    assert again.status_code == 409 and len(svc.world.changes) == before + len(waiting)


def test_reject_all_in_chinese_runs_nothing(queue) -> None:
    svc, owner, waiting = queue
    before = len(svc.world.changes)
    answer = svc.http.post("/decide-all", data=bulk_form(svc.http.get("/?lang=zh-CN").text, "reject"))
    assert answer.status_code == 200 and "已全部拒绝，这些操作都不会执行。" in answer.text
    assert pending(svc, owner) == [] and len(svc.world.changes) == before


def test_a_proposal_answered_meanwhile_refuses_the_lot(queue) -> None:
    svc, owner, waiting = queue
    form = bulk_form(svc.http.get("/?lang=en").text, "approve")
    first, before = waiting[0]["id"], len(svc.world.changes)
    assert svc.http.post(f"/shops/{SHOP_A}/proposals/{first}/reject", headers=owner).status_code == 200
    answer = svc.http.post("/decide-all", data=form)
    assert answer.status_code == 409 and "One of them was answered meanwhile, so none were" in answer.text
    assert [p["id"] for p in pending(svc, owner)] == [p["id"] for p in waiting[1:]], "nothing else answered"
    assert len(svc.world.changes) == before


@pytest.mark.parametrize(("change", "status"), [({"decision": "edit"}, 400), ({"proposal_ids": ""}, 400),
                                                ({"proposal_ids": "p-unknown"}, 409)])
def test_a_bad_bulk_form_answers_nothing(queue, change: dict[str, str], status: int) -> None:
    svc, owner, waiting = queue
    before = len(svc.world.changes)
    answer = svc.http.post("/decide-all", data={**bulk_form(svc.http.get("/?lang=en").text, "approve"), **change})
    assert answer.status_code == status
    assert len(pending(svc, owner)) == len(waiting) and len(svc.world.changes) == before


def test_another_shops_proposals_cannot_be_answered_from_this_page(queue) -> None:
    svc, owner, waiting = queue
    token_b = svc.create_shop(SHOP_B, policy=POLICY, label="bo")
    owner_b = svc.bearer(token_b)
    assert svc.http.post(f"/shops/{SHOP_B}/runs", headers=owner_b).status_code == 201
    theirs, before = pending(svc, owner_b, SHOP_B), len(svc.world.changes)
    assert theirs
    form = {**bulk_form(svc.http.get("/?lang=en").text, "approve"), "proposal_ids": ",".join(p["id"] for p in theirs)}
    answer = svc.http.post("/decide-all", data=form)  # signed in as shop A's owner
    assert answer.status_code == 409 and "One of them is not in your queue, so none were answered." in answer.text
    assert len(pending(svc, owner_b, SHOP_B)) == len(theirs) and len(svc.world.changes) == before
