"""The webhook signing secret through the admin API: made with the first webhook URL, rotated on request (the old
one signing too for 24 hours), shown only in the answer that made it, and never to the owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook, WebhookVerificationError

from agent.service.webhook import push_run_report
from agent.storage import Shop, get_shop, session_scope, utcnow

from .conftest import SHOP_A, Service

HOOK = "http://receiver.test/hook"


def _create(service: Service, **settings: Any) -> dict[str, Any]:
    body = {"id": SHOP_A, "name": "Fat Tea", "platform_url": "http://platform.test",
            "platform_token": service.world.token_for(SHOP_A), "policy": {}, **settings}
    created = service.http.post("/admin/shops", json=body, headers=service.admin())
    assert created.status_code == 201, created.text
    return created.json()


def _owner(service: Service) -> dict[str, str]:
    issued = service.http.post(f"/admin/shops/{SHOP_A}/tokens", json={"label": "amy"}, headers=service.admin())
    return service.bearer(issued.json()["token"])


def _stored_shop(service: Service) -> Shop:
    with session_scope(service.engine) as s:
        shop = get_shop(s, SHOP_A)
        assert shop is not None
        return shop


def _stored_secret(service: Service) -> str | None:
    return _stored_shop(service).webhook_secret


def _assert_hidden(service: Service, owner: dict[str, str], secret: str) -> None:
    """No view but the one that made it shows the secret: the admin's, the owner's, the audit log."""
    views = [service.http.get("/admin/shops", headers=service.admin()),
             service.http.get(f"/admin/shops/{SHOP_A}", headers=service.admin()),
             service.http.get(f"/shops/{SHOP_A}", headers=owner),
             service.http.get(f"/shops/{SHOP_A}/audit", headers=owner)]
    for view in views:
        assert view.status_code == 200, view.text
        assert secret not in view.text and secret.removeprefix("whsec_") not in view.text
    assert "webhook_secret" not in views[2].json() and views[2].json()["has_webhook_secret"] is True


def _signed_push(service: Service, run_id: str, at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """Push the run's report to a receiver in memory, now or `at`; the bytes and headers it got."""
    got: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        got.append(request)
        return httpx.Response(200)

    clock = {"clock": at.timestamp} if at is not None else {}
    with httpx.Client(transport=httpx.MockTransport(receive)) as client:
        assert push_run_report(service.engine, SHOP_A, run_id, client=client, sleep=lambda _: None, **clock)
    (request,) = got
    return request.content, {k.lower(): v for k, v in request.headers.items()}


def _receiver_at(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """Set the receiver's clock to `at`: the library refuses a delivery more than five minutes from its now."""

    class At(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> At:
            return cls.fromtimestamp(at.timestamp(), tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", At)


def _run(service: Service, owner: dict[str, str]) -> str:
    run = service.http.post(f"/shops/{SHOP_A}/runs", headers=owner)
    assert run.status_code == 201, run.text
    return run.json()["run_id"]


def _rotate(service: Service) -> str:
    rotated = service.http.post(f"/admin/shops/{SHOP_A}/webhook-secret", headers=service.admin())
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["shop_id"] == SHOP_A
    return rotated.json()["webhook_secret"]


def _verifies(secret: str, sent: tuple[bytes, dict[str, str]]) -> bool:
    try:
        Webhook(secret).verify(*sent)
    except WebhookVerificationError:
        return False
    return True


def test_a_shop_created_with_a_webhook_gets_its_secret_in_that_answer_only(service: Service) -> None:
    created = _create(service, webhook_url=HOOK)

    secret = created["webhook_secret"]
    assert secret.startswith("whsec_") and created["has_webhook_secret"] is True
    assert _stored_secret(service) == secret
    owner = _owner(service)
    renamed = service.http.patch(f"/admin/shops/{SHOP_A}", json={"name": "Fat Tea Co."}, headers=service.admin())
    assert renamed.status_code == 200 and renamed.json()["webhook_secret"] is None
    _assert_hidden(service, owner, secret)


def test_the_first_webhook_url_set_later_makes_the_secret_and_a_new_url_keeps_it(service: Service) -> None:
    created = _create(service)
    assert created["webhook_secret"] is None and created["has_webhook_secret"] is False
    assert _stored_secret(service) is None

    def patch(**settings: Any) -> dict[str, Any]:
        answer = service.http.patch(f"/admin/shops/{SHOP_A}", json=settings, headers=service.admin())
        assert answer.status_code == 200, answer.text
        return answer.json()

    secret = patch(webhook_url=HOOK)["webhook_secret"]
    assert secret.startswith("whsec_") and _stored_secret(service) == secret
    assert patch(webhook_url="http://elsewhere.test/hook")["webhook_secret"] is None
    assert patch(webhook_url=None)["webhook_secret"] is None
    assert patch(webhook_url=HOOK)["webhook_secret"] is None
    assert _stored_secret(service) == secret, "the receiver's secret stays until the admin rotates it"
    _assert_hidden(service, _owner(service), secret)


def test_after_a_rotation_the_old_secret_verifies_for_24_hours_and_the_new_one_always(
    service: Service, monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = _create(service, webhook_url=HOOK)["webhook_secret"]
    owner = _owner(service)
    run_id = _run(service, owner)
    assert _verifies(old, _signed_push(service, run_id))

    before = utcnow()
    new = _rotate(service)
    after = utcnow()

    assert new.startswith("whsec_") and new != old and _stored_secret(service) == new
    until = _stored_shop(service).previous_webhook_secret_until
    assert until is not None and before + timedelta(hours=24) <= until <= after + timedelta(hours=24)
    for at, old_verifies in ((None, True), (until - timedelta(minutes=1), True), (until, False),
                             (until + timedelta(days=3), False)):
        if at is not None:
            _receiver_at(monkeypatch, at)
        sent = _signed_push(service, run_id, at)
        assert _verifies(new, sent), at
        assert _verifies(old, sent) is old_verifies, at
        assert sent[1]["webhook-signature"].count("v1,") == (2 if old_verifies else 1)
    (rotation,) = [e for e in service.http.get(f"/shops/{SHOP_A}/audit", headers=owner).json()
                   if e["event"] == "webhook_secret_rotated"]
    assert datetime.fromisoformat(rotation["detail"]["previous_signs_until"]) == until
    _assert_hidden(service, owner, new)
    _assert_hidden(service, owner, old)
    missing = service.http.post("/admin/shops/nope/webhook-secret", headers=service.admin())
    assert missing.status_code == 404
    assert service.http.post(f"/admin/shops/{SHOP_A}/webhook-secret", headers=owner).status_code == 401


def test_a_second_rotation_within_the_day_retires_the_oldest_secret_at_once(service: Service) -> None:
    first = _create(service, webhook_url=HOOK)["webhook_secret"]
    run_id = _run(service, _owner(service))
    second = _rotate(service)
    third = _rotate(service)

    sent = _signed_push(service, run_id)

    assert _verifies(third, sent) and _verifies(second, sent) and not _verifies(first, sent)


def test_rotating_the_secret_of_a_shop_that_signed_nothing_signs_with_the_new_one_only(service: Service) -> None:
    _create(service)  # no webhook URL yet, so no secret
    new = _rotate(service)
    assert service.http.patch(f"/admin/shops/{SHOP_A}", json={"webhook_url": HOOK},
                              headers=service.admin()).json()["webhook_secret"] is None

    sent = _signed_push(service, _run(service, _owner(service)))

    assert _verifies(new, sent) and sent[1]["webhook-signature"].count("v1,") == 1
    assert _stored_shop(service).previous_webhook_secret_until is None
