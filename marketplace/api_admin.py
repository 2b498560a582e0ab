"""Admin routes of the platform API: the clock, the change log and fault injection."""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.encoders import jsonable_encoder

from marketplace.api_deps import FaultsDep, WorldDep, require_admin
from marketplace.api_models import AdvanceBody
from marketplace.faults import FaultPlan
from marketplace.world import World

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)])


def _clock(world: World) -> dict:
    return {"day": world.day, "date": world.date_of(world.day).isoformat(),
            "horizon_days": world.scenario.horizon_days, "finished": world.finished}


def _change(world: World, c: Any) -> dict:
    return {"day": c.day, "date": world.date_of(c.day).isoformat(), "shop_id": c.shop_id, "sku": c.sku,
            "kind": c.kind, "target": c.target, "before": jsonable_encoder(c.before),
            "after": jsonable_encoder(c.after), "idempotency_key": c.idempotency_key}


@router.get("/clock")
def clock(world: WorldDep) -> dict:
    return _clock(world)


@router.post("/advance")
def advance(body: AdvanceBody, world: WorldDep) -> dict:
    with world.lock:
        left = world.scenario.horizon_days - world.day
        if body.days > left:
            raise HTTPException(409, f"days: only {left} day(s) left in the scenario's horizon")
        for _ in range(body.days):
            world.step()
        return _clock(world)


@router.get("/changes")
def changes(world: WorldDep, shop_id: str | None = None) -> list[dict]:
    with world.lock:
        return [_change(world, c) for c in world.changes if shop_id is None or c.shop_id == shop_id]


@router.put("/faults")
def set_faults(plan: FaultPlan, faults: FaultsDep) -> dict:
    faults.set(plan)
    return plan.model_dump()


@router.get("/faults")
def get_faults(faults: FaultsDep) -> dict:
    return {"plan": faults.plan.model_dump(), "injected": dict(faults.injected)}
