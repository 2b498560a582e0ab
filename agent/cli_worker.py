"""`xiaoer worker`: take shops' daily runs off the Redis queue (`XIAOER_QUEUE_URL`) and run them.

Start as many as the shops need, on any machines that reach the same database (`DATABASE_URL`,
PostgreSQL when there are several machines), checkpoints, platform and Redis; `xiaoer serve` with the
same `XIAOER_QUEUE_URL` keeps the schedule and fills the queue. Each run happens in a child process
of the worker (RQ's work horse), so a run that crashes or hangs takes nothing else down with it.
"""

from __future__ import annotations

from typing import Annotated

import typer


def worker_command(
    burst: Annotated[bool, typer.Option(help="Stop once the queue is empty instead of waiting for more runs. "
                                        "队列清空后即退出，而不是继续等待。")] = False,
    name: Annotated[str | None, typer.Option(help="This worker's name in the queue's records "
                                             "(default: host and process id).")] = None,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="Stop after this many runs.")] = None,
) -> None:
    """Run shops' daily runs from the queue (XIAOER_QUEUE_URL). 从队列（XIAOER_QUEUE_URL）领取并执行各店的每日运行。"""
    from rq import Worker

    from agent import storage
    from agent.service import app as _preloaded  # noqa: F401 - the agent's modules, imported once here so each
    from agent.service.fanout import RunQueue  # run's child process starts with them instead of importing anew
    from agent.service.settings import settings_or_exit

    settings = settings_or_exit()
    if settings.queue_url is None:
        typer.echo("XIAOER_QUEUE_URL is not set: there is no queue to work on (e.g. redis://127.0.0.1:6379/0).\n"
                   "未设置 XIAOER_QUEUE_URL：没有可领取的队列。", err=True)
        raise typer.Exit(2)
    engine = storage.make_engine(settings.database())
    try:
        storage.init_db(engine)  # once here, not in every run's process
    finally:
        engine.dispose()  # nothing open is carried into the runs' child processes
    queue = RunQueue(settings.queue_url)
    try:
        worker = Worker([queue.queue], connection=queue.redis, name=name)
        where = _shown(settings.queue_url)
        typer.echo(f"Xiaoer worker 店小二工作进程 {worker.name}: queue 队列 {queue.queue.name} on {where}")
        worker.work(burst=burst, max_jobs=max_jobs, logging_level="INFO")
    finally:
        queue.close()


def _shown(queue_url: str) -> str:
    """The Redis address without its password."""
    from urllib.parse import urlsplit

    url = urlsplit(queue_url)
    return f"{url.scheme}://{url.hostname}:{url.port or 6379}{url.path}"
