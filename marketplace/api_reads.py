"""Read routes of the platform API: a shop, its products, metrics, campaigns, coupons and calendar."""

from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query

from marketplace import views
from marketplace.api_deps import ADMIN, Caller, CurrentShop, WorldDep
from marketplace.world import NotFound, World

MAX_METRIC_DAYS = 92

router = APIRouter(prefix="/v1/shops")


def found(world: World, read: Callable[[], Any]) -> Any:
    """`read()` under the world's lock; 404 for anything it does not find."""
    try:
        with world.lock:
            return read()
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("", tags=["shop"])
def list_shops(who: Caller, world: WorldDep) -> list[dict]:
    ids = list(world.shops) if who == ADMIN else [who]
    return [views.shop_view(world, s) for s in ids]


@router.get("/{shop_id}", tags=["shop"])
def get_shop(shop_id: CurrentShop, world: WorldDep) -> dict:
    return found(world, lambda: views.shop_view(world, shop_id))


@router.get("/{shop_id}/products", tags=["shop"])
def products(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: views.products_view(world, shop_id))


@router.get("/{shop_id}/products/{sku}", tags=["shop"])
def product(shop_id: CurrentShop, sku: str, world: WorldDep) -> dict:
    return found(world, lambda: views.product_view(world, shop_id, world.row(shop_id, sku)))


@router.get("/{shop_id}/products/{sku}/price-history", tags=["shop"])
def price_history(shop_id: CurrentShop, sku: str, world: WorldDep) -> dict:
    return found(world, lambda: views.price_history_view(world, shop_id, world.row(shop_id, sku)))


@router.get("/{shop_id}/metrics", tags=["shop"])
def metrics(
    shop_id: CurrentShop,
    world: WorldDep,
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

    def read() -> list[dict]:
        rows = world.c.shop_rows[shop_id] if sku is None else np.array([world.row(shop_id, sku)])
        return views.metrics_view(world, shop_id, rows, start, end, group)

    return found(world, read)


@router.get("/{shop_id}/campaigns", tags=["ads"])
def campaigns(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: [world.campaign_view(int(r)) for r in world.c.shop_rows[shop_id]])


@router.get("/{shop_id}/campaigns/{campaign_id}", tags=["ads"])
def campaign(shop_id: CurrentShop, campaign_id: str, world: WorldDep) -> dict:
    return found(world, lambda: world.campaign_view(world.campaign_row(shop_id, campaign_id)))


@router.get("/{shop_id}/bid-suggestions", tags=["ads"])
def bid_suggestions(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: [world.bid_suggestion(int(r)) for r in world.c.shop_rows[shop_id]
                                 if world.c.settings.has_campaign[r]])


@router.get("/{shop_id}/coupons", tags=["coupons"])
def coupons(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: [views.coupon_view(world, r) for r in world.coupons if r.shop_id == shop_id])


@router.get("/{shop_id}/segments", tags=["shop"])
def segments(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: world.segments_view(shop_id))


@router.get("/{shop_id}/calendar", tags=["shop"])
def calendar(shop_id: CurrentShop, world: WorldDep) -> list[dict]:
    return found(world, lambda: views.calendar_view(world, shop_id))
