"""The report webhook against a real receiver on loopback that fails on purpose: retries, Retry-After, giving up;
and its Standard Webhooks signature, checked the way a receiver would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine
from standardwebhooks import Webhook, WebhookVerificationError

from agent.service.webhook import Backoff, new_webhook_secret, parse_retry_after, push_report, push_run_report
from agent.serving import serve_in_thread
from agent.storage import (
    AuditKind,
    audit_log,
    finish_run,
    init_db,
    make_engine,
    save_report,
    save_shop,
    session_scope,
    start_run,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Receiver:
    """A webhook receiver that answers `failures` (status, headers) first, then 200; it keeps what it got."""

    def __init__(self) -> None:
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.raw: list[bytes] = []
        self.app = FastAPI()
        self.app.post("/hook")(self.hook)

    async def hook(self, request: Request) -> Response:
        self.received.append((await request.json(), dict(request.headers)))
        self.raw.append(await request.body())
        if self.failures:
            status, headers = self.failures.pop(0)
            return Response(status_code=status, headers=headers)
        return Response(status_code=200)


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver()
    with serve_in_thread(r.app, name="webhook-receiver") as url:
        yield r, url


@pytest.fixture
def hook(receiver: tuple[Receiver, str]) -> Receiver:
    r, _ = receiver
    r.failures.clear()
    r.received.clear()
    r.raw.clear()
    return r


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    init_db(engine)
    return engine


def _shop_with_report(engine: Engine, webhook_url: str | None, webhook_secret: str | None = None):
    with session_scope(engine) as s:
        shop = save_shop(s, "shop-a", "小二的杂货铺", locale="zh-CN", webhook_url=webhook_url)
        shop.webhook_secret = webhook_secret
        run = start_run(s, "shop-a", "2026-03-02", 31, "run-1", now=NOW)
        finish_run(s, run.id, "done", now=NOW)
        report = save_report(s, shop_id="shop-a", date="2026-03-02", locale="zh-CN",
                             markdown="# 每日经营报告\n利润 ¥120", run_id="run-1", now=NOW)
        save_report(s, shop_id="shop-a", date="2026-03-02", locale="en", markdown="# Daily report", run_id="run-1",
                    now=NOW)
    return shop, report


def _webhook_events(engine: Engine) -> list[Any]:
    with session_scope(engine) as s:
        return [e for e in audit_log(s, "shop-a") if e.actor == "webhook"]


def test_push_retries_server_errors_then_succeeds(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook?secret=s3cret")
    hook.failures = [(503, {}), (500, {})]
    sleeps: list[float] = []

    ok = push_report(shop, report, engine=engine, sleep=sleeps.append, backoff=Backoff(attempts=5, base=0.5),
                     base_url="https://xiaoer.example/")

    assert ok is True
    assert sleeps == [0.5, 1.0]  # exponential: base · 2^n
    assert len(hook.received) == 3
    body, headers = hook.received[-1]
    assert body == {
        "shop_id": "shop-a", "shop_name": "小二的杂货铺", "date": "2026-03-02", "locale": "zh-CN", "run_id": "run-1",
        "status": "done", "summary_markdown": "# 每日经营报告\n利润 ¥120",
        "links": {
            "page": "https://xiaoer.example/r/2026-03-02?lang=zh-CN",
            "api_html": "https://xiaoer.example/shops/shop-a/reports/2026-03-02?locale=zh-CN&format=html",
            "api_markdown": "https://xiaoer.example/shops/shop-a/reports/2026-03-02?locale=zh-CN&format=md",
        },
    }
    keys = {h["idempotency-key"] for _, h in hook.received}
    assert len(keys) == 1, "every try of one delivery carries the same idempotency key"
    (event,) = _webhook_events(engine)
    assert event.event == AuditKind.REPORT_SENT and event.run_id == "run-1" and event.proposal_id is None
    assert event.detail["ok"] is True and event.detail["statuses"] == [503, 500, 200]
    assert "s3cret" not in str(event.detail), "the webhook URL's query stays out of the audit log"


def test_push_gives_up_after_the_cap_and_audits_it(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook")
    hook.failures = [(502, {})] * 10
    sleeps: list[float] = []

    ok = push_report(shop, report, engine=engine, sleep=sleeps.append, backoff=Backoff(attempts=4, base=1, cap=3))

    assert ok is False
    assert len(hook.received) == 4
    assert sleeps == [1, 2, 3]  # capped at 3, and no sleep after the last try
    (event,) = _webhook_events(engine)
    assert event.event == AuditKind.REPORT_NOT_SENT
    assert event.detail["statuses"] == [502] * 4 and "gave up after 4 attempts" in event.detail["error"]


def test_push_honours_retry_after_on_429(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook")
    hook.failures = [(429, {"Retry-After": "7"}), (429, {"Retry-After": "0"})]
    sleeps: list[float] = []

    assert push_report(shop, report, engine=engine, sleep=sleeps.append, backoff=Backoff(base=0.25))

    assert sleeps == [7.0, 0.5]  # the receiver's 7 s over our 0.25 s; our 0.5 s over its 0 s
    assert len(hook.received) == 3


def test_push_gives_up_when_retry_after_is_too_long(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook")
    hook.failures = [(429, {"Retry-After": "3600"})]
    sleeps: list[float] = []

    assert not push_report(shop, report, engine=engine, sleep=sleeps.append, backoff=Backoff(max_retry_after=600))

    assert sleeps == [] and len(hook.received) == 1
    (event,) = _webhook_events(engine)
    assert event.event == AuditKind.REPORT_NOT_SENT and "Retry-After 3600s" in event.detail["error"]


def test_push_does_not_retry_a_client_error(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook")
    hook.failures = [(404, {})]
    sleeps: list[float] = []

    assert not push_report(shop, report, engine=engine, sleep=sleeps.append)

    assert sleeps == [] and len(hook.received) == 1
    assert _webhook_events(engine)[0].detail["error"] == "HTTP 404"


def test_push_retries_when_nobody_listens(engine):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: every try is refused
    shop, report = _shop_with_report(engine, f"http://127.0.0.1:{port}/hook")
    sleeps: list[float] = []

    assert not push_report(shop, report, engine=engine, sleep=sleeps.append, backoff=Backoff(attempts=3, base=0.1))

    assert sleeps == [0.1, 0.2]
    (event,) = _webhook_events(engine)
    assert event.detail["statuses"] == [0, 0, 0] and "ConnectError" in event.detail["error"]


def test_push_run_report_picks_the_shops_language_and_skips_shops_without_a_webhook(engine, hook, receiver):
    _shop_with_report(engine, None)
    assert push_run_report(engine, "shop-a", "run-1") is False
    assert hook.received == [] and _webhook_events(engine) == []

    with session_scope(engine) as s:
        save_shop(s, "shop-a", "小二的杂货铺", locale="en", webhook_url=receiver[1] + "/hook")
    assert push_run_report(engine, "shop-a", "run-1", sleep=lambda _: None) is True
    assert hook.received[0][0]["locale"] == "en" and hook.received[0][0]["summary_markdown"] == "# Daily report"


def test_retry_after_takes_seconds_or_an_http_date():
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(later, now) == 90.0
    assert parse_retry_after("Mon, 02 Mar 2026 07:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --- signatures (Standard Webhooks) -----------------------------------------------------------------------------------

def spec_verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """A receiver's check written from the spec alone, sharing no code with the sender: HMAC-SHA256 over
    `{id}.{timestamp}.{body}` with the base64 key after `whsec_`, any `v1,` signature matching, time within 5 min."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    fresh = abs((time.time() if now is None else now) - int(stamp)) <= 300
    sigs = [s.split(",", 1) for s in headers["webhook-signature"].split()]
    return fresh and any(v == "v1" and hmac.compare_digest(sig.encode(), expected) for v, sig in sigs)


