"""Idempotency keys for platform writes: the first result of a key is the only result.

A key is scoped to one shop. The same key with the same request replays the stored response;
with a different request it is a conflict (409); while the first request is still being
applied, a second one waits for nothing and gets 409 "in progress" (the client retries).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any


class KeyConflict(Exception):
    """The key was used for a different request, or its first request is still running."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    blob = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class IdempotencyStore:
    """In-memory store of (shop, key) → request fingerprint and first response."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[tuple[str, str], tuple[str, Stored]] = {}
        self._running: dict[tuple[str, str], str] = {}

    def begin(self, shop_id: str, key: str, print_: str) -> Stored | None:
        """The stored response to replay, or None when the caller should apply the write now."""
        with self._lock:
            slot = (shop_id, key)
            if slot in self._done:
                first, stored = self._done[slot]
                if first != print_:
                    raise KeyConflict("Idempotency-Key was already used for a different request")
                return stored
            if slot in self._running:
                raise KeyConflict("a request with this Idempotency-Key is still in progress; retry later")
            self._running[slot] = print_
            return None

    def finish(self, shop_id: str, key: str, stored: Stored) -> None:
        with self._lock:
            print_ = self._running.pop((shop_id, key))
            self._done[(shop_id, key)] = (print_, stored)
