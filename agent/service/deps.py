"""FastAPI dependencies: the database session, the owner a bearer token stands for, the admin.

An owner token sees one shop. For any other shop id the answer is 404, exactly as for a shop that
does not exist, so a token cannot even learn which shops are there.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session, select

from agent.jobs import Jobs
from agent.service.errors import ApiError, not_found
from agent.service.settings import ServiceSettings
from agent.storage import ShopToken, hash_token, session_scope

_owner_bearer = HTTPBearer(scheme_name="OwnerToken", auto_error=False,
                           description="An owner token of the shop (issued by the admin, shown once).")
_admin_bearer = HTTPBearer(scheme_name="AdminToken", auto_error=False,
                           description="The service's admin token (XIAOER_ADMIN_TOKEN).")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Owner:
    """Who is calling: the shop their token belongs to and the token's label (the name in the audit log)."""

    shop_id: str
    label: str

    @property
    def actor(self) -> str:
        """The name recorded for what this owner does (policy changes, approvals)."""
        return self.label.strip() or "owner"


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    return request.app.state.engine


def get_jobs(request: Request) -> Jobs:
    """The app's daily-run service."""
    return request.app.state.jobs


def get_settings(request: Request) -> ServiceSettings:
    """The app's process settings."""
    return request.app.state.settings


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request, committed before the response goes out."""
    with session_scope(engine) as session:
        yield session


def owner(
    shop_id: Annotated[str, Path(description="The shop's id.")],
    engine: Annotated[Engine, Depends(get_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_owner_bearer)],
) -> Owner:
    """The owner of `shop_id`, from the bearer token: 401 without a valid token, 404 for another shop's id."""
    token = credentials.credentials if credentials is not None else ""
    if not token:
        raise ApiError(401, "this route needs an owner token: send `Authorization: Bearer <token>`",
                       headers=_CHALLENGE)
    with session_scope(engine) as session:
        row = session.exec(select(ShopToken).where(ShopToken.token_hash == hash_token(token))).first()
        found = (row.shop_id, row.label) if row is not None else None
    if found is None:
        raise ApiError(401, "unknown or revoked owner token", headers=_CHALLENGE)
    if found[0] != shop_id:
        raise not_found(f"shop {shop_id!r}")
    return Owner(shop_id=found[0], label=found[1])


def admin(
    settings: Annotated[ServiceSettings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)],
) -> str:
    """The admin, from the bearer token (XIAOER_ADMIN_TOKEN); the admin API is off when that is unset."""
    expected = settings.admin
    if expected is None:
        raise ApiError(403, "the admin API is off: set XIAOER_ADMIN_TOKEN to use it", code="admin_disabled")
    token = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "this route needs the admin token: send `Authorization: Bearer <XIAOER_ADMIN_TOKEN>`",
                       headers=_CHALLENGE)
    return "admin"


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
CurrentOwner = Annotated[Owner, Depends(owner)]
AdminDep = Annotated[str, Depends(admin)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
EngineDep = Annotated[Engine, Depends(get_engine)]
