"""Dependencies of the platform API: the world, idempotency store and faults on `app.state`, and the caller."""

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from marketplace.faults import Faults
from marketplace.idempotency import IdempotencyStore
from marketplace.world import World

ADMIN = "admin"  # what `caller` answers for the admin token
_bearer = HTTPBearer(auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_world(request: Request) -> World:
    """The simulated world the app serves."""
    return request.app.state.world


def get_idempotency(request: Request) -> IdempotencyStore:
    """The app's store of Idempotency-Keys and first responses."""
    return request.app.state.idempotency


def get_faults(request: Request) -> Faults:
    """The app's fault injection (set by the admin)."""
    return request.app.state.faults


WorldDep = Annotated[World, Depends(get_world)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(get_idempotency)]
FaultsDep = Annotated[Faults, Depends(get_faults)]


def caller(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """Who the bearer token stands for: `ADMIN` or a shop id; 401 without a known token."""
    if creds is None:
        raise HTTPException(401, "missing bearer token", headers=_CHALLENGE)
    if secrets.compare_digest(creds.credentials, request.app.state.admin_token):
        return ADMIN
    shop = request.app.state.shop_tokens.get(creds.credentials)
    if shop is None:
        raise HTTPException(401, "unknown token", headers=_CHALLENGE)
    return shop


Caller = Annotated[str, Depends(caller)]


def require_admin(who: Caller) -> None:
    """403 unless the caller holds the admin token."""
    if who != ADMIN:
        raise HTTPException(403, "admin token required")


def current_shop(shop_id: str, who: Caller, faults: FaultsDep) -> str:
    """The path's shop when the token is that shop's (404 otherwise), after any injected fault."""
    if who != shop_id:  # another shop's resources do not exist for this token
        raise HTTPException(404, f"shop {shop_id!r} not found")
    failure = faults.before()
    if failure:
        status, headers = failure
        raise HTTPException(status, "injected fault: try again", headers=headers)
    return shop_id


CurrentShop = Annotated[str, Depends(current_shop)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
