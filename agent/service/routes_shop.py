"""The owner's view of their shop's settings."""

from __future__ import annotations

from fastapi import APIRouter

from agent.service.deps import CurrentOwner, SessionDep
from agent.service.errors import not_found, responses
from agent.service.schemas import ShopPublic
from agent.storage import get_shop

router = APIRouter(prefix="/shops/{shop_id}", tags=["shop"], responses=responses(401, 404))


@router.get("", response_model=ShopPublic, summary="The shop's settings")
def show_own_shop(owner: CurrentOwner, session: SessionDep) -> ShopPublic:
    """Name, language, time zone, daily run time, platform and webhook URLs (never the platform token)."""
    shop = get_shop(session, owner.shop_id)
    if shop is None:
        raise not_found(f"shop {owner.shop_id!r}")
    return ShopPublic.of(shop)
