"""The in-process scheduler: each shop's daily run at its local time, and the sweep that expires stale approvals.

Which shops are due is a pure function of (shops, runs, now), `due_shops`; the scheduler only
asks it every minute and starts what it names. "Once a day" is read from storage, not from the
scheduler's memory, so a restart neither repeats a run nor misses one: a shop whose time passed
while the service was down is due at the first tick after start (catch-up), and storage's one
live run per shop and date (`RunExists`) stops a second process from doubling a run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlmodel import col, select

from agent.service.fanout import Due, RunQueue
from agent.service.webhook import push_run_report
from agent.storage import Run, RunExists, RunStatus, Shop, session_scope, utcnow

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = timedelta(minutes=30)
MAX_ATTEMPTS_PER_DAY = 3
ERROR_PAUSE = timedelta(minutes=5)  # after a run raised, the scheduler leaves the shop alone this long
STALE_AFTER = timedelta(minutes=30)  # a run still running this long after its start was left by a dead process


def run_time(shop: Shop) -> tuple[ZoneInfo, time]:
    """The shop's timezone and daily run time; ValueError naming the setting when either is unusable."""
    try:
        zone = ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"shop {shop.id}: timezone {shop.timezone!r} is not an IANA zone name") from None
    try:
        hour, minute = (int(part) for part in shop.daily_run_time.split(":"))
        return zone, time(hour, minute)
    except ValueError:
        raise ValueError(f"shop {shop.id}: daily_run_time {shop.daily_run_time!r} is not HH:MM") from None


def due_shops(
    shops: Iterable[Shop], runs: Iterable[Run], now: datetime,
    *, retry_after: timedelta = RETRY_FAILED_AFTER, max_attempts: int = MAX_ATTEMPTS_PER_DAY,
    stale_after: timedelta = STALE_AFTER,
) -> list[str]:
    """The ids of `due_runs`: the shops whose daily run should start or resume at `now`, in the order given."""
    return [due.shop_id for due in due_runs(shops, runs, now, retry_after=retry_after, max_attempts=max_attempts,
                                            stale_after=stale_after)]


def due_runs(
    shops: Iterable[Shop], runs: Iterable[Run], now: datetime,
    *, retry_after: timedelta = RETRY_FAILED_AFTER, max_attempts: int = MAX_ATTEMPTS_PER_DAY,
    stale_after: timedelta = STALE_AFTER,
) -> list[Due]:
    """The shops whose daily run should start at `now` (aware), in the order given, with their local date.

    A shop is due once its local clock has reached its run time and no run started on its local
    today, except runs that failed: after a failure it is due again `retry_after` later, up to
    `max_attempts` starts a day. A run the owner started by hand earlier that day counts as the
    day's run. A run still `running` `stale_after` after it started was left halfway (its process
    died): the shop is due again, and the run resumes where it stopped. Shops with an unusable
    timezone or run time are skipped (and logged).
    """
    by_shop: dict[str, list[Run]] = {}
    for run in runs:
        if run.kind == "daily":  # a chat run is the owner's idea, not the day's run
            by_shop.setdefault(run.shop_id, []).append(run)
    due = []
    for shop in shops:
        try:
            zone, at = run_time(shop)
        except ValueError as exc:
            log.warning("not scheduling: %s", exc)
            continue
        local = now.astimezone(zone)
        if local.time() < at:
            continue
        today = [r for r in by_shop.get(shop.id, []) if r.started_at.astimezone(zone).date() == local.date()]
        live = [r for r in today if r.status != RunStatus.FAILED]
        if live:
            if any(r.status == RunStatus.RUNNING and now - r.started_at >= stale_after for r in live):
                due.append(Due(shop.id, local.date(), len(today) - 1))  # the stale run's own attempt: resumed
            continue
        if len(today) >= max_attempts:
            continue
        if today and now - max(r.started_at for r in today) < retry_after:
            continue
        due.append(Due(shop.id, local.date(), len(today)))
    return due


