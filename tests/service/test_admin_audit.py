"""What the admin does to a shop is in the shop's audit log, which its owner reads: settings changed (old and new),
owner tokens issued and revoked, the webhook secret rotated; never a secret's value."""

from __future__ import annotations

import json
from typing import Any

from .conftest import SHOP_A, Service


def _audit(service: Service, owner: dict[str, str], event: str) -> list[dict[str, Any]]:
    got = service.http.get(f"/shops/{SHOP_A}/audit?event={event}", headers=owner)
    assert got.status_code == 200, got.text
    return got.json()


def test_the_admins_changes_to_a_shop_are_audited_without_their_secrets(service: Service) -> None:
    platform_token = service.world.token_for(SHOP_A)
    created = service.http.post("/admin/shops", headers=service.admin(), json={
        "id": SHOP_A, "name": "Fat Tea", "platform_url": "http://platform.test", "platform_token": platform_token,
        "webhook_url": "http://receiver.test/hook?key=s3cr3t", "policy": {}})
    assert created.status_code == 201, created.text
    issued = service.http.post(f"/admin/shops/{SHOP_A}/tokens", json={"label": "amy"}, headers=service.admin()).json()
    owner = service.bearer(issued["token"])

    (made,) = _audit(service, owner, "shop_changed")
    assert made["actor"] == "admin" and made["detail"]["created"] is True
    changes = made["detail"]["changes"]
    assert changes["platform_token"] == {"from": None, "to": "set"}
    assert changes["webhook_secret"] == {"from": None, "to": "set"}
    assert changes["webhook_url"]["to"] == "http://receiver.test/hook"  # without the query and its key
    assert changes["name"] == {"from": None, "to": "Fat Tea"}

    moved = service.http.patch(f"/admin/shops/{SHOP_A}", json={"timezone": "Asia/Urumqi", "daily_run_time": "07:30"},
                               headers=service.admin())
    assert moved.status_code == 200, moved.text
    again = service.http.patch(f"/admin/shops/{SHOP_A}", json={"timezone": "Asia/Urumqi"}, headers=service.admin())
    assert again.status_code == 200  # nothing changed: no event
    latest = _audit(service, owner, "shop_changed")
    assert len(latest) == 2
    changed = next(e for e in latest if not e["detail"]["created"])["detail"]["changes"]
    assert set(changed) == {"timezone", "daily_run_time"} and changed["daily_run_time"]["to"] == "07:30"

    rotated = service.http.post(f"/admin/shops/{SHOP_A}/webhook-secret", headers=service.admin()).json()
    assert [e["actor"] for e in _audit(service, owner, "webhook_secret_rotated")] == ["admin"]
    (token_issued,) = _audit(service, owner, "token_issued")
    assert token_issued["detail"] == {"token_id": issued["id"], "label": "amy"}
    second = service.http.post(f"/admin/shops/{SHOP_A}/tokens", json={"label": "bo"}, headers=service.admin()).json()
    gone = service.http.delete(f"/admin/shops/{SHOP_A}/tokens/{second['id']}", headers=service.admin())
    assert gone.status_code == 204
    assert [e["detail"] for e in _audit(service, owner, "token_revoked")] == [{"token_id": second["id"], "label": "bo"}]

    everything = json.dumps(service.http.get(f"/shops/{SHOP_A}/audit", headers=owner).json())
    for secret in (platform_token, created.json()["webhook_secret"], rotated["webhook_secret"], issued["token"],
                   second["token"], "s3cr3t"):
        assert secret not in everything
