"""Who is on the owner page: the owner token in the cookie, the form token derived from it, the origin check.

The page's forms and its chat box both rely on these three: the httponly cookie says which shop, the
form token (sent in a hidden field or a header) proves the request came from our own page, and the
`Origin` header refuses what another site's page sent.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from sqlmodel import select

from agent.storage import Shop, ShopToken, get_shop, hash_token, session_scope

COOKIE = "xiaoer_owner"
COOKIE_DAYS = 30


@dataclass
class Owner:
    """The signed-in owner: their shop, the name the audit log gives them (the token's label, as in the API),
    and the form token that proves a POST came from our page."""

    shop: Shop
    actor: str
    csrf: str


def signed_in(request: Request) -> Owner | None:
    """The owner whose token the cookie holds; None without the cookie or for a revoked token."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    with session_scope(request.app.state.engine) as session:
        row = session.exec(select(ShopToken).where(ShopToken.token_hash == hash_token(token))).first()
        shop = get_shop(session, row.shop_id) if row is not None else None
    if row is None or shop is None:
        return None
    return Owner(shop=shop, actor=row.label.strip() or "owner", csrf=csrf_token(token))


def csrf_token(owner_token: str) -> str:
    """The form token for a signed-in browser: only someone who holds the owner token can compute it."""
    return hmac.new(owner_token.encode(), b"xiaoer-web-form", hashlib.sha256).hexdigest()


def from_our_page(request: Request, owner: Owner, sent_token: str) -> bool:
    """True when a POST carries the owner's form token and no other site's origin."""
    return same_origin(request) and hmac.compare_digest(sent_token.encode(), owner.csrf.encode())


def same_origin(request: Request) -> bool:
    """False for a request another site's page sent (browsers name the sender's origin on every POST)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")
