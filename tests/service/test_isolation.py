"""Tenant isolation over every route, generated from the app's route table: a route added later is covered too.

Every owner route (`/shops/{shop_id}/…`) answers 401 without a valid owner token, and 404 to another
shop's token whatever the ids (the other shop's own, or a shop that does not exist); the admin routes
take the admin token only. Nothing the refused requests asked for happens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from agent.service.app import create_app
from agent.service.settings import ServiceSettings

from .conftest import ADMIN_TOKEN, SHOP_A, SHOP_B, Service

PUBLIC = {"/health", "/metrics"}


@dataclass(frozen=True)
class Call:
    method: str
    template: str  # the route's path, e.g. /shops/{shop_id}/runs/{run_id}

    def path(self, **values: str) -> str:
        missing = set(re.findall(r"{(\w+)}", self.template)) - set(values)
        assert not missing, f"{self}: no sample value for path parameter(s) {missing}; add them to the test"
        return self.template.format(**values)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def api_calls(prefix: str) -> list[Call]:
    """Every (method, path) of the API whose path starts with `prefix`."""
    app = create_app(ServiceSettings(admin_token=ADMIN_TOKEN, scheduler=False))
    # iter_route_contexts: the route table with included routers flattened (their prefixes applied).
    return [Call(m, r.path) for r in iter_route_contexts(app.routes) if r.path and r.path.startswith(prefix)
            for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})]


def sample_body(call: Call, ids: dict[str, str]) -> dict[str, Any] | None:
    """A request body that would be accepted from the right owner, so only the token is wrong."""
    bodies = {
        "POST /shops/{shop_id}/chat": {"message": "How did my orders do yesterday?"},
        "POST /shops/{shop_id}/proposals/{proposal_id}/edit": {"budget": 30},
        "POST /shops/{shop_id}/proposals/decide": {"decisions": {ids["proposal_id"]: {"decision": "approve"}}},
        "PUT /shops/{shop_id}/policy": {"policy": {"spend": {"daily_cap": 9000, "monthly_cap": 90000}}},
    }
    return bodies.get(str(call), {} if call.method in ("POST", "PUT", "PATCH") else None)


def send(service: Service, call: Call, path: str, headers: dict[str, str], body: Any) -> Any:
    return service.http.request(call.method, path, headers=headers, json=body)


def snapshot(service: Service, token_a: str, token_b: str) -> dict[str, Any]:
    """What the refused requests must not have changed: shop A's data, shop B's, the platform's change log."""
    def get(path: str, token: str) -> Any:
        return service.http.get(path, headers=service.bearer(token)).json()

    return {"a": [get(f"/shops/{SHOP_A}/{what}", token_a) for what in ("proposals", "policy", "runs", "audit")],
            "b": [get(f"/shops/{SHOP_B}/{what}", token_b) for what in ("proposals", "policy", "runs", "audit")],
            "platform": len(service.world.changes)}


def seeded(service: Service) -> tuple[str, str, dict[str, str]]:
    """Shops A (with a run waiting for approval, its proposals, reports and audit trail) and B; their tokens
    and the ids of A's resources."""
    token_a = service.create_shop(SHOP_A, policy={}, label="amy")
    token_b = service.create_shop(SHOP_B, policy={}, label="bob")
    run = service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token_a))
    assert run.status_code == 201 and run.json()["pending"], run.text
    reports = service.http.get(f"/shops/{SHOP_A}/reports", headers=service.bearer(token_a)).json()
    ids = {"shop_id": SHOP_A, "run_id": run.json()["run_id"], "proposal_id": run.json()["pending"][0],
           "date": reports[0]["date"]}
    return token_a, token_b, ids