def library_verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What the README tells receivers to run: the standardwebhooks library's own check."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


class Clock:
    """Wall-clock time that moves on only when the pusher sleeps, so each try's timestamp is known."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_receiver_verifies_the_signature_and_rejects_tampering_and_a_wrong_secret(engine, hook, receiver):
    secret = new_webhook_secret()
    shop, report = _shop_with_report(engine, receiver[1] + "/hook", secret)

    assert push_report(shop, report, engine=engine, sleep=lambda _: None)

    (raw,) = hook.raw
    (body, headers) = hook.received[0]
    assert headers["content-type"] == "application/json" and headers["user-agent"] == "xiaoer-webhook/1"
    assert "小二的杂货铺".encode() in raw and "¥120".encode() in raw, "Chinese is sent as UTF-8, not \\u escapes"
    assert headers["webhook-id"] == headers["idempotency-key"]
    assert headers["webhook-signature"].startswith("v1,")
    assert spec_verify(secret, headers, raw) and library_verifies(secret, headers, raw)
    assert Webhook(secret).verify(raw, headers) == body

    tampered = raw.replace("¥120".encode(), "¥999".encode())
    assert tampered != raw
    assert not spec_verify(secret, headers, tampered) and not library_verifies(secret, headers, tampered)
    other = new_webhook_secret()
    assert not spec_verify(other, headers, raw) and not library_verifies(other, headers, raw)
    replayed = {**headers, "webhook-id": "another-delivery"}
    assert not spec_verify(secret, replayed, raw), "the id is signed too"
    (event,) = _webhook_events(engine)
    assert event.detail["signed"] is True and event.detail["ok"] is True


def test_retries_keep_the_webhook_id_and_sign_each_try_at_its_own_time(engine, hook, receiver):
    secret = new_webhook_secret()
    shop, report = _shop_with_report(engine, receiver[1] + "/hook", secret)
    hook.failures = [(503, {}), (500, {})]
    clock = Clock()
    start = int(clock.now)

    assert push_report(shop, report, engine=engine, sleep=clock.sleep, clock=lambda: clock.now,
                       backoff=Backoff(base=2))

    headers = [h for _, h in hook.received]
    assert len({h["webhook-id"] for h in headers}) == 1, "every try of one report carries the same webhook-id"
    assert [int(h["webhook-timestamp"]) for h in headers] == [start, start + 2, start + 6]
    assert len({h["webhook-signature"] for h in headers}) == 3
    for raw, h in zip(hook.raw, headers, strict=True):
        assert spec_verify(secret, h, raw, now=int(h["webhook-timestamp"]))
    assert library_verifies(secret, headers[0], hook.raw[0])  # the first try is within the library's 5 minutes


def test_a_shop_without_a_secret_still_gets_its_report_unsigned_and_the_audit_says_so(engine, hook, receiver):
    shop, report = _shop_with_report(engine, receiver[1] + "/hook", None)

    assert push_report(shop, report, engine=engine, sleep=lambda _: None)

    ((body, headers),) = hook.received
    assert body["shop_id"] == "shop-a" and "webhook-signature" not in headers
    assert headers["webhook-id"] == headers["idempotency-key"] and headers["webhook-timestamp"].isdigit()
    (event,) = _webhook_events(engine)
    assert event.event == AuditKind.REPORT_SENT and event.detail["signed"] is False


def test_the_secret_stays_out_of_the_audit_log_and_the_logs(engine, hook, receiver, caplog):
    secret = new_webhook_secret()
    shop, report = _shop_with_report(engine, receiver[1] + "/hook", secret)
    hook.failures = [(404, {})]

    with caplog.at_level(logging.DEBUG):
        assert not push_report(shop, report, engine=engine, sleep=lambda _: None)

    (event,) = _webhook_events(engine)
    assert event.event == AuditKind.REPORT_NOT_SENT and event.detail["signed"] is True
    assert "webhook for shop shop-a" in caplog.text
    body = secret.removeprefix("whsec_")
    assert body not in str(event.detail) and body not in caplog.text and body not in repr(shop)


def test_new_secrets_are_random_whsec_keys_of_32_bytes():
    one, two = new_webhook_secret(), new_webhook_secret()
    assert one != two and one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"), validate=True)) == 32
