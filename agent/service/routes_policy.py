"""The shop's policy: read it, replace it (owner tokens only), and its version history.

`store_policy` and `change_policy` are the one way an owner's change is saved, from the API and from the owner page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session

from agent.service.deps import CurrentOwner, SessionDep
from agent.service.errors import not_found, responses
from agent.service.schemas import PolicyPublic, PolicyUpdate
from agent.storage import PolicyVersion, current_policy, policy_history, save_policy
from policies.limits import Policy, parse_policy

router = APIRouter(prefix="/shops/{shop_id}/policy", tags=["policy"], responses=responses(401, 404))


def store_policy(session: Session, shop_id: str, policy: Policy, actor: str, note: str) -> PolicyVersion:
    """Save the owner's whole `policy` as the shop's next version, recorded with `actor`, the note and the time."""
    return save_policy(session, shop_id, policy.model_dump(mode="json"), actor, note)


def change_policy(session: Session, shop_id: str, changes: Mapping[str, Any], actor: str,
                  note: str) -> PolicyVersion:
    """Save the current policy with `changes` merged in (nested like the policy: `{"spend": {"daily_cap": 800}}`)
    as the next version. A bad change raises PolicyError naming the field; a shop without a policy, LookupError."""
    row = current_policy(session, shop_id)
    if row is None:
        raise LookupError(f"policy of shop {shop_id!r}: none set yet, so nothing to change")
    revised = parse_policy(row.body, source=f"policy of shop {shop_id}").revise(changes, by=actor, at=datetime.now(UTC))
    return store_policy(session, shop_id, revised, actor, note)


@router.get("", response_model=PolicyPublic, summary="The current policy")
def get_policy(owner: CurrentOwner, session: SessionDep) -> PolicyPublic:
    """The newest version of the shop's policy: every limit the guard checks."""
    row = current_policy(session, owner.shop_id)
    if row is None:
        raise not_found(f"policy of shop {owner.shop_id!r} (none set yet; PUT one)")
    return PolicyPublic.of(row)


@router.put("", response_model=PolicyPublic, summary="Replace the policy", responses=responses(422))
def put_policy(body: PolicyUpdate, owner: CurrentOwner, session: SessionDep) -> PolicyPublic:
    """Store the whole new policy as the next version, recorded with the token's label and the time.

    Only an owner token can do this; the agent and chat have no way to. A bad policy is refused with
    422 naming the field. `version`, `changed_by` and `changed_at` in the body are ignored: the
    service sets them.
    """
    return PolicyPublic.of(store_policy(session, owner.shop_id, body.policy, owner.actor, body.note))


@router.get("/history", response_model=list[PolicyPublic], summary="Every version of the policy")
def get_policy_history(owner: CurrentOwner, session: SessionDep) -> list[PolicyPublic]:
    """All versions, oldest first."""
    return [PolicyPublic.of(row) for row in policy_history(session, owner.shop_id)]
