"""Push a shop's daily report to its webhook: signed JSON over HTTP, retried with capped backoff, each outcome audited.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com/), so a receiver checks them with any of
its libraries: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>`. For a day after
the secret is rotated a delivery carries two signatures (`v1,<new> v1,<old>`), so a receiver still holding the old
secret keeps verifying while it is updated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine
from sqlmodel import select
from standardwebhooks import Webhook

from agent.storage import AuditKind, Report, Shop, audit, get_run, get_shop, session_scope

log = logging.getLogger(__name__)

# Worth another try: the receiver was busy, rate-limited us, or broke for a moment. Anything else
# (400, 401, 404, a redirect) will not get better by asking again.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
ACTOR = "webhook"
SECRET_PREFIX = "whsec_"
SECRET_OVERLAP = timedelta(hours=24)  # how long a rotated-out secret still signs beside the new one


def new_webhook_secret() -> str:
    """A fresh signing secret as Standard Webhooks writes it: `whsec_` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def rotate_secret(shop: Shop, now: datetime) -> str:
    """Give `shop` a new signing secret, the one it had still signing beside it until `now` + SECRET_OVERLAP;
    returns the new one. A second rotation within that day retires the oldest secret at once."""
    shop.previous_webhook_secret = shop.webhook_secret
    shop.previous_webhook_secret_until = now + SECRET_OVERLAP if shop.webhook_secret else None
    shop.webhook_secret = new_webhook_secret()
    return shop.webhook_secret


def signing_secrets(shop: Shop, now: datetime) -> list[str]:
    """The secrets that sign a delivery at `now`: the shop's own and, until its overlap ends, the one a rotation
    replaced; none for a shop made before signing."""
    until = shop.previous_webhook_secret_until
    previous = shop.previous_webhook_secret if until is not None and now < until else None
    return [s for s in (shop.webhook_secret, previous) if s]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: `base · 2^n` seconds between tries, at most `cap`, `attempts` tries in all.

    A receiver's Retry-After (seconds or an HTTP date) is honoured as the least wait; one that
    asks for more than `max_retry_after` makes us give up rather than retry early.
    """

    attempts: int = 5
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 600.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try `attempt + 1`; None to give up because the receiver asked for too long."""
        wait = min(self.cap, self.base * 2**attempt)
        if retry_after is None:
            return wait
        return None if retry_after > self.max_retry_after else max(wait, retry_after)


@dataclass
class Delivery:
    """What happened to one push: each try's HTTP status (0 = no answer), and why it stopped."""

    url: str
    signed: bool = False
    statuses: list[int] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    ok: bool = False
    error: str = ""

    def detail(self) -> dict[str, Any]:
        # The URL's query may hold the receiver's secret; the audit log keeps only where it went.
        parts = urlsplit(self.url)
        return {"webhook": f"{parts.scheme}://{parts.netloc}{parts.path}", "ok": self.ok, "signed": self.signed,
                "attempts": len(self.statuses), "statuses": self.statuses, "waits": self.waits, "error": self.error}


def report_links(report: Report, base_url: str | None) -> dict[str, str]:
    """Where to read the report: on the owner page (signed in), and from the API (owner token) as HTML or Markdown."""
    if not base_url:
        return {}
    base = base_url.rstrip("/")
    api = f"{base}/shops/{report.shop_id}/reports/{report.date}?locale={report.locale}"
    return {"page": f"{base}/r/{report.date}?lang={report.locale}", "api_html": f"{api}&format=html",
            "api_markdown": f"{api}&format=md"}


def report_payload(shop: Shop, report: Report, run_status: str | None, base_url: str | None = None) -> dict[str, Any]:
    """The JSON body sent to the webhook."""
    return {
        "shop_id": shop.id, "shop_name": shop.name, "date": report.date, "locale": report.locale,
        "run_id": report.run_id, "status": run_status, "summary_markdown": report.markdown,
        "links": report_links(report, base_url),
    }