def test_every_owner_route_is_closed_to_other_shops_and_to_strangers(service: Service) -> None:
    calls = api_calls("/shops/")
    assert len(calls) >= 15 and all("{shop_id}" in c.template for c in calls)
    token_a, token_b, ids = seeded(service)
    before = snapshot(service, token_a, token_b)
    failures: list[str] = []

    def expect(call: Call, status: int, headers: dict[str, str], why: str, **values: str) -> None:
        answer = send(service, call, call.path(**{**ids, **values}), headers, sample_body(call, ids))
        error = answer.json().get("error", {}) if answer.headers.get("content-type", "").startswith(
            "application/json") else {}
        if answer.status_code != status or set(error) < {"code", "message", "field"}:
            failures.append(f"{call} {why}: expected {status} with an error body, got {answer.status_code} "
                            f"{answer.text[:200]}")

    for call in calls:
        expect(call, 401, {}, "without a token")
        expect(call, 401, service.bearer("xo_forged"), "with an unknown token")
        expect(call, 401, service.admin(), "with the admin token")
        expect(call, 404, service.bearer(token_b), "with shop B's token on shop A")
        expect(call, 404, service.bearer(token_b), "with shop B's token on a shop that does not exist",
               shop_id="no-such-shop")
        if set(re.findall(r"{(\w+)}", call.template)) - {"shop_id"}:
            expect(call, 404, service.bearer(token_b), "with shop B's token on its own shop and A's ids",
                   shop_id=SHOP_B)
    assert not failures, "\n".join(failures)
    assert snapshot(service, token_a, token_b) == before

    for call in (c for c in calls if c.method == "GET"):  # the ids are real: A's own token reads them
        answer = send(service, call, call.path(**ids), service.bearer(token_a), None)
        assert answer.status_code == 200, f"{call} with A's token: {answer.status_code} {answer.text[:200]}"


def test_another_shop_cannot_tell_a_real_shop_from_a_missing_one(service: Service) -> None:
    token_a, token_b, ids = seeded(service)
    real = service.http.get(f"/shops/{SHOP_A}/proposals/{ids['proposal_id']}", headers=service.bearer(token_b))
    missing = service.http.get(f"/shops/nope/proposals/{ids['proposal_id']}", headers=service.bearer(token_b))
    assert real.status_code == missing.status_code == 404
    messages = real.json()["error"]["message"], missing.json()["error"]["message"]
    assert messages[0].replace(SHOP_A, "X") == messages[1].replace("nope", "X")


def test_admin_routes_take_the_admin_token_only(service: Service) -> None:
    calls = api_calls("/admin/")
    assert calls
    token_a = service.create_shop(SHOP_A, policy={})
    values = {"shop_id": SHOP_A, "token_id": "1"}
    for call in calls:
        for headers in ({}, service.bearer(token_a), service.bearer("x" * 40)):
            answer = send(service, call, call.path(**values), headers, {} if call.method != "GET" else None)
            assert answer.status_code == 401, f"{call} {headers}: {answer.status_code} {answer.text[:200]}"
    listed = service.http.get("/admin/shops", headers=service.admin())
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [SHOP_A]
    secret = service.world.token_for(SHOP_A)
    shown = [listed, service.http.get(f"/admin/shops/{SHOP_A}", headers=service.admin()),
             service.http.patch(f"/admin/shops/{SHOP_A}", json={"platform_token": secret}, headers=service.admin()),
             service.http.get(f"/shops/{SHOP_A}", headers=service.bearer(token_a))]
    for answer in shown:
        assert answer.status_code == 200 and '"platform_token"' not in answer.text and secret not in answer.text
        assert '"has_platform_token":true' in answer.text


def test_without_an_admin_token_configured_there_is_no_admin(monkeypatch: Any) -> None:
    monkeypatch.delenv("XIAOER_ADMIN_TOKEN", raising=False)
    client = TestClient(create_app(ServiceSettings(scheduler=False)))
    for token in ("", "None", ADMIN_TOKEN):
        answer = client.get("/admin/shops", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "admin_disabled"


def test_public_routes_show_no_shop_data(service: Service) -> None:
    token_a, _, _ = seeded(service)
    for path in sorted(PUBLIC):
        answer = service.http.get(path)
        assert answer.status_code == 200
        assert SHOP_A not in answer.text and SHOP_B not in answer.text and token_a not in answer.text


def test_a_revoked_token_stops_working(service: Service) -> None:
    token = service.create_shop(SHOP_A, policy={})
    assert service.http.get(f"/shops/{SHOP_A}", headers=service.bearer(token)).status_code == 200
    (row,) = service.http.get(f"/admin/shops/{SHOP_A}/tokens", headers=service.admin()).json()
    gone = service.http.delete(f"/admin/shops/{SHOP_A}/tokens/{row['id']}", headers=service.admin())
    assert gone.status_code == 204
    assert service.http.get(f"/shops/{SHOP_A}", headers=service.bearer(token)).status_code == 401
