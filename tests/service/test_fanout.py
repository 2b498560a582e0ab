"""Many shops fanned out to `xiaoer worker` processes through a real Redis queue, on a real PostgreSQL database,
against the simulated platform served over HTTP: each shop runs once a day whoever takes it, the shop lock holds
across processes, and a worker killed mid-run is finished by another without writing anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pg import free_port
from pydantic import ValidationError
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import Engine
from sqlmodel import select

from agent import storage
from agent.llm_stub import LlmStub, Reply, run_stub, say
from agent.locks import RedisLocks, ShopBusy
from agent.service import metrics
from agent.service.app import create_app
from agent.service.demo_platform import setup_demo_shops
from agent.service.fanout import QUEUE_NAME, Due, RunQueue
from agent.service.schedule import Scheduler
from agent.service.settings import ServiceSettings
from agent.serving import serve_in_thread
from marketplace.api import create_app as platform_app
from marketplace.client import AdminClient
from marketplace.generator import generate
from marketplace.world import World

from .conftest import SHOP_A, Service
from .test_web_chat import sign_in

ROOT = Path(__file__).resolve().parents[2]
XIAOER = str(Path(sys.executable).with_name("xiaoer"))
PLATFORM_ADMIN = "platform-admin-fanout"
SHOPS = 6
# The shops' run time is 08:00 in Asia/Shanghai (the generator's default): due at 00:00 UTC.
DUE_AT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@dataclass
class Fleet:
    """Storage, the platform over HTTP and the queue, and how to start workers against them."""

    engine: Engine
    world: World
    platform: AdminClient
    queue: RunQueue
    env: dict[str, str]
    home: Path

    def worker(self, name: str, *, burst: bool = True) -> subprocess.Popen[str]:
        """`xiaoer worker` as its own process (and process group, so it can be killed with its runs)."""
        args = [XIAOER, "worker", "--name", name] + (["--burst"] if burst else [])
        return subprocess.Popen(args, env=self.env, cwd=self.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)

    def daily_runs(self, shop_id: str | None = None) -> list[storage.Run]:
        with storage.session_scope(self.engine) as s:
            query = select(storage.Run).where(storage.Run.kind == "daily")
            if shop_id is not None:
                query = query.where(storage.Run.shop_id == shop_id)
            return list(s.exec(query).all())


def finish(process: subprocess.Popen[str], timeout: float = 240) -> str:
    """Wait for a worker to exit on its own; its output (it must have exited cleanly)."""
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out[-3000:]
    return out


@pytest.fixture
def fleet(tmp_path: Path, pg_database: str, redis_url: str) -> Iterator[Fleet]:
    world = World(generate(skus=3 * SHOPS, shops=SHOPS, seed=11, days=14))
    for _ in range(3):
        world.step()
    engine = storage.make_engine(pg_database)
    storage.init_db(engine)
    setup_demo_shops(engine, world)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XIAOER_", "OPENAI_"))}
    env.update({"DATABASE_URL": pg_database, "XIAOER_QUEUE_URL": redis_url, "XIAOER_HOME": str(tmp_path),
                "XIAOER_LOCK_LEASE": "3"})
    queue = RunQueue(redis_url)
    try:
        with serve_in_thread(platform_app(world, admin_token=PLATFORM_ADMIN), name="platform") as url:
            with storage.session_scope(engine) as s:
                for shop_id in world.shops:
                    storage.save_shop(s, shop_id, shop_id, platform_url=url)
            import httpx

            with httpx.Client(base_url=url, timeout=30) as http:
                yield Fleet(engine, world, AdminClient(http, PLATFORM_ADMIN), queue, env, tmp_path)
    finally:
        queue.close()
        engine.dispose()


def scheduler(fleet: Fleet) -> Scheduler:
    return Scheduler(engine=fleet.engine, jobs=None, queue=fleet.queue, now=lambda: DUE_AT, push=lambda s, r: None)


def applied_twice(changes: list[dict]) -> list[str]:
    """Idempotency keys the platform applied more than once (must be none)."""
    return [key for key, n in Counter(c["idempotency_key"] for c in changes).items() if n > 1]


def test_two_workers_share_the_days_runs_and_each_shop_runs_once(fleet: Fleet):
    # Two schedulers (two `xiaoer serve` processes) tick at the same moment: every shop goes on the queue once.
    first, second = scheduler(fleet).tick(), scheduler(fleet).tick()
    assert sorted(first) == sorted(fleet.world.shops) and second == []
    assert fleet.queue.queue.count == SHOPS
    assert fleet.daily_runs() == [], "the schedulers only enqueue; nothing ran in this process"
    assert f'xiaoer_queue_jobs{{state="queued"}} {SHOPS}' in metrics.render(fleet.engine, fleet.queue).splitlines()

    workers = [fleet.worker("w1"), fleet.worker("w2")]
    outputs = [finish(w) for w in workers]

    runs = fleet.daily_runs()
    assert sorted(r.shop_id for r in runs) == sorted(fleet.world.shops), outputs
    assert {r.status for r in runs} <= {"done", "waiting_approval"}, outputs
    jobs = [Job.fetch(Due(r.shop_id, _local_date(), 0).job_id, connection=fleet.queue.redis) for r in runs]
    assert {job.get_status() for job in jobs} == {"finished"}
    assert {job.return_value()["run_id"] for job in jobs} == {r.id for r in runs}
    assert {job.worker_name for job in jobs} == {"w1", "w2"}, "both workers took runs"
    changes = fleet.platform.changes()
    assert changes, "the runs changed something on the platform"
    assert applied_twice(changes) == []
    with storage.session_scope(fleet.engine) as s:
        reported = {r.shop_id for r in s.exec(select(storage.Report)).all()}
    assert reported == set(fleet.world.shops), "each run wrote its report (before waiting for the owner)"

    # The next tick finds nothing due: the day's runs are in storage, whichever process made them.
    assert scheduler(fleet).tick() == []
    shown = metrics.render(fleet.engine, fleet.queue).splitlines()
    assert {'xiaoer_queue_jobs{state="queued"} 0', 'xiaoer_queue_workers 0'} <= set(shown), "drained, workers gone"
    fleet.queue.add_llm_tokens(7)  # what a worker's run with a model adds
    assert "xiaoer_worker_llm_tokens_total 7" in metrics.render(fleet.engine, fleet.queue).splitlines()


def _local_date() -> date:
    return (DUE_AT + timedelta(hours=8)).date()  # Asia/Shanghai


def test_a_worker_killed_mid_run_is_finished_by_another_without_writing_twice(fleet: Fleet):
    shop_id = sorted(fleet.world.shops)[0]
    assert fleet.queue.enqueue_daily(Due(shop_id, _local_date(), 0))
    fleet.platform.set_faults(latency_ms=250)  # a slow marketplace: the run is long enough to be caught halfway
    doomed = fleet.worker("doomed", burst=False)
    deadline = time.monotonic() + 120
    while not fleet.platform.changes(shop_id):
        assert time.monotonic() < deadline and doomed.poll() is None, "the run never wrote anything"
        time.sleep(0.05)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and the run's process, mid-execute
    doomed.wait(timeout=10)
    written_before = len(fleet.platform.changes(shop_id))
    (run,) = fleet.daily_runs(shop_id)
    assert run.status == "running", "killed halfway"

    # RQ notices a dead worker when its heartbeat expires; move its clock past that instead of waiting.
    registry = StartedJobRegistry(queue=Queue(QUEUE_NAME, connection=fleet.queue.redis))
    registry.cleanup(timestamp=time.time() + 3600)
    assert fleet.queue.queue.count == 1, "the abandoned run is back on the queue (it has retries left)"
    fleet.platform.clear_faults()
    finish(fleet.worker("rescuer"))

    (resumed,) = fleet.daily_runs(shop_id)
    assert resumed.id == run.id and resumed.status in ("done", "waiting_approval"), "the same run, finished"
    changes = fleet.platform.changes(shop_id)
    assert applied_twice(changes) == []
    with storage.session_scope(fleet.engine) as s:
        executed = [p for p in storage.proposals_for_run(s, run.id) if p.state == "executed"]
    assert len(changes) == len(executed) >= written_before, "each executed action written once, none lost"


# --- the shop lock across processes ---------------------------------------------------------------------------------

def test_the_shop_lock_is_held_across_connections_and_renewed_while_held(redis_url: str):
    holder, other = RedisLocks(redis_url, lease=0.6), RedisLocks(redis_url, lease=0.6, wait=0.2)
    try:
        with holder("s1"):
            time.sleep(1.5)  # over two leases: the renewer keeps it
            with pytest.raises(ShopBusy, match="shop s1 is busy"):
                with other("s1"):
                    pass
            with other("s2"):  # another shop is free
                pass
        with other("s1"):  # released at the end of the block
            pass
    finally:
        holder.close()
        other.close()


def test_a_dead_holders_lock_frees_itself_when_its_lease_runs_out(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    # A process took shop s1 with a 1-second lease and died: nothing renews or releases it.
    assert client.lock("xiaoer:shop-lock:s1", timeout=1.0).acquire(blocking=False)
    locks = RedisLocks(redis_url, wait=10)
    started = time.monotonic()
    try:
        with locks("s1"):
            waited = time.monotonic() - started
    finally:
        locks.close()
        client.close()
    assert 0.5 < waited < 10


def test_the_api_and_a_worker_take_turns_on_a_shop(redis_url: str, tmp_path: Path):
    """The API process, with the queue configured, uses the same Redis locks as the workers, and its scheduler
    hands runs to the queue."""
    settings = ServiceSettings(home=tmp_path, queue_url=redis_url, scheduler=True)
    app = create_app(settings)

    with TestClient(app):
        assert isinstance(app.state.queue, RunQueue) and app.state.scheduler.queue is app.state.queue
        locks = app.state.jobs.locks
        assert isinstance(locks, RedisLocks)
        worker = RedisLocks(redis_url, wait=0.2)
        entered = threading.Event()

        def step_of_the_api() -> None:
            with locks("s1"):
                entered.set()

        with worker("s1"):
            thread = threading.Thread(target=step_of_the_api)
            thread.start()
            assert not entered.wait(0.5), "the API waits while a worker holds the shop"
        thread.join(5)
        assert entered.is_set()
        worker.close()


def test_queue_settings_are_checked():
    with pytest.raises(ValidationError, match="XIAOER_QUEUE_URL: give a Redis URL"):
        ServiceSettings(queue_url="http://127.0.0.1:6379")
    with pytest.raises(ValidationError, match="lock_lease|XIAOER_LOCK_LEASE"):
        ServiceSettings(lock_lease=0)
    assert ServiceSettings(queue_url="").queue_url is None  # a blank line in .env means unset


def test_worker_without_a_queue_says_so():
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOER_")}
    done = subprocess.run([XIAOER, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "XIAOER_QUEUE_URL is not set" in done.stderr and "未设置 XIAOER_QUEUE_URL" in done.stderr


def test_an_owner_asking_while_a_worker_holds_the_shop_is_told_it_is_busy(service: Service, redis_url: str):
    token = service.create_shop(SHOP_A, policy={})
    csrf = sign_in(service, token)
    service.app.state.jobs.locks = RedisLocks(redis_url, wait=0.2)  # as the API process's, without its 30 s wait
    worker = RedisLocks(redis_url)
    try:
        with worker(SHOP_A):  # a worker is running the shop's day
            answer = service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token))
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "busy"
            page = service.http.post("/run", data={"csrf": csrf, "lang": "zh-CN"})
            assert page.status_code == 409 and "店小二正在处理这家店" in page.text
        assert service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token)).status_code == 201
    finally:
        worker.close()
        service.app.state.jobs.locks.close()


def test_with_redis_down_the_owner_is_told_and_nothing_changes(service: Service):
    token = service.create_shop(SHOP_A, policy={})
    csrf = sign_in(service, token)
    nowhere = RedisLocks(f"redis://127.0.0.1:{free_port()}/0", wait=0.2)  # nothing listens there
    service.app.state.jobs.locks = nowhere
    try:
        answer = service.http.post(f"/shops/{SHOP_A}/runs", headers=service.bearer(token))
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "queue_unavailable"
        assert answer.headers["retry-after"] == "60"
        page = service.http.post("/run", data={"csrf": csrf, "lang": "zh-CN"})
        assert page.status_code == 503 and "运行队列（Redis）没有响应" in page.text
        assert service.http.get(f"/shops/{SHOP_A}/runs", headers=service.bearer(token)).json() == [], "nothing ran"
    finally:
        nowhere.close()


def test_a_workers_run_with_a_model_counts_its_tokens_where_the_api_reads_them(fleet: Fleet):
    """A model behind the real OpenAI wire protocol (the local stub), reached from the worker's own process."""
    narrative = "Stub narrative from a worker."

    def rule(messages: list[dict], tools: list[dict]) -> Reply:
        return say(narrative if not tools else "Nothing to change today.")  # the reporter has no tools

    stub = LlmStub(rule)
    shop_id = sorted(fleet.world.shops)[0]
    with run_stub(stub) as url:
        fleet.env.update({"XIAOER_LLM_BASE_URL": url, "XIAOER_LLM_API_KEY": "stub"})
        assert fleet.queue.enqueue_daily(Due(shop_id, _local_date(), 0))
        finish(fleet.worker("with-model"))
    (run,) = fleet.daily_runs(shop_id)
    assert run.status in ("done", "waiting_approval")
    assert stub.total_tokens > 0 and fleet.queue.llm_tokens() == stub.total_tokens
    assert f"xiaoer_worker_llm_tokens_total {stub.total_tokens}" in metrics.render(fleet.engine, fleet.queue)
    with storage.session_scope(fleet.engine) as s:
        assert any(narrative in r.markdown for r in storage.list_reports(s, shop_id))
