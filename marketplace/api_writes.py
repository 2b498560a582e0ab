"""Write routes of the platform API (ad settings, coupons), each applied once per Idempotency-Key."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from marketplace import views
from marketplace.api_deps import CurrentShop, FaultsDep, IdempotencyDep, IdempotencyKey, WorldDep
from marketplace.api_models import BidBody, BudgetBody, CouponBody, ModeBody, StatusBody, coupon_spec
from marketplace.faults import Faults
from marketplace.idempotency import IdempotencyStore, KeyConflict, Stored, fingerprint
from marketplace.world import InvalidWrite, NotFound, World

log = logging.getLogger(__name__)

CAMPAIGN = "/{shop_id}/campaigns/{campaign_id}"

router = APIRouter(prefix="/v1/shops")


@dataclass(frozen=True)
class Writer:
    """Applies one request's write against the world, once per shop and Idempotency-Key."""

    request: Request
    world: World
    idem: IdempotencyStore
    faults: Faults

    def __call__(self, shop_id: str, key: str | None, body: Any, apply: Callable[[], Any]) -> JSONResponse:
        """Apply once per key; replay the first answer; 409 for a reused or busy key."""
        if not key:
            raise HTTPException(400, "Idempotency-Key header is required on every write")
        print_ = fingerprint(self.request.method, self.request.url.path, body)
        try:
            stored = self.idem.begin(shop_id, key, print_)
        except KeyConflict as exc:
            raise HTTPException(409, exc.reason) from None
        if stored is None:
            stored = self._apply(apply)
            self.idem.finish(shop_id, key, stored)
        if self.faults.lose_response():
            return JSONResponse(status_code=504, content={"detail": "gateway timeout: the response was lost"})
        return JSONResponse(status_code=stored.status, content=stored.body)

    def _apply(self, apply: Callable[[], Any]) -> Stored:
        """The response to store for `apply()`: 200 with its result, the 404 / 422 it raised, or a 500 when it broke.

        A write that broke unexpectedly keeps its 500 under its key, as payment APIs do: a retry with the key gets
        the same answer, so it can neither apply the write a second time nor wait on a key left in flight.
        """
        try:
            with self.world.lock:
                return Stored(200, jsonable_encoder(apply()))
        except NotFound as exc:
            return Stored(404, {"detail": str(exc)})
        except InvalidWrite as exc:
            return Stored(422, {"detail": str(exc), "errors": [{"field": exc.field, "message": exc.reason}]})
        except Exception:
            log.exception("write failed: %s %s", self.request.method, self.request.url.path)
            return Stored(500, {"detail": "the platform failed to apply this write; retrying with the same "
                                          "Idempotency-Key returns this answer, a new key tries again"})


def get_writer(request: Request, world: WorldDep, idem: IdempotencyDep, faults: FaultsDep) -> Writer:
    """The idempotent writer for this request."""
    return Writer(request, world, idem, faults)


WriterDep = Annotated[Writer, Depends(get_writer)]


@router.put(f"{CAMPAIGN}/bid", tags=["ads"])
def set_bid(shop_id: CurrentShop, campaign_id: str, body: BidBody, world: WorldDep, write: WriterDep,
            key: IdempotencyKey = None) -> JSONResponse:
    return write(shop_id, key, body.model_dump(), lambda: world.set_bid(shop_id, campaign_id, body.bid, key=key))


@router.put(f"{CAMPAIGN}/budget", tags=["ads"])
def set_budget(shop_id: CurrentShop, campaign_id: str, body: BudgetBody, world: WorldDep, write: WriterDep,
               key: IdempotencyKey = None) -> JSONResponse:
    return write(shop_id, key, body.model_dump(),
                 lambda: world.set_budget(shop_id, campaign_id, body.budget, key=key))


@router.put(f"{CAMPAIGN}/status", tags=["ads"])
def set_status(shop_id: CurrentShop, campaign_id: str, body: StatusBody, world: WorldDep, write: WriterDep,
               key: IdempotencyKey = None) -> JSONResponse:
    return write(shop_id, key, body.model_dump(mode="json"),
                 lambda: world.set_status(shop_id, campaign_id, body.status, key=key))


@router.put(f"{CAMPAIGN}/mode", tags=["ads"])
def set_mode(shop_id: CurrentShop, campaign_id: str, body: ModeBody, world: WorldDep, write: WriterDep,
             key: IdempotencyKey = None) -> JSONResponse:
    return write(shop_id, key, body.model_dump(mode="json"),
                 lambda: world.set_mode(shop_id, campaign_id, body.mode, body.target_roi, key=key))


@router.post("/{shop_id}/coupons", tags=["coupons"])
def create_coupon(shop_id: CurrentShop, body: CouponBody, world: WorldDep, write: WriterDep,
                  key: IdempotencyKey = None) -> JSONResponse:
    def apply() -> dict:
        spec = coupon_spec(body, world.day)
        return views.coupon_view(world, world.create_coupon(shop_id, spec, key=key))

    return write(shop_id, key, body.model_dump(mode="json"), apply)


@router.post("/{shop_id}/coupons/{coupon_id}/stop", tags=["coupons"])
def stop_coupon(shop_id: CurrentShop, coupon_id: str, world: WorldDep, write: WriterDep,
                key: IdempotencyKey = None) -> JSONResponse:
    return write(shop_id, key, None, lambda: views.coupon_view(world, world.stop_coupon(shop_id, coupon_id, key=key)))
