"""Many shops' daily runs through the Redis queue: how the day's work scales with `xiaoer worker` processes.

    python bench/bench_fanout.py [--shops 12] [--workers 1,2,4] [--latency-ms 50] [--repeat 2] [--json OUT]

A generated catalogue of `--shops` shops (3 SKUs each) on the simulated platform, served over HTTP
with `--latency-ms` added to every request (a marketplace's API is across the internet, not in this
process); a real PostgreSQL server for storage and checkpoints and a real Redis server for the queue
(both started here, as the tests start them). For each worker count the scheduler enqueues every
shop's run, that many `xiaoer worker --burst` processes drain the queue, and the wall time from the
workers' start to the last run's end gives runs per minute. Each round starts from a fresh database,
queue and platform, so every round does the same work. Figures are medians over `--repeat` rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from rq.job import Job

ROOT = Path(__file__).resolve().parents[1]
# The tests' throwaway PostgreSQL and Redis servers; the project's own packages first (tests/ has a tools/ too).
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))

from pg import create_database, drop_database, start_server  # noqa: E402
from redis_server import start_redis  # noqa: E402

from agent import storage  # noqa: E402
from agent.service.demo_platform import setup_demo_shops  # noqa: E402
from agent.service.fanout import RunQueue  # noqa: E402
from agent.service.schedule import Scheduler  # noqa: E402
from agent.serving import serve_in_thread  # noqa: E402
from marketplace.api import create_app as platform_app  # noqa: E402
from marketplace.client import AdminClient  # noqa: E402
from marketplace.generator import generate  # noqa: E402
from marketplace.world import World  # noqa: E402

XIAOER = str(Path(sys.executable).with_name("xiaoer"))
DUE_AT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai, the generated shops' run time
ADMIN = "bench-admin"


def one_round(server_url: str, redis_url: str, shops: int, workers: int, latency_ms: float) -> dict[str, Any]:
    """Fresh platform, database and queue; enqueue every shop's run; drain with `workers` burst workers."""
    world = World(generate(skus=3 * shops, shops=shops, seed=11, days=14))
    for _ in range(3):
        world.step()
    database = create_database(server_url)
    redis.Redis.from_url(redis_url).flushdb()
    engine = storage.make_engine(database)
    queue = RunQueue(redis_url)
    try:
        storage.init_db(engine)
        setup_demo_shops(engine, world)
        with serve_in_thread(platform_app(world, admin_token=ADMIN), name="platform") as url, \
                httpx.Client(base_url=url, timeout=30) as http, tempfile.TemporaryDirectory() as home:
            with storage.session_scope(engine) as s:
                for shop_id in world.shops:
                    storage.save_shop(s, shop_id, shop_id, platform_url=url)
            AdminClient(http, ADMIN).set_faults(latency_ms=latency_ms)
            enqueued = Scheduler(engine=engine, jobs=None, queue=queue, now=lambda: DUE_AT).tick()
            assert len(enqueued) == shops, enqueued
            env = {k: v for k, v in os.environ.items() if not k.startswith(("XIAOER_", "OPENAI_"))}
            env.update({"DATABASE_URL": database, "XIAOER_QUEUE_URL": redis_url, "XIAOER_HOME": home})
            started = time.perf_counter()
            procs = [subprocess.Popen([XIAOER, "worker", "--burst", "--name", f"w{i}"], env=env, cwd=home,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for i in range(workers)]
            for proc in procs:
                _, err = proc.communicate(timeout=1800)
                if proc.returncode != 0:
                    raise RuntimeError(f"worker failed ({proc.returncode}):\n{err[-3000:]}")
            wall = time.perf_counter() - started
        jobs = [Job.fetch(job_id, connection=queue.redis) for job_id in queue.queue.finished_job_registry.get_job_ids()
                if job_id.startswith("daily-")]
        done = [j for j in jobs if j.get_status() == "finished" and "run_id" in (j.return_value() or {})]
        if len(done) != shops:
            raise RuntimeError(f"{len(done)} of {shops} runs finished")
        per_run = [(j.ended_at - j.started_at).total_seconds() for j in done if j.ended_at and j.started_at]
        return {"workers": workers, "wall_s": wall, "runs_per_min": 60 * shops / wall,
                "run_s_median": statistics.median(per_run), "by_worker": _count(j.worker_name for j in done)}
    finally:
        queue.close()
        engine.dispose()
        drop_database(server_url, database)


def _count(names: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[str(name)] = counts.get(str(name), 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=12)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to try, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every platform request")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    pg, rs = start_server(), start_redis()
    rows = []
    try:
        for workers in counts:
            rounds = [one_round(pg.url, rs.url, args.shops, workers, args.latency_ms) for _ in range(args.repeat)]
            row = {"workers": workers, "rounds": rounds,
                   "wall_s": statistics.median(r["wall_s"] for r in rounds),
                   "runs_per_min": statistics.median(r["runs_per_min"] for r in rounds),
                   "run_s_median": statistics.median(r["run_s_median"] for r in rounds)}
            rows.append(row)
            print(f"{workers} worker(s): {args.shops} shops in {row['wall_s']:.1f} s, "
                  f"{row['runs_per_min']:.1f} runs/min, one run {row['run_s_median']:.2f} s (median of "
                  f"{args.repeat}); runs per worker {[r['by_worker'] for r in rounds]}", flush=True)
    finally:
        rs.stop()
        pg.stop()
    base = rows[0]["runs_per_min"]
    for row in rows:
        row["speedup"] = row["runs_per_min"] / base
    print("speed-up against one worker: " + ", ".join(f"{r['workers']}: {r['speedup']:.2f}x" for r in rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"shops": args.shops, "latency_ms": args.latency_ms, "repeat": args.repeat,
                                         "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
