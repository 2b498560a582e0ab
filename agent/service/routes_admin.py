"""Admin API: shops and their settings, owner tokens, webhook signing secrets. Needs XIAOER_ADMIN_TOKEN."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, status
from sqlmodel import col, select

from agent.service.deps import AdminDep, SessionDep
from agent.service.errors import ApiError, not_found, responses
from agent.service.schemas import (
    ShopCreate,
    ShopPublic,
    ShopSaved,
    ShopUpdate,
    TokenCreate,
    TokenIssued,
    TokenPublic,
    WebhookSecretIssued,
)
from agent.service.webhook import new_webhook_secret, rotate_secret
from agent.storage import (
    AuditKind,
    Shop,
    ShopToken,
    audit,
    get_shop,
    hash_token,
    issue_token,
    save_policy,
    save_shop,
    utcnow,
)

router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403))

ADMIN_ACTOR = "admin"
SECRET_SETTINGS = frozenset({"platform_token", "webhook_secret"})  # audited as set or not, never their values


@router.post("/shops", status_code=status.HTTP_201_CREATED, response_model=ShopSaved,
             summary="Create a shop", responses=responses(409, 422))
def create_shop(body: ShopCreate, _: AdminDep, session: SessionDep) -> ShopSaved:
    """A new shop with its settings (platform URL and token included) and, optionally, its first policy.

    With a webhook URL, the answer holds the shop's webhook signing secret: keep it, it cannot be shown again.
    """
    if get_shop(session, body.id) is not None:
        raise ApiError(409, f"shop {body.id!r} already exists; change it with PATCH /admin/shops/{body.id}",
                       field="id")
    shop = save_shop(session, body.id, body.name, **body.settings())
    if body.policy is not None:
        save_policy(session, shop.id, body.policy.model_dump(mode="json"), ADMIN_ACTOR, "initial policy")
    secret = _first_webhook_secret(shop)
    _audit_settings(session, shop, {}, created=True)
    return ShopSaved.saved(shop, secret)


@router.get("/shops", response_model=list[ShopPublic], summary="List shops")
def list_shops(_: AdminDep, session: SessionDep) -> list[ShopPublic]:
    """Every shop, in id order."""
    return [ShopPublic.of(s) for s in session.exec(select(Shop).order_by(col(Shop.id))).all()]


@router.get("/shops/{shop_id}", response_model=ShopPublic, summary="Show a shop", responses=responses(404))
def show_shop(shop_id: str, _: AdminDep, session: SessionDep) -> ShopPublic:
    """One shop's settings (the platform token only as whether one is set)."""
    return ShopPublic.of(_shop(session, shop_id))


@router.patch("/shops/{shop_id}", response_model=ShopSaved, summary="Change a shop's settings",
              responses=responses(404, 422))
def update_shop(shop_id: str, body: ShopUpdate, _: AdminDep, session: SessionDep) -> ShopSaved:
    """Change the given settings (name, locale, time zone, run time, platform URL and token, webhook).

    The first webhook URL a shop gets comes with its signing secret, in this answer only; a later URL keeps it.
    """
    shop = _shop(session, shop_id)
    before = _settings_seen(shop)
    shop = save_shop(session, shop.id, body.name or shop.name, **body.settings())
    secret = _first_webhook_secret(shop)
    _audit_settings(session, shop, before)
    return ShopSaved.saved(shop, secret)


@router.post("/shops/{shop_id}/webhook-secret", response_model=WebhookSecretIssued,
             summary="Rotate the webhook signing secret", responses=responses(404))
def rotate_webhook_secret(shop_id: str, _: AdminDep, session: SessionDep) -> WebhookSecretIssued:
    """A new secret signs the shop's reports from now on; for 24 hours the old one signs too (a second signature
    in `webhook-signature`), so the receiver keeps verifying while it switches. The new one is in this answer only.
    """
    shop = _shop(session, shop_id)
    secret = rotate_secret(shop, utcnow())
    session.add(shop)
    until = shop.previous_webhook_secret_until
    audit(session, shop_id=shop.id, event=AuditKind.WEBHOOK_SECRET_ROTATED, actor=ADMIN_ACTOR,
          detail={"previous_signs_until": until.isoformat() if until else None})
    return WebhookSecretIssued(shop_id=shop.id, webhook_secret=secret)