def push_report(
    shop: Shop, report: Report, *, engine: Engine, client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep, backoff: Backoff | None = None, base_url: str | None = None,
    clock: Callable[[], float] = time.time,
) -> bool:
    """POST the report to `shop.webhook_url`, retrying with backoff; True once the receiver answered 2xx.

    Every try carries the same `Idempotency-Key` and `webhook-id`, so a receiver can drop a repeat
    whose first answer got lost, and is signed anew with the shop's `webhook_secret` (and, for a day
    after a rotation, the previous one) at its own `webhook-timestamp`, so it passes a receiver's
    freshness check. A shop without a secret (made before signing) still gets its report, unsigned,
    and the audit says so. The outcome (not each try) is written to the shop's audit log. A shop
    without a webhook URL is not an error: nothing is sent and False comes back.
    """
    if not shop.webhook_url:
        return False
    backoff = backoff or Backoff()
    with session_scope(engine) as session:
        run = get_run(session, report.run_id) if report.run_id else None
        payload = report_payload(shop, report, run.status if run else None, base_url)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    key = _delivery_key(report)
    headers = {"Idempotency-Key": key, "User-Agent": "xiaoer-webhook/1", "Content-Type": "application/json"}
    delivery = Delivery(url=shop.webhook_url, signed=bool(shop.webhook_secret))

    def signed_headers() -> dict[str, str]:
        now = clock()
        signers = [Webhook(s) for s in signing_secrets(shop, datetime.fromtimestamp(now, UTC))]
        return {**headers, **sign_headers(key, body, signers, now)}

    own_client = client is None
    http = client or httpx.Client(timeout=10.0, follow_redirects=False)
    try:
        _deliver(http, delivery, body, signed_headers, backoff, sleep)
    finally:
        if own_client:
            http.close()
    _record(engine, shop.id, report, delivery)
    return delivery.ok


def push_run_report(engine: Engine, shop_id: str, run_id: str, **options: Any) -> bool:
    """Push the report a run saved, in the shop's own language; False when there is no webhook or no report.

    `options` go to `push_report` (client, sleep, backoff, base_url, clock).
    """
    with session_scope(engine) as session:
        shop = get_shop(session, shop_id)
        if shop is None or not shop.webhook_url:
            return False
        reports = list(session.exec(select(Report).where(Report.shop_id == shop_id, Report.run_id == run_id)).all())
    if not reports:
        return False
    report = next((r for r in reports if r.locale == shop.locale), reports[0])
    return push_report(shop, report, engine=engine, **options)


def sign_headers(msg_id: str, body: bytes, signers: list[Webhook], now: float) -> dict[str, str]:
    """Standard Webhooks headers for one try: the delivery's id, this try's time and, given secrets, one signature
    by each, space-separated (a receiver accepts the delivery when any of them matches its secret)."""
    seconds = int(now)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(seconds)}
    if signers:
        # The library signs text; the body is UTF-8 JSON, so the signed bytes are exactly the ones sent.
        at = datetime.fromtimestamp(seconds, UTC)
        headers["webhook-signature"] = " ".join(signer.sign(msg_id, at, body.decode()) for signer in signers)
    return headers


def _deliver(http: httpx.Client, delivery: Delivery, body: bytes, headers: Callable[[], dict[str, str]],
             backoff: Backoff, sleep: Callable[[float], None]) -> None:
    for attempt in range(backoff.attempts):
        retry_after = None
        try:
            resp = http.post(delivery.url, content=body, headers=headers())
        except httpx.TransportError as exc:  # refused, reset, timed out: the receiver may come back
            delivery.statuses.append(0)
            delivery.error = f"{type(exc).__name__}: {exc}"
        else:
            delivery.statuses.append(resp.status_code)
            if resp.is_success:
                delivery.ok, delivery.error = True, ""
                return
            delivery.error = f"HTTP {resp.status_code}"
            if resp.status_code not in RETRYABLE:
                return
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if attempt + 1 == backoff.attempts:
            delivery.error += f"; gave up after {backoff.attempts} attempts"
            return
        wait = backoff.delay(attempt, retry_after)
        if wait is None:
            delivery.error += f"; Retry-After {retry_after:g}s is beyond {backoff.max_retry_after:g}s, gave up"
            return
        delivery.waits.append(wait)
        sleep(wait)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from either form the header takes (delta-seconds or an HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _delivery_key(report: Report) -> str:
    created = report.created_at.isoformat() if report.created_at else ""
    raw = "\x1f".join([report.shop_id, report.date, report.locale, report.run_id or "", created])
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _record(engine: Engine, shop_id: str, report: Report, delivery: Delivery) -> None:
    event = AuditKind.REPORT_SENT if delivery.ok else AuditKind.REPORT_NOT_SENT
    with session_scope(engine) as session:
        audit(session, shop_id=shop_id, run_id=report.run_id, event=event, actor=ACTOR,
              detail={"date": report.date, "locale": report.locale, **delivery.detail()})
    if not delivery.ok:
        log.warning("webhook for shop %s, report %s: %s", shop_id, report.date, delivery.error)
