"""The platform's HTTP API (FastAPI): the only door to the simulated world for any client.

Shops authenticate with their bearer token and see only their own resources (another shop's
answer 404, as if they did not exist). Writes need an `Idempotency-Key`; the admin token moves
the clock, reads the change log and sets fault injection.
"""


import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketplace import views
from marketplace.faults import FaultPlan, Faults
from marketplace.idempotency import IdempotencyStore, KeyConflict, Stored, fingerprint
from marketplace.scenario import CouponSpec
from marketplace.world import InvalidWrite, NotFound, World
from policies.domain import CampaignMode, CampaignStatus, CouponType, Segment
from policies.limits import format_validation_error

ADMIN_TOKEN_ENV = "XIAOER_PLATFORM_ADMIN_TOKEN"
MAX_METRIC_DAYS = 92


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BidBody(_Body):
    bid: float = Field(description="Cost-per-click bid, yuan.")


class BudgetBody(_Body):
    budget: float = Field(description="Daily budget, yuan.")


class StatusBody(_Body):
    status: CampaignStatus


class ModeBody(_Body):
    mode: CampaignMode
    target_roi: float | None = Field(None, description="Whole-site target ROI (GMV / spend).")


class CouponBody(_Body):
    type: CouponType
    value: float = Field(gt=0, description="Face value in yuan, or percent off for percent coupons.")
    threshold: float = Field(0.0, ge=0)
    sku: str | None = Field(None, description="SKU it applies to; omit for the whole shop.")
    segments: list[Segment] | None = Field(None, description="Target segments; omit for everyone.")
    start_day: int | None = Field(None, ge=0, description="First day it is valid; default today.")
    valid_days: int = Field(7, ge=1, le=90)
    quantity: int = Field(1000, ge=1, le=1_000_000)
    per_user_limit: int = Field(1, ge=1, le=100)
    daily_limit: int | None = Field(None, ge=1)


class AdvanceBody(_Body):
    days: int = Field(1, ge=1, le=366)


