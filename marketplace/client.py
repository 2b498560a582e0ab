"""Typed HTTP client for the platform API: what every strategy, the harness and the agent use.

Writes carry an `Idempotency-Key`; transient failures (5xx, timeouts, 429 with Retry-After, lost
responses) are retried with capped exponential backoff under the same key, so a retried write
is never applied twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx
from pydantic import BaseModel

if TYPE_CHECKING:
    import httpx2

    from marketplace.world import World

# What carries the requests: an httpx client for a platform over the network, or the test client
# (an httpx2 client with the same interface) for the platform in-process.
HttpClient: TypeAlias = "httpx.Client | httpx2.Client"
HttpResponse: TypeAlias = "httpx.Response | httpx2.Response"

RETRYABLE = frozenset({429, 500, 502, 503, 504})


class PlatformError(RuntimeError):
    """The platform refused a request, or it kept failing after every retry."""

    def __init__(self, status: int, detail: Any, attempts: int = 1):
        super().__init__(f"platform answered {status}: {detail}")
        self.status = status
        self.detail = detail
        self.attempts = attempts

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE or self.status == 0


def idempotency_key(*parts: object) -> str:
    """A stable key from what a write is: the same parts always give the same key."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:40]


@dataclass
class RetryPolicy:
    """Capped exponential backoff; a server's Retry-After wins when it says more."""

    attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: str | None) -> float:
        wait = min(self.max_delay, self.base_delay * 2**attempt)
        if retry_after:
            try:
                wait = max(wait, min(float(retry_after), self.max_delay * 4))
            except ValueError:
                pass
        return wait


@dataclass
class _Session:
    http: HttpClient
    token: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retries_made: int = 0

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        params = {k: v for k, v in (params or {}).items() if v is not None}
        last: PlatformError | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                self.retries_made += 1
            try:
                resp = self.http.request(method, path, json=json, params=params, headers=headers)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                last, retry_after = PlatformError(0, f"{type(exc).__name__}: {exc}", attempt + 1), None
            else:
                if resp.status_code < 400:
                    return resp.json()
                last = PlatformError(resp.status_code, _detail(resp), attempt + 1)
                if resp.status_code not in RETRYABLE:
                    raise last
                retry_after = resp.headers.get("Retry-After")
            if attempt + 1 < self.retry.attempts:
                self.retry.sleep(self.retry.delay(attempt, retry_after))
        assert last is not None
        raise last


def _detail(resp: HttpResponse) -> Any:
    try:
        return resp.json().get("detail", resp.text)
    except ValueError:
        return resp.text


class PlatformClient:
    """One shop's view of the platform, authenticated by the shop's bearer token."""

    def __init__(self, http: HttpClient, shop_id: str, token: str, retry: RetryPolicy | None = None):
        self.shop_id = shop_id
        self._s = _Session(http, token, retry or RetryPolicy())

    @property
    def retries_made(self) -> int:
        return self._s.retries_made

    def _get(self, path: str, **params) -> Any:
        return self._s.request("GET", f"/v1/shops/{self.shop_id}{path}", params=params)

    def _write(self, method: str, path: str, body: dict | None, key: str) -> dict:
        return self._s.request(method, f"/v1/shops/{self.shop_id}{path}", json=body, key=key)

    # ---- reads ------------------------------------------------------------------------------
    def shop(self) -> dict:
        return self._get("")

    def products(self) -> list[dict]:
        return self._get("/products")

    def product(self, sku: str) -> dict:
        return self._get(f"/products/{sku}")

    def metrics(self, sku: str | None = None, start_day: int | None = None, end_day: int | None = None,
                group: str = "sku") -> list[dict]:
        """Daily metrics; `group="source"` splits them by organic / search / whole_site traffic."""
        return self._get("/metrics", sku=sku, start_day=start_day, end_day=end_day, group=group)

    def campaigns(self) -> list[dict]:
        return self._get("/campaigns")

    def coupons(self) -> list[dict]:
        return self._get("/coupons")

    def segments(self) -> list[dict]:
        return self._get("/segments")

    def price_history(self, sku: str) -> dict:
        return self._get(f"/products/{sku}/price-history")

    def calendar(self) -> list[dict]:
        return self._get("/calendar")

    def bid_suggestions(self) -> list[dict]:
        return self._get("/bid-suggestions")

    # ---- writes -------------------------------------------------------------------------------
    def set_bid(self, campaign_id: str, bid: float, *, key: str) -> dict:
        return self._write("PUT", f"/campaigns/{campaign_id}/bid", {"bid": bid}, key)

    def set_budget(self, campaign_id: str, budget: float, *, key: str) -> dict:
        return self._write("PUT", f"/campaigns/{campaign_id}/budget", {"budget": budget}, key)

    def set_status(self, campaign_id: str, status: str, *, key: str) -> dict:
        return self._write("PUT", f"/campaigns/{campaign_id}/status", {"status": str(status)}, key)

    def set_mode(self, campaign_id: str, mode: str, target_roi: float | None = None, *, key: str) -> dict:
        return self._write("PUT", f"/campaigns/{campaign_id}/mode", {"mode": str(mode), "target_roi": target_roi},
                           key)

    def create_coupon(self, body: dict | BaseModel, *, key: str) -> dict:
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json", exclude_none=True)
        return self._write("POST", "/coupons", body, key)

    def stop_coupon(self, coupon_id: str, *, key: str) -> dict:
        return self._write("POST", f"/coupons/{coupon_id}/stop", None, key)


class AdminClient:
    """The simulation's operator: moves the clock, reads the change log, injects faults."""

    def __init__(self, http: HttpClient, token: str, retry: RetryPolicy | None = None):
        self._s = _Session(http, token, retry or RetryPolicy(attempts=1))

    def advance(self, days: int = 1) -> dict:
        return self._s.request("POST", "/v1/admin/advance", json={"days": days})

    def clock(self) -> dict:
        return self._s.request("GET", "/v1/admin/clock")

    def changes(self, shop_id: str | None = None) -> list[dict]:
        return self._s.request("GET", "/v1/admin/changes", params={"shop_id": shop_id})

    def set_faults(self, **plan: Any) -> dict:
        """Fault plan: error_rate, rate_limit_rate, retry_after_s, lost_response_rate, latency_ms, seed."""
        return self._s.request("PUT", "/v1/admin/faults", json=plan)

    def clear_faults(self) -> dict:
        return self._s.request("PUT", "/v1/admin/faults", json={})


@contextmanager
def in_process(world: World, admin_token: str) -> Iterator[HttpClient]:
    """The platform app on an in-process ASGI transport: real HTTP semantics, no socket."""
    from fastapi.testclient import TestClient

    from marketplace.api import create_app

    with TestClient(create_app(world, admin_token=admin_token), base_url="http://platform.test") as http:
        yield http
