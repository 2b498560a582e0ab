"""Each shop's platform client, built from the shop's stored platform URL and token."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import Engine

from agent.storage import get_shop, session_scope
from marketplace.client import HttpClient, PlatformClient


class PlatformNotConfigured(LookupError):
    """The shop has no platform URL or token yet, so nothing can be read or changed for it."""


class ShopPlatforms:
    """shop id → a PlatformClient with that shop's token; one pooled HTTP client per platform URL.

    `http`: one client for every shop (e.g. the platform in-process, `marketplace.client.in_process`);
    the shops' URLs are then ignored. Close with `close()` (or use as a context manager).
    """

    def __init__(self, engine: Engine, *, http: HttpClient | None = None, timeout: float = 30.0) -> None:
        self.engine, self.http, self.timeout = engine, http, timeout
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def __call__(self, shop_id: str) -> PlatformClient:
        with session_scope(self.engine) as session:
            shop = get_shop(session, shop_id)
            url, token = (shop.platform_url, shop.platform_token) if shop is not None else (None, None)
        if shop is None:
            raise LookupError(f"shop {shop_id!r} not found")
        if not token or (self.http is None and not url):
            raise PlatformNotConfigured(f"shop {shop_id!r} has no platform URL and token yet; the admin sets them "
                                        f"with PATCH /admin/shops/{shop_id}")
        return PlatformClient(self.http or self._client_for(str(url)), shop_id, token)

    def _client_for(self, url: str) -> httpx.Client:
        with self._lock:
            if url not in self._clients:
                self._clients[url] = httpx.Client(base_url=url, timeout=self.timeout)
            return self._clients[url]

    def close(self) -> None:
        """Close the HTTP clients this object opened (not one passed in)."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> ShopPlatforms:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