def create_app(world: World, admin_token: str) -> FastAPI:
    """The platform app over one world."""
    app = FastAPI(title="Simulated marketplace platform", version="1")
    app.state.world = world
    tokens = {world.token_for(s): s for s in world.shops}
    idem = IdempotencyStore()
    faults = Faults()
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
                  for e in exc.errors()]
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": text, "errors": jsonable_encoder(errors)})

    def caller(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        if creds is None:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if secrets.compare_digest(creds.credentials, admin_token):
            return "admin"
        shop = tokens.get(creds.credentials)
        if shop is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
        return shop

    def admin(who: Annotated[str, Depends(caller)]) -> None:
        if who != "admin":
            raise HTTPException(403, "admin token required")

    def shop(shop_id: str, who: Annotated[str, Depends(caller)]) -> str:
        if who != shop_id:  # another shop's resources do not exist for this token
            raise HTTPException(404, f"shop {shop_id!r} not found")
        failure = faults.before()
        if failure:
            status, headers = failure
            raise HTTPException(status, "injected fault: try again", headers=headers)
        return shop_id

    Shop = Annotated[str, Depends(shop)]
    Key = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

    def found(fn: Callable[[], Any]) -> Any:
        try:
            with world.lock:
                return fn()
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None

    def write(request: Request, shop_id: str, key: str | None, body: Any, apply: Callable[[], Any]) -> JSONResponse:
        """Apply once per key; replay the first answer; 409 for a reused or busy key."""
        if not key:
            raise HTTPException(400, "Idempotency-Key header is required on every write")
        try:
            stored = idem.begin(shop_id, key, fingerprint(request.method, request.url.path, body))
        except KeyConflict as exc:
            raise HTTPException(409, exc.reason) from None
        if stored is None:
            stored = _apply(apply)
            if stored is None:
                idem.abandon(shop_id, key)
                raise HTTPException(500, "write failed")
            idem.finish(shop_id, key, stored)
        if faults.lose_response():
            return JSONResponse(status_code=504, content={"detail": "gateway timeout: the response was lost"})
        return JSONResponse(status_code=stored.status, content=stored.body)

    def _apply(apply: Callable[[], Any]) -> Stored | None:
        try:
            with world.lock:
                return Stored(200, jsonable_encoder(apply()))
        except NotFound as exc:
            return Stored(404, {"detail": str(exc)})
        except InvalidWrite as exc:
            return Stored(422, {"detail": str(exc), "errors": [{"field": exc.field, "message": exc.reason}]})

    # ---- reads --------------------------------------------------------------------------------
    @app.get("/v1/shops", tags=["shop"])
    def list_shops(who: Annotated[str, Depends(caller)]) -> list[dict]:
        ids = list(world.shops) if who == "admin" else [who]
        return [views.shop_view(world, s) for s in ids]

    @app.get("/v1/shops/{shop_id}", tags=["shop"])
    def get_shop(shop_id: Shop) -> dict:
        return found(lambda: views.shop_view(world, shop_id))

    @app.get("/v1/shops/{shop_id}/products", tags=["shop"])
    def products(shop_id: Shop) -> list[dict]:
        return found(lambda: views.products_view(world, shop_id))

    @app.get("/v1/shops/{shop_id}/products/{sku}", tags=["shop"])
    def product(shop_id: Shop, sku: str) -> dict:
        return found(lambda: views.product_view(world, shop_id, world.row(shop_id, sku)))

    @app.get("/v1/shops/{shop_id}/products/{sku}/price-history", tags=["shop"])
    def price_history(shop_id: Shop, sku: str) -> dict:
        return found(lambda: views.price_history_view(world, shop_id, world.row(shop_id, sku)))

    @app.get("/v1/shops/{shop_id}/metrics", tags=["shop"])
    def metrics(
        shop_id: Shop,
        sku: str | None = None,
        start_day: Annotated[int | None, Query(ge=0)] = None,
        end_day: Annotated[int | None, Query(ge=0)] = None,
        group: Annotated[str, Query(pattern="^(sku|source|day)$")] = "sku",
    ) -> list[dict]:
        """Daily metrics; days default to the last 7 finished ones."""
        end = world.day - 1 if end_day is None else end_day
        start = max(end - 6, 0) if start_day is None else start_day
        if end < start:
            raise HTTPException(422, f"end_day ({end}) is before start_day ({start})")
        if end - start + 1 > MAX_METRIC_DAYS:
            raise HTTPException(422, f"at most {MAX_METRIC_DAYS} days per request, asked {end - start + 1}")

        def read():
            rows = world.c.shop_rows[shop_id] if sku is None else [world.row(shop_id, sku)]
            return views.metrics_view(world, shop_id, rows, start, end, group)

        return found(read)

    @app.get("/v1/shops/{shop_id}/campaigns", tags=["ads"])
    def campaigns(shop_id: Shop) -> list[dict]:
        return found(lambda: [world.campaign_view(int(r)) for r in world.c.shop_rows[shop_id]])

    @app.get("/v1/shops/{shop_id}/campaigns/{campaign_id}", tags=["ads"])
    def campaign(shop_id: Shop, campaign_id: str) -> dict:
        return found(lambda: world.campaign_view(world.campaign_row(shop_id, campaign_id)))

    @app.get("/v1/shops/{shop_id}/bid-suggestions", tags=["ads"])
    def bid_suggestions(shop_id: Shop) -> list[dict]:
        return found(lambda: [world.bid_suggestion(int(r)) for r in world.c.shop_rows[shop_id]
                              if world.c.settings.has_campaign[r]])

    @app.get("/v1/shops/{shop_id}/coupons", tags=["coupons"])
    def coupons(shop_id: Shop) -> list[dict]:
        return found(lambda: [views.coupon_view(world, r) for r in world.coupons if r.shop_id == shop_id])

    @app.get("/v1/shops/{shop_id}/segments", tags=["shop"])
    def segments(shop_id: Shop) -> list[dict]:
        return found(lambda: world.segments_view(shop_id))

    @app.get("/v1/shops/{shop_id}/calendar", tags=["shop"])
    def calendar(shop_id: Shop) -> list[dict]:
        return found(lambda: views.calendar_view(world, shop_id))

    # ---- writes -------------------------------------------------------------------------------
    camp = "/v1/shops/{shop_id}/campaigns/{campaign_id}"

    @app.put(f"{camp}/bid", tags=["ads"])
    def set_bid(request: Request, shop_id: Shop, campaign_id: str, body: BidBody, key: Key = None):
        return write(request, shop_id, key, body.model_dump(),
                     lambda: world.set_bid(shop_id, campaign_id, body.bid, key=key))

    @app.put(f"{camp}/budget", tags=["ads"])
    def set_budget(request: Request, shop_id: Shop, campaign_id: str, body: BudgetBody, key: Key = None):
        return write(request, shop_id, key, body.model_dump(),
                     lambda: world.set_budget(shop_id, campaign_id, body.budget, key=key))

    @app.put(f"{camp}/status", tags=["ads"])
    def set_status(request: Request, shop_id: Shop, campaign_id: str, body: StatusBody, key: Key = None):
        return write(request, shop_id, key, body.model_dump(mode="json"),
                     lambda: world.set_status(shop_id, campaign_id, body.status, key=key))

    @app.put(f"{camp}/mode", tags=["ads"])
    def set_mode(request: Request, shop_id: Shop, campaign_id: str, body: ModeBody, key: Key = None):
        return write(request, shop_id, key, body.model_dump(mode="json"),
                     lambda: world.set_mode(shop_id, campaign_id, body.mode, body.target_roi, key=key))

    @app.post("/v1/shops/{shop_id}/coupons", tags=["coupons"])
    def create_coupon(request: Request, shop_id: Shop, body: CouponBody, key: Key = None):
        def apply():
            spec = coupon_spec(body, world.day)
            return views.coupon_view(world, world.create_coupon(shop_id, spec, key=key))

        return write(request, shop_id, key, body.model_dump(mode="json"), apply)

    @app.post("/v1/shops/{shop_id}/coupons/{coupon_id}/stop", tags=["coupons"])
    def stop_coupon(request: Request, shop_id: Shop, coupon_id: str, key: Key = None):
        return write(request, shop_id, key, None,
                     lambda: views.coupon_view(world, world.stop_coupon(shop_id, coupon_id, key=key)))

    # ---- admin ---------------------------------------------------------------------------------
    @app.get("/v1/admin/clock", tags=["admin"], dependencies=[Depends(admin)])
    def clock() -> dict:
        return _clock(world)

    @app.post("/v1/admin/advance", tags=["admin"], dependencies=[Depends(admin)])
    def advance(body: AdvanceBody) -> dict:
        with world.lock:
            left = world.scenario.horizon_days - world.day
            if body.days > left:
                raise HTTPException(409, f"days: only {left} day(s) left in the scenario's horizon")
            for _ in range(body.days):
                world.step()
            return _clock(world)

    @app.get("/v1/admin/changes", tags=["admin"], dependencies=[Depends(admin)])
    def changes(shop_id: str | None = None) -> list[dict]:
        with world.lock:
            return [_change(world, c) for c in world.changes if shop_id is None or c.shop_id == shop_id]

    @app.put("/v1/admin/faults", tags=["admin"], dependencies=[Depends(admin)])
    def set_faults(plan: FaultPlan) -> dict:
        faults.set(plan)
        return plan.model_dump()

    @app.get("/v1/admin/faults", tags=["admin"], dependencies=[Depends(admin)])
    def get_faults() -> dict:
        return {"plan": faults.plan.model_dump(), "injected": dict(faults.injected)}

    return app


def coupon_spec(body: CouponBody, today: int) -> CouponSpec:
    """The coupon a create-coupon body makes on day `today` (its `valid_days` from its start)."""
    start = today if body.start_day is None else body.start_day
    if start < today:
        raise InvalidWrite("start_day", f"must be today ({today}) or later, got {start}")
    fields = body.model_dump(exclude={"start_day", "valid_days", "segments"}, exclude_none=True)
    if body.segments is not None:
        fields["segments"] = body.segments
    try:
        return CouponSpec(**fields, start_day=start, end_day=start + body.valid_days - 1)
    except ValidationError as exc:
        raise InvalidWrite("coupon", format_validation_error(exc).strip()) from None


def _clock(world: World) -> dict:
    return {"day": world.day, "date": world.date_of(world.day).isoformat(),
            "horizon_days": world.scenario.horizon_days, "finished": world.finished}


def _change(world: World, c) -> dict:
    return {"day": c.day, "date": world.date_of(c.day).isoformat(), "shop_id": c.shop_id, "sku": c.sku,
            "kind": c.kind, "target": c.target, "before": jsonable_encoder(c.before),
            "after": jsonable_encoder(c.after), "idempotency_key": c.idempotency_key}


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
