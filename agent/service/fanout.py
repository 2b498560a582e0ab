"""Many shops on many machines: daily runs go through a Redis queue to `xiaoer worker` processes (RQ).

With `XIAOER_QUEUE_URL` set, the scheduler of `xiaoer serve` (one process or several) keeps the
schedule as before, asking storage which shops are due, but instead of running them on its own
threads it puts one job per shop, day and attempt on the queue. Any number of `xiaoer worker`
processes, on any machine that reaches the same database, checkpoints, platform and Redis, take
the jobs and run them. The promises of one process still hold across many:

- One job per shop, day and attempt: its id is `daily-{shop}-{local date}-{attempt}` and it is
  enqueued with RQ's `unique`, so two schedulers ticking at once put it on the queue once.
- One run step at a time per shop: workers and the API hold the shop's lock in Redis
  (`agent.locks.RedisLocks`), whoever drives the run (a worker, the owner's approval, the sweep).
- One run per shop per day: storage's unique live run per shop and date, as in one process.
- A worker killed mid-run: RQ sees its heartbeat stop and retries the job; the retry resumes the
  same run from its checkpoint and the platform's idempotency keys keep any write from applying
  twice. A run left `running` past RQ's retries is found stale by the scheduler and enqueued again.

Each job opens what it needs from the environment (`ServiceSettings`), in the process that runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from agent.locks import WAIT_SECONDS, LocalLocks, RedisLocks, ShopLocks
from agent.storage import RunExists

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

    from agent.jobs import Jobs
    from agent.service.settings import ServiceSettings

log = logging.getLogger(__name__)

QUEUE_NAME = "xiaoer-runs"
RUN_TIMEOUT = timedelta(hours=1)  # RQ stops a run that takes longer (a model that never answers)
KEEP_JOB = timedelta(minutes=30)  # a finished job's id blocks the same shop-day-attempt this long
RETRIES = 2  # a job that raised, or whose worker died, runs again this many times, at once
TOKENS_KEY = "xiaoer:llm-tokens"  # LLM tokens used by runs in workers, for the API's /metrics
API_LOCK_WAIT = 30.0  # seconds an owner's request waits for a shop a worker is running


@dataclass(frozen=True)
class Due:
    """A shop whose daily run should start (or, left stale, resume): its local date and which attempt."""

    shop_id: str
    local_date: date
    attempt: int  # runs already started on that local date (the failed ones and a stale one)

    @property
    def job_id(self) -> str:
        return f"daily-{job_safe(self.shop_id)}-{self.local_date.isoformat()}-{self.attempt}"


def job_safe(name: str) -> str:
    """`name` in the letters RQ allows in a job id (letters, digits, `-`, `_`), one to one: `_` and `.` are escaped."""
    return name.replace("_", "_5f").replace(".", "_2e")


class RunQueue:
    """The queue the scheduler fills and `xiaoer worker` empties (an RQ queue on the Redis at `url`)."""

    def __init__(self, url: str, *, name: str = QUEUE_NAME) -> None:
        from redis import Redis
        from rq import Queue

        self.redis: Redis = Redis.from_url(url)
        self.queue: Queue = Queue(name, connection=self.redis)

    def enqueue_daily(self, due: Due) -> bool:
        """Put the shop's run on the queue; False when that shop, day and attempt is already there (or just ran)."""
        from rq import Retry
        from rq.exceptions import DuplicateJobError

        try:
            self.queue.enqueue(daily_job, due.shop_id, job_id=due.job_id, unique=True,
                               job_timeout=int(RUN_TIMEOUT.total_seconds()), retry=Retry(max=RETRIES),
                               result_ttl=int(KEEP_JOB.total_seconds()), failure_ttl=int(KEEP_JOB.total_seconds()),
                               description=f"daily run of shop {due.shop_id} for {due.local_date}")
        except DuplicateJobError:
            return False
        return True

    def enqueue_push(self, shop_id: str, run_id: str) -> None:
        """Send the run's report to the shop's webhook from a worker (once per run: the job id is the run's)."""
        from rq.exceptions import DuplicateJobError

        try:
            self.queue.enqueue(push_job, shop_id, run_id, job_id=f"push-{job_safe(run_id)}", unique=True,
                               result_ttl=int(KEEP_JOB.total_seconds()), description=f"report of run {run_id}")
        except DuplicateJobError:
            pass

    def counts(self) -> dict[str, int]:
        """Jobs by state: waiting on the queue, running, failed (kept a while), and the workers listening."""
        from rq import Worker

        return {"queued": self.queue.count, "started": self.queue.started_job_registry.count,
                "failed": self.queue.failed_job_registry.count,
                "workers": Worker.count(connection=self.redis, queue=self.queue)}

    def add_llm_tokens(self, n: int) -> None:
        """Count LLM tokens a worker's run used, where the API's /metrics can read them."""
        self.redis.incrby(TOKENS_KEY, int(n))

    def llm_tokens(self) -> int:
        """LLM tokens used by every worker's runs so far."""
        return int(self.redis.get(TOKENS_KEY) or 0)

    def close(self) -> None:
        self.redis.close()