@dataclass
class Scheduler:
    """Starts due runs and sweeps expired approvals on a BackgroundScheduler.

    jobs: an `agent.jobs.Jobs` (anything with `run_daily(shop_id, actor=...)` and `expire_due()`).
    now: the clock that decides what is due (tests move it); APScheduler keeps its own for timing.
    push: called with (shop_id, run_id) after a run saved its report; defaults to the webhook push.
    queue: when set, due runs and report pushes go on this queue for `xiaoer worker` processes instead of
    this process's threads (`agent.service.fanout`).
    """

    engine: Engine
    jobs: Any
    now: Callable[[], datetime] = utcnow
    tick_seconds: float = 60.0
    sweep_seconds: float = 300.0
    workers: int = 4
    base_url: str | None = None
    push: Callable[[str, str], object] | None = None
    queue: RunQueue | None = None
    aps: BackgroundScheduler = field(init=False)
    _in_flight: set[str] = field(default_factory=set, init=False)
    _quiet_until: dict[str, datetime] = field(default_factory=dict, init=False)  # after RunExists, see run_shop
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.aps = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(self.workers)},
            # A late or overlapping tick is simply dropped: the next one asks storage afresh.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        if self.push is None:
            self.push = lambda shop_id, run_id: push_run_report(self.engine, shop_id, run_id, base_url=self.base_url)

    def start(self) -> None:
        """Start ticking; the first tick and sweep run at once, so a day missed while down is caught up."""
        first = datetime.now(UTC)
        self.aps.add_job(self.tick, "interval", seconds=self.tick_seconds, id="tick", next_run_time=first)
        self.aps.add_job(self.sweep, "interval", seconds=self.sweep_seconds, id="sweep", next_run_time=first)
        self.aps.start()

    def stop(self, wait: bool = True) -> None:
        """Stop ticking; with `wait`, let runs under way finish first."""
        if self.aps.running:
            self.aps.shutdown(wait=wait)

    def due(self) -> list[str]:
        """The ids of the shops due now."""
        return [due.shop_id for due in self.due_runs()]

    def due_runs(self) -> list[Due]:
        """The shops due now, from storage (runs of the last two days are enough for any timezone)."""
        now = self.now()
        with session_scope(self.engine) as session:
            shops = list(session.exec(select(Shop).order_by(col(Shop.id))).all())
            runs = list(session.exec(select(Run).where(col(Run.started_at) >= now - timedelta(days=2))).all())
        return due_runs(shops, runs, now)

    def tick(self) -> list[str]:
        """Hand each due shop that is not already running to the worker pool, or to the queue; returns those handed.

        On the queue a shop's day and attempt goes once, whichever scheduler ticks first.
        """
        if self.queue is not None:
            return [due.shop_id for due in self.due_runs() if self.queue.enqueue_daily(due)]
        started = []
        now = self.now()
        for shop_id in self.due():
            with self._lock:
                if shop_id in self._in_flight or now < self._quiet_until.get(shop_id, now):
                    continue
                self._in_flight.add(shop_id)
            self.aps.add_job(self.run_shop, args=[shop_id], id=f"run:{shop_id}", replace_existing=True)
            started.append(shop_id)
        return started

    def run_shop(self, shop_id: str) -> None:
        """One shop's daily run, then its report to the webhook. Errors reach APScheduler's log."""
        try:
            view = self.jobs.run_daily(shop_id, actor="scheduler")
        except RunExists as exc:
            # Another process was first, or the platform's day has not moved on since the last run (a
            # simulated platform's clock is not ours): ask again only after a pause, not every minute.
            log.info("shop %s: %s", shop_id, exc)
            with self._lock:
                self._quiet_until[shop_id] = self.now() + RETRY_FAILED_AFTER
            return
        except Exception:
            # The platform down, the database gone for a moment: try again a little later, not every minute.
            with self._lock:
                self._quiet_until[shop_id] = self.now() + ERROR_PAUSE
            raise
        finally:
            with self._lock:
                self._in_flight.discard(shop_id)
        log.info("shop %s: run %s for %s is %s", shop_id, view.run_id, view.date, view.status)
        self.push_later(shop_id, view.run_id)

    def push_later(self, shop_id: str, run_id: str) -> None:
        """Push a run's report to the shop's webhook on a worker, so retries never hold up a caller."""
        assert self.push is not None
        if self.queue is not None:
            self.queue.enqueue_push(shop_id, run_id)
        elif self.aps.running:
            self.aps.add_job(self.push, args=[shop_id, run_id], id=f"push:{run_id}", replace_existing=True)
        else:
            self.push(shop_id, run_id)

    def sweep(self) -> list[str]:
        """Expire approvals past their time in every shop; their runs resume without them."""
        expired = self.jobs.expire_due()
        if expired:
            log.info("expired %d pending proposals", len(expired))
        return expired


def start_scheduler(app_state: Any, **options: Any) -> Scheduler:
    """Create and start the scheduler for an app (`app_state.engine`, `app_state.jobs`) and keep it on `app_state`.

    `options` go to `Scheduler` (now, tick_seconds, sweep_seconds, workers, base_url, push, queue).
    """
    scheduler = Scheduler(engine=app_state.engine, jobs=app_state.jobs, **options)
    scheduler.start()
    app_state.scheduler = scheduler
    return scheduler


def push_later(app_state: Any, shop_id: str, run_id: str) -> None:
    """Send a run's report to the shop's webhook in the background when the app runs a scheduler; else nothing.

    The one way the page and the API hand a run they started or resumed to the webhook.
    """
    scheduler = getattr(app_state, "scheduler", None)
    if scheduler is not None:
        scheduler.push_later(shop_id, run_id)


def stop_scheduler(app_state: Any) -> None:
    """Stop the app's scheduler, if it has one."""
    scheduler = getattr(app_state, "scheduler", None)
    if scheduler is not None:
        scheduler.stop()
        app_state.scheduler = None
