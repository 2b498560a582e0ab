"""`xiaoer serve`: the owner API, the owner page and the daily scheduler in one process, under uvicorn.

Shops come from storage (`DATABASE_URL`, default SQLite under `XIAOER_HOME`), created with the
admin API. With `--with-platform SCENARIO` the simulated platform runs in this process as well
(`agent.service.demo_platform`): every shop of the scenario is registered with its platform token
and the scenario's policy, an owner token is issued per shop and printed once, and the platform's
clock starts a few days in. That clock does not follow the wall clock: it moves a day once the
current day's runs are done (`--advance-after-run`), so "Run now" always has a new day to run.
The platform lives in memory: a restart begins the scenario afresh, past the days already run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the service's modules load only when the command runs: `xiaoer --help` stays quick
    from fastapi import FastAPI
    from sqlalchemy import Engine

    from agent.service.settings import ServiceSettings


def serve_command(
    with_platform: Annotated[Path | None, typer.Option(
        "--with-platform", metavar="SCENARIO", exists=True, dir_okay=False,
        help="Also run the simulated platform of this scenario in this process, its shops registered and an "
        "owner token printed for each. 同时在本进程运行该场景的模拟平台，并为每家店打印店主令牌。")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8800,
    days: Annotated[int, typer.Option(min=0, help="With --with-platform: simulated days of history before the "
                                      "first run (more when this XIAOER_HOME has run later days).")] = 3,
    advance_after_run: Annotated[bool, typer.Option(help="With --with-platform: move the simulated clock a day "
                                                    "once the current day's runs are done (a run waiting for "
                                                    "approval holds the day until it is answered).")] = True,
    scheduler: Annotated[bool | None, typer.Option(help="Run each shop's daily run at its local time "
                                                   "(default: XIAOER_SCHEDULER, on).")] = None,
) -> None:
    """Serve the owner API (/docs), the owner page (/) and the daily scheduler. 提供店主 API、店主页面和每日调度。

    With --with-platform, "Run now" on the page runs the simulated day; once it is done, the clock moves a day.

    启用 --with-platform 时，页面上的「立即运行」运行当前模拟日；运行完成后，模拟时钟前进一天。
    """
    from agent import storage
    from agent.service.settings import settings_or_exit

    url = f"http://{_shown_host(host)}:{port}"
    settings = settings_or_exit()
    updates: dict[str, Any] = {"public_url": settings.public_url or url}
    if scheduler is not None:
        updates["scheduler"] = scheduler
    if with_platform is not None and settings.queue_url is not None:
        _say("--with-platform: the simulated platform lives in this process, out of the workers' reach, so runs "
             "happen here (XIAOER_QUEUE_URL is not used).\n"
             "--with-platform：模拟平台在本进程内，工作进程访问不到，因此运行在本进程进行（不使用 XIAOER_QUEUE_URL）。")
        updates["queue_url"] = None
    settings = settings.model_copy(update=updates)
    engine = storage.make_engine(settings.database())
    storage.init_db(engine)
    try:
        if with_platform is None:
            _serve_stored_shops(settings, engine, url, host, port)
        else:
            _serve_with_platform(settings, engine, with_platform, url, host, port, days, advance_after_run)
    finally:
        engine.dispose()


def _serve_stored_shops(settings: ServiceSettings, engine: Engine, url: str, host: str, port: int) -> None:
    from sqlmodel import func, select

    from agent import storage
    from agent.service.app import create_app

    with storage.session_scope(engine) as s:
        shops = s.exec(select(func.count()).select_from(storage.Shop)).one()
    _say(f"Xiaoer 店小二: owner page 店主页面 {url}/ · API docs 接口文档 {url}/docs · {shops} shop(s) 家店铺")
    if settings.queue_url is not None and settings.scheduler:
        _say("Daily runs go on the Redis queue (XIAOER_QUEUE_URL) for `xiaoer worker` processes to run.\n"
             "每日运行放入 Redis 队列（XIAOER_QUEUE_URL），由 `xiaoer worker` 进程执行。")
    if not shops:
        _say("No shops yet: set XIAOER_ADMIN_TOKEN and create one with POST /admin/shops, or try "
             "`xiaoer serve --with-platform scenarios/price_sensitive.yaml`.\n"
             "还没有店铺：设置 XIAOER_ADMIN_TOKEN 后用 POST /admin/shops 创建，或先试试 --with-platform。")
    _run(create_app(settings, engine=engine), host, port, settings)


def _serve_with_platform(settings: ServiceSettings, engine: Engine, scenario: Path, url: str, host: str, port: int,
                         days: int, advance_after_run: bool) -> None:
    from agent.service.demo_platform import demo_app, setup_demo_shops
    from marketplace.scenario import ScenarioError, load_scenario
    from marketplace.world import World

    try:
        world = World(load_scenario(scenario))
    except (ScenarioError, ValueError) as exc:
        _say(str(exc))
        raise typer.Exit(2) from None
    tokens = setup_demo_shops(engine, world)
    with demo_app(settings, engine, world, days=days, advance_after_run=advance_after_run) as app:
        today = world.date_of(world.day).isoformat()
        _say(f"Simulated platform 模拟平台: {world.scenario.name}, day 第 {world.day} 天 ({today}), in this process "
             "在本进程内运行")
        for shop_id, token in tokens.items():
            _say(f"open {url}/ and sign in with {token}  (shop {shop_id})\n"
                 f"打开 {url}/ ，用 {token} 登录（店铺 {shop_id}）")
        _say(f"API docs 接口文档: {url}/docs — the token is shown once; keep it. 令牌只显示这一次，请保存。")
        if advance_after_run:
            _say("\"Run now\" runs the simulated day; when it is done the platform moves to the next day.\n"
                 "「立即运行」运行当前模拟日；运行完成后平台进入下一天。")
        if world.day + 1 >= world.scenario.horizon_days:
            _say("This is the scenario's last day; use a fresh XIAOER_HOME to start over.\n"
                 "这是该场景的最后一天；换一个新的 XIAOER_HOME 可重新开始。")
        _run(app, host, port, settings)


def _run(app: FastAPI, host: str, port: int, settings: ServiceSettings) -> None:
    import uvicorn

    if settings.scheduler:
        _say("The scheduler runs each shop daily at its local time (default 08:00 Asia/Shanghai), at once if that "
             "passed today. 调度器每天按店铺当地时间运行（默认 08:00），今天已过点则启动即运行。")
    _say("Ctrl+C to stop. 按 Ctrl+C 停止。")
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)


def _shown_host(host: str) -> str:
    """The address to print for a listening interface: a wildcard is reached on loopback."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _say(line: str) -> None:
    typer.echo(line)  # plain text: a token must not be wrapped by a terminal-width renderer
