"""The platform's HTTP API (FastAPI): the only door to the simulated world for any client.

Shops authenticate with their bearer token and see only their own resources (another shop's
answer 404, as if they did not exist). Writes need an `Idempotency-Key`; the admin token moves
the clock, reads the change log and sets fault injection.

The routes live in `api_reads`, `api_writes` and `api_admin`, their dependencies in `api_deps`
and the request bodies in `api_models`; this module builds the app.
"""

import os
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from marketplace import api_admin, api_reads, api_writes
from marketplace.api_models import (
    AdvanceBody,
    BidBody,
    BudgetBody,
    CouponBody,
    ModeBody,
    StatusBody,
    coupon_spec,
)
from marketplace.api_reads import MAX_METRIC_DAYS
from marketplace.faults import Faults
from marketplace.idempotency import IdempotencyStore
from marketplace.world import World

__all__ = [
    "ADMIN_TOKEN_ENV", "MAX_METRIC_DAYS", "AdvanceBody", "BidBody", "BudgetBody", "CouponBody", "ModeBody",
    "StatusBody", "coupon_spec", "create_app", "serve",
]

ADMIN_TOKEN_ENV = "XIAOER_PLATFORM_ADMIN_TOKEN"


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable `detail` line and the failing fields in `errors`."""
    errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
              for e in exc.errors()]
    text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": text, "errors": jsonable_encoder(errors)})


def create_app(world: World, admin_token: str) -> FastAPI:
    """The platform app over one world."""
    app = FastAPI(title="Simulated marketplace platform", version="1",
                  exception_handlers={RequestValidationError: _invalid})
    app.state.world = world
    app.state.admin_token = admin_token
    app.state.shop_tokens = {world.token_for(s): s for s in world.shops}
    app.state.idempotency = IdempotencyStore()
    app.state.faults = Faults()
    for module in (api_reads, api_writes, api_admin):
        app.include_router(module.router)
    return app


def serve(scenario_path: str | Path, port: int = 8700, host: str = "127.0.0.1") -> None:
    """Run the platform as its own server. The admin token comes from the environment, or is
    generated and printed once; shop tokens are printed so a newcomer can call the API."""
    import uvicorn

    from marketplace.scenario import load_scenario

    world = World(load_scenario(scenario_path))
    admin_token = os.environ.get(ADMIN_TOKEN_ENV) or secrets.token_urlsafe(24)
    print(f"platform: {world.scenario.name} on http://{host}:{port}/docs")  # noqa: T201
    if ADMIN_TOKEN_ENV not in os.environ:
        print(f"admin token (set {ADMIN_TOKEN_ENV} to choose one): {admin_token}")  # noqa: T201
    for shop_id in world.shops:
        print(f"shop {shop_id} token: {world.token_for(shop_id)}")  # noqa: T201
    uvicorn.run(create_app(world, admin_token=admin_token), host=host, port=port, log_level="warning")