@router.post("/shops/{shop_id}/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenIssued,
             summary="Issue an owner token", responses=responses(404, 422))
def create_token(shop_id: str, body: TokenCreate, _: AdminDep, session: SessionDep) -> TokenIssued:
    """A new owner token for the shop. The token is in this answer only: keep it, it cannot be shown again."""
    shop = _shop(session, shop_id)
    token = issue_token(session, shop.id, body.label)
    row = session.exec(select(ShopToken).where(ShopToken.token_hash == hash_token(token))).one()
    assert row.id is not None
    audit(session, shop_id=shop.id, event=AuditKind.TOKEN_ISSUED, actor=ADMIN_ACTOR,
          detail={"token_id": row.id, "label": row.label})
    return TokenIssued(id=row.id, shop_id=shop.id, label=row.label, token=token)


@router.get("/shops/{shop_id}/tokens", response_model=list[TokenPublic], summary="List a shop's owner tokens",
            responses=responses(404))
def list_tokens(shop_id: str, _: AdminDep, session: SessionDep) -> list[TokenPublic]:
    """The shop's owner tokens by id and label (never the tokens themselves)."""
    shop = _shop(session, shop_id)
    rows = session.exec(select(ShopToken).where(ShopToken.shop_id == shop.id).order_by(col(ShopToken.id))).all()
    return [TokenPublic.model_validate(r, from_attributes=True) for r in rows]


@router.delete("/shops/{shop_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke an owner token", responses=responses(404))
def revoke_token(shop_id: str, token_id: int, _: AdminDep, session: SessionDep) -> None:
    """The token stops working at once."""
    row = session.get(ShopToken, token_id)
    if row is None or row.shop_id != shop_id:
        raise not_found(f"token {token_id} of shop {shop_id!r}")
    audit(session, shop_id=shop_id, event=AuditKind.TOKEN_REVOKED, actor=ADMIN_ACTOR,
          detail={"token_id": token_id, "label": row.label})
    session.delete(row)


def _first_webhook_secret(shop: Shop) -> str | None:
    """Sign from the first delivery on: a shop with a webhook URL and no secret gets one; None if nothing was made."""
    if not shop.webhook_url or shop.webhook_secret:
        return None
    shop.webhook_secret = new_webhook_secret()
    return shop.webhook_secret


def _settings_seen(shop: Shop) -> dict[str, Any]:
    """A shop's settings as the audit log may show them: secrets as whether they are set, URLs without their query."""
    seen: dict[str, Any] = {"name": shop.name}
    for key in ShopUpdate.model_fields.keys() - {"name"}:
        value = getattr(shop, key)
        if key in SECRET_SETTINGS:
            value = "set" if value else None
        elif key.endswith("_url") and value:
            parts = urlsplit(value)  # a query may hold the receiver's secret
            value = f"{parts.scheme}://{parts.netloc}{parts.path}"
        seen[key] = value
    seen["webhook_secret"] = "set" if shop.webhook_secret else None
    return dict(sorted(seen.items()))


def _audit_settings(session: SessionDep, shop: Shop, before: dict[str, Any], *, created: bool = False) -> None:
    """One audit event naming each setting that changed, old and new (secrets only as "set")."""
    after = _settings_seen(shop)
    changes = {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}
    if changes or created:
        audit(session, shop_id=shop.id, event=AuditKind.SHOP_CHANGED, actor=ADMIN_ACTOR,
              detail={"created": created, "changes": changes})


def _shop(session: SessionDep, shop_id: str) -> Shop:
    shop = get_shop(session, shop_id)
    if shop is None:
        raise not_found(f"shop {shop_id!r}")
    return shop
