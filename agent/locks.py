"""One run step at a time per shop: a thread lock in one process, a Redis lock across many.

Every step that drives a shop's run (start or resume the day's run, the owner's answers, the
expiry sweep) holds the shop's lock, so two of them never advance the same LangGraph thread at
once. `LocalLocks` is enough while one process does all of it. When runs fan out to workers on
other machines (`agent.service.fanout`), `RedisLocks` makes the same promise across processes:
the lock is a Redis key with a lease, renewed while its holder works, so a holder that dies
frees it when the lease runs out instead of holding the shop forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.lock import Lock

log = logging.getLogger(__name__)

KEY_PREFIX = "xiaoer:shop-lock:"
LEASE_SECONDS = 60.0  # a dead holder frees the shop after this long
WAIT_SECONDS = 600.0  # how long a step waits for the shop before giving up (ShopBusy)


class ShopBusy(RuntimeError):
    """Another process held the shop's lock for longer than the caller would wait."""


class ShopLocks(Protocol):
    """shop id → a context manager held while one step of that shop's run goes on."""

    def __call__(self, shop_id: str) -> AbstractContextManager[None]: ...


class LocalLocks:
    """A thread lock per shop: one step at a time within this process."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def __call__(self, shop_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(shop_id, threading.Lock())
        with lock:
            yield


class RedisLocks:
    """A lock per shop in Redis, shared by every process that talks to the same server.

    The lease (`lease` seconds) is renewed every third of it by a thread while the holder works, so
    a long run keeps its shop however long it takes, and a holder killed mid-step frees it once the
    lease runs out. A step that cannot take the shop within `wait` seconds raises ShopBusy.
    """

    def __init__(self, url: str, *, lease: float = LEASE_SECONDS, wait: float = WAIT_SECONDS) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.lease, self.wait = lease, wait

    @contextmanager
    def __call__(self, shop_id: str) -> Iterator[None]:
        from redis.exceptions import LockError

        lock = self.redis.lock(KEY_PREFIX + shop_id, timeout=self.lease, blocking_timeout=self.wait,
                               thread_local=False)
        if not lock.acquire():
            raise ShopBusy(f"shop {shop_id} is busy in another process (waited {self.wait:.0f} s); try again later")
        stop = threading.Event()
        renewer = threading.Thread(target=_renew, args=(lock, self.lease, stop, shop_id), daemon=True,
                                   name=f"lease:{shop_id}")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                lock.release()
            except LockError:  # the lease ran out (the renewer was starved): someone else may hold it now
                log.warning("shop %s: the lock's lease ran out before the step ended", shop_id)

    def close(self) -> None:
        self.redis.close()


def _renew(lock: Lock, lease: float, stop: threading.Event, shop_id: str) -> None:
    from redis.exceptions import LockError

    while not stop.wait(lease / 3):
        try:
            lock.reacquire()
        except LockError:
            log.warning("shop %s: lost the lock's lease while working", shop_id)
            return
        except Exception as exc:  # Redis unreachable for a moment: try again at the next renewal
            log.warning("shop %s: could not renew the lock's lease: %s", shop_id, exc)
