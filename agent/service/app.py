"""The owner-facing HTTP API: `create_app` builds it, its lifespan opens what it owns.

Run it with `uvicorn --factory agent.service.app:create_app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from agent.checkpoints import open_checkpointer
from agent.jobs import Jobs
from agent.llm import make_chat_model
from agent.locks import RedisLocks
from agent.service import (
    errors,
    metrics,
    routes_admin,
    routes_chat,
    routes_ops,
    routes_policy,
    routes_proposals,
    routes_reports,
    routes_runs,
    routes_shop,
    web,
)
from agent.service.fanout import API_LOCK_WAIT, RunQueue, shop_locks
from agent.service.platform import ShopPlatforms
from agent.service.schedule import start_scheduler, stop_scheduler
from agent.service.settings import ServiceSettings
from agent.storage import init_db, make_engine
from marketplace.client import PlatformClient

DESCRIPTION = """\
Xiaoer (店小二) runs a shop's ad bids, budgets and coupons inside the limits its owner sets.

**Owners** call `/shops/{shop_id}/…` with their shop's owner token (`Authorization: Bearer …`); a token
sees its own shop only, and every other shop's id answers 404. The **admin** (`XIAOER_ADMIN_TOKEN`)
creates shops and issues owner tokens under `/admin`. Every error has the same body:
`{"error": {"code", "message", "field"}}`.
"""

TAGS = [
    {"name": "chat", "description": "Ask the agent about the shop; answers stream as server-sent events."},
    {"name": "proposals", "description": "The approval queue: what the agent wants to do, and the owner's answer."},
    {"name": "runs", "description": "The agent's daily runs."},
    {"name": "reports", "description": "Daily reports in Markdown, HTML or JSON."},
    {"name": "policy", "description": "The owner's limits, versioned. Only an owner token changes them."},
    {"name": "audit", "description": "The append-only audit log."},
    {"name": "shop", "description": "The shop's settings."},
    {"name": "admin", "description": "Shops and owner tokens (admin token only)."},
    {"name": "operations", "description": "Health and metrics."},
]


def create_app(
    settings: ServiceSettings | None = None, *, jobs: Jobs | None = None, engine: Engine | None = None,
    checkpointer: Any = None, platform: Callable[[str], PlatformClient] | None = None, chat_model: Any = None,
) -> FastAPI:
    """The API app. Whatever is passed in is used as it is (and stays open afterwards); the rest is
    opened from `settings` (default: the environment) when the app starts and closed when it stops.

    jobs: the daily-run service; its engine, checkpointer and platform serve the app too unless given.
    platform: shop id → PlatformClient; default from each shop's stored platform URL and token.
    chat_model: the chat's LLM; default the configured one (XIAOER_LLM_*), or none.
    With `settings.scheduler` (XIAOER_SCHEDULER, default on) the app runs the daily scheduler while it is up.
    """
    settings = settings or ServiceSettings()
    given = {"engine": engine or (jobs.engine if jobs else None),
             "checkpointer": checkpointer or (jobs.checkpointer if jobs else None),
             "platform": platform or (jobs.platform if jobs else None), "jobs": jobs, "chat_model": chat_model}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as owned:
            _open(app, settings, owned)
            if settings.scheduler:  # stopped first on the way out: runs under way finish on an open database
                start_scheduler(app.state, base_url=settings.public_url, queue=app.state.queue)
                owned.callback(stop_scheduler, app.state)
            yield
        for name, value in given.items():  # what the lifespan opened is closed now: a restart opens it again
            setattr(app.state, name, value)
        app.state.queue = None

    app = FastAPI(title="Xiaoer 店小二", version="0.1.0", description=DESCRIPTION, openapi_tags=TAGS,
                  lifespan=lifespan)
    app.state.settings = settings
    for name, value in given.items():  # usable at once, even without the lifespan (e.g. schema tests)
        setattr(app.state, name, value)
    app.state.scheduler = None
    app.state.queue = None  # a RunQueue when daily runs fan out to workers (XIAOER_QUEUE_URL)
    errors.install(app)
    for module in (routes_ops, routes_shop, routes_chat, routes_proposals, routes_runs, routes_reports,
                   routes_policy, routes_admin, web):
        app.include_router(module.router)
    return app


def _open(app: FastAPI, settings: ServiceSettings, owned: ExitStack) -> None:
    """Open what was not passed to create_app (engine, checkpointer, platform clients, chat model, jobs, queue)."""
    state = app.state
    if state.jobs is None:
        state.jobs = open_jobs(settings, owned, engine=state.engine, checkpointer=state.checkpointer,
                               platform=state.platform)
    else:
        init_db(state.jobs.engine)
    state.engine = state.engine or state.jobs.engine
    state.checkpointer = state.checkpointer or state.jobs.checkpointer
    state.platform = state.platform or state.jobs.platform
    if state.chat_model is None:
        state.chat_model = make_chat_model(streaming=True)
    if settings.queue_url is not None:
        state.queue = RunQueue(settings.queue_url)
        owned.callback(state.queue.close)


def open_jobs(
    settings: ServiceSettings, owned: ExitStack, *, engine: Engine | None = None, checkpointer: Any = None,
    platform: Callable[[str], PlatformClient] | None = None, migrate: bool = True, lock_wait: float = API_LOCK_WAIT,
) -> Jobs:
    """The daily-run service as `settings` describe it; what is not passed in is opened and left to `owned` to close.

    The one place the API process and a `xiaoer worker` build it, so both drive runs alike: the same
    database (migrated here unless `migrate` is off), checkpoints, platform clients, model and shop locks
    (`lock_wait`: seconds a step waits for a shop another process holds).
    """
    if engine is None:
        engine = make_engine(settings.database())
        owned.callback(engine.dispose)
    if migrate:
        init_db(engine)
    if checkpointer is None:
        checkpointer = owned.enter_context(open_checkpointer(settings.checkpoint_target()))
    if platform is None:
        platform = owned.enter_context(ShopPlatforms(engine))
    locks = shop_locks(settings, wait=lock_wait)
    if isinstance(locks, RedisLocks):
        owned.callback(locks.close)
    return Jobs(engine=engine, checkpointer=checkpointer, platform=platform, out_dir=settings.reports_dir,
                llm=make_chat_model(), on_llm_tokens=metrics.add_llm_tokens, locks=locks)