def shop_locks(settings: ServiceSettings, *, wait: float = API_LOCK_WAIT) -> ShopLocks:
    """The shop locks for this process: in Redis when runs fan out (`XIAOER_QUEUE_URL`), else in this process.

    `wait`: how long a step waits for a shop another process holds before ShopBusy (the API answers 409 then;
    a worker waits longer, as nobody waits on it).
    """
    if settings.queue_url is None:
        return LocalLocks()
    return RedisLocks(settings.queue_url, lease=settings.lock_lease, wait=wait)


# --- what the workers run ---------------------------------------------------------------------------------------
def daily_job(shop_id: str) -> dict[str, Any]:
    """One shop's daily run, in a worker: started, or resumed where a dead worker left it."""
    from agent.service.settings import ServiceSettings

    settings = ServiceSettings()
    queue = RunQueue(str(settings.queue_url))
    try:
        with _worker_jobs(settings) as jobs:
            jobs.on_llm_tokens = queue.add_llm_tokens  # this process ends with the run: count them in Redis
            try:
                view = jobs.run_daily(shop_id, actor="scheduler")
            except RunExists as exc:
                log.info("shop %s: %s", shop_id, exc)
                return {"shop_id": shop_id, "skipped": str(exc)}
            except LookupError as exc:  # no such shop, no policy, no platform settings: a retry cannot help
                log.warning("shop %s: not run: %s", shop_id, exc)
                return {"shop_id": shop_id, "skipped": str(exc)}
        log.info("shop %s: run %s for %s is %s", shop_id, view.run_id, view.date, view.status)
        queue.enqueue_push(shop_id, view.run_id)
    finally:
        queue.close()
    return {"shop_id": shop_id, "run_id": view.run_id, "date": view.date, "status": view.status,
            "counts": view.counts, "pending": len(view.pending)}


def push_job(shop_id: str, run_id: str) -> None:
    """Push a run's report to the shop's webhook (retried with backoff inside)."""
    from agent.service.settings import ServiceSettings
    from agent.service.webhook import push_run_report
    from agent.storage import make_engine

    settings = ServiceSettings()
    engine = make_engine(settings.database())
    try:
        push_run_report(engine, shop_id, run_id, base_url=settings.public_url)
    finally:
        engine.dispose()


@contextmanager
def _worker_jobs(settings: ServiceSettings) -> Iterator[Jobs]:
    from agent.service.app import open_jobs

    with ExitStack() as owned:
        # `xiaoer worker` migrated the database as it started; a worker may wait long for a shop the API holds.
        yield open_jobs(settings, owned, migrate=False, lock_wait=WAIT_SECONDS)
